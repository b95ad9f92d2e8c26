/**
 * Merge layers for functional graphs: several tensors in, one out.
 *
 * ```ts
 * const both = new eddy.Concatenate().apply([decoderOutput, context]);
 * ```
 */
import { ShapeError, ValidationError } from '../errors';
import { Module } from '../nn/module';
import { add } from '../ops/arithmetic';
import { concat } from '../ops/join';
import { intersectLengths } from '../ops/lengths';
import { Tensor } from '../tensor/tensor';
import { checkInteger, checkOptions, formatShape, optionKeys } from '../validate';
import { registerLayer } from '../nn/registry';
import { batchMajor, onnxAttribute, OnnxLoweringContext, OnnxValue } from '../nn/onnx-lowering';

/** The tensors among a layer call's arguments (models append a context object). */
function tensorsOf(args: unknown[], name: string): Tensor[] {
  const tensors = args.filter((a): a is Tensor => a instanceof Tensor);
  if (tensors.length < 2) throw new ValidationError(`Expected at least two tensors for ${name} but received ${tensors.length}`);
  return tensors;
}

/** The options of {@link Concatenate}. */
export interface ConcatenateOptions {
  /** The axis to join along (negative counts from the end). @default -1 */
  axis?: number;
}

/** The keys of ConcatenateOptions, for checkOptions. */
export const CONCATENATE_OPTION_KEYS = optionKeys<ConcatenateOptions>({ axis: true });

/** Joins its inputs along one axis (Keras' Concatenate); the other axes must agree. */
export class Concatenate extends Module {
  /** The axis joined along (negative counts from the end). */
  readonly axis: number;

  /**
   * @param opts - {@link ConcatenateOptions}.
   */
  constructor(opts: ConcatenateOptions = {}) {
    super();
    this.axis = checkInteger('axis', checkOptions('options', opts, CONCATENATE_OPTION_KEYS).axis ?? -1);
  }

  /**
   * The inputs joined along `axis`.
   * @param inputs - Two or more tensors (other arguments, such as call options, are ignored).
   * @throws {@link ValidationError} when fewer than two tensors arrive or the axis is out of range.
   */
  forward(...inputs: unknown[]): Tensor {
    const tensors = tensorsOf(inputs, this.toString());
    const rank = tensors[0].rank;
    const axis = this.axis < 0 ? this.axis + rank : this.axis;
    if (axis < 0 || axis >= rank) throw new ValidationError(`Expected axis between ${-rank} and ${rank - 1} for ${this.toString()} on tensors of rank ${rank} but received ${this.axis}`);
    return concat(tensors, axis);
  }

  /** The constructor options, for `eddy.layerToConfig`. */
  toConfig(): {
    /** The axis joined along. */
    axis: number;
  } {
    return { axis: this.axis };
  }

  /**
   * Builds the layer from `toConfig()`'s output.
   * @param config - The layer's config.
   */
  static fromConfig(config: { axis?: number }): Concatenate {
    return new Concatenate(config);
  }

  toString(): string {
    return `Concatenate(axis=${this.axis})`;
  }
}

/** Adds its inputs elementwise (Keras' Add); shapes must be equal. */
export class Add extends Module {
  /**
   * The elementwise sum of the inputs.
   * @param inputs - Two or more tensors of equal shape (other arguments, such as call options, are
   *   ignored).
   * @throws {@link ShapeError} when the shapes differ.
   * @throws {@link ValidationError} when fewer than two tensors arrive.
   */
  forward(...inputs: unknown[]): Tensor {
    const tensors = tensorsOf(inputs, this.toString());
    const shape = tensors[0].shape;
    for (const t of tensors) {
      if (t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new ShapeError(`Expected inputs of equal shape for ${this.toString()} but received ${tensors.map((x) => formatShape(x.shape)).join(' and ')}`);
      }
    }
    return tensors.slice(1).reduce((sum, t) => add(sum, t), tensors[0]);
  }

  /** The constructor options (none), for `eddy.layerToConfig`. */
  toConfig(): Record<string, never> {
    return {};
  }

  /** Builds the layer from `toConfig()`'s output. */
  static fromConfig(): Add {
    return new Add();
  }

  toString(): string {
    return 'Add()';
  }
}

// A joined step is real where every input's step is (Keras ANDs the masks).
const merged = { parameterBound: () => 0, perStep: false, lengths: (_layer: Module, inputs: readonly (Int32Array | undefined)[]) => ({ call: undefined, output: () => intersectLengths(inputs) }) };
/** The call's inputs, batch-major (a recurrent operator's output is time-major until something needs it otherwise). */
const batchMajorInputs = (x: OnnxValue, ctx: OnnxLoweringContext): string[] => (ctx.inputs ?? [x]).map((v) => batchMajor(v, ctx.graph).name);
registerLayer<Concatenate>('Concatenate', {
  ...merged,
  layerClass: Concatenate,
  fromConfig: (c) => Concatenate.fromConfig(c as never),
  onnx: (layer, x, ctx) => ({ name: ctx.graph.op('Concat', batchMajorInputs(x, ctx), [onnxAttribute.int('axis', layer.axis)]), timeMajor: false }),
});
registerLayer<Add>('Add', {
  ...merged,
  layerClass: Add,
  fromConfig: () => Add.fromConfig(),
  onnx: (_layer, x, ctx) => ({ name: batchMajorInputs(x, ctx).reduce((sum, t) => ctx.graph.op('Add', [sum, t])), timeMajor: false }),
});
