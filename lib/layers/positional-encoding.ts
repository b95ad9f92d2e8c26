/**
 * Position information for attention, which by itself ignores order:
 * adds a per-position vector to each step's features, then dropout.
 * 'sinusoidal' is the fixed encoding of Vaswani et al. (PyTorch tutorial
 * layout: sin on even features, cos on odd), 'learned' a trained table
 * (`weight` [maxLen, dModel]).
 */
import { ShapeError } from '../errors';
import { CALL_CONTEXT_KEYS, Module } from '../nn/module';
import { Parameter } from '../nn/parameter';
import { positive, registerLayer } from '../nn/registry';
import { add } from '../ops/arithmetic';
import { reshape } from '../ops/views';
import { Generator } from '../random';
import { checkTensor, Tensor } from '../tensor/tensor';
import { checkBoolean, checkGenerator, checkInteger, checkNumber, checkOneOf, checkOptions, fail, formatShape, optionKeys } from '../validate';
import { Dropout } from './dropout';
import type { GraphCallContext } from './recurrent';
import { axisSize, batchMajor, checkOnnxBatchFirst, OnnxLowering } from '../nn/onnx-lowering';

/** The options of {@link PositionalEncoding}. */
export interface PositionalEncodingOptions {
  /** Features per step. */
  dModel: number;
  /** The most positions an input (plus its offset) may have. @default 5000 */
  maxLen?: number;
  /** Fixed sinusoids or a learned table. @default 'sinusoidal' */
  kind?: 'sinusoidal' | 'learned';
  /** Dropout on the sum, in training. @default 0.1 */
  dropout?: number;
  /** Input is [batch, time, dModel]; false for [time, batch, dModel]. @default true */
  batchFirst?: boolean;
  /** Random source for the learned table's initial values (N(0, 0.02²)) and dropout. @default the global generator */
  generator?: Generator;
}

/** The keys of PositionalEncodingOptions, for checkOptions. */
export const POSITIONAL_ENCODING_OPTION_KEYS = optionKeys<PositionalEncodingOptions>({ dModel: true, maxLen: true, kind: true, dropout: true, batchFirst: true, generator: true });

/** The serializable options of a PositionalEncoding (no generator). */
export type PositionalEncodingConfig = Required<Omit<PositionalEncodingOptions, 'generator'>>;

/** Per-call options of `PositionalEncoding.forward`. */
export interface PositionalEncodingCallOptions {
  /** Position of the input's first step (the steps already decoded, when generating one step at a time). @default 0 */
  offset?: number;
  /** The call's mode (dropout in training). @default the layer's `training` flag */
  training?: boolean;
}

const CALL_KEYS = [...optionKeys<PositionalEncodingCallOptions>({ offset: true, training: true }), ...CALL_CONTEXT_KEYS];

/** pe[p, 2i] = sin(p / 10000^(2i/d)), pe[p, 2i+1] = cos(p / 10000^(2i/d)). */
export function sinusoidalTable(maxLen: number, d: number): Float32Array {
  const pe = new Float32Array(maxLen * d);
  for (let i = 0; i < d; i += 2) {
    const freq = Math.exp((-i * Math.log(10000)) / d);
    for (let p = 0; p < maxLen; p++) {
      pe[p * d + i] = Math.sin(p * freq);
      if (i + 1 < d) pe[p * d + i + 1] = Math.cos(p * freq);
    }
  }
  return pe;
}

/** The position the next call of a PositionalEncoding starts at, carried between decoding steps (the same for every row). */
export class NextPosition {
  constructor(readonly offset: number) {}

  select(): NextPosition {
    return this;
  }
}

export class PositionalEncoding extends Module {
  /** Features of the input. */
  readonly dModel: number;
  /** The longest sequence (positions) it encodes. */
  readonly maxLen: number;
  /** Fixed sinusoids, or a learned table. */
  readonly kind: 'sinusoidal' | 'learned';
  /** Whether inputs are [batch, time, features]. */
  readonly batchFirst: boolean;
  /** The learned table, or null for sinusoids. */
  readonly weight: Parameter | null;
  private readonly table: Tensor;
  private readonly drop: Dropout;

  /**
   * @param opts - {@link PositionalEncodingOptions}.
   * @throws {@link ValidationError} when an option is missing or malformed.
   */
  constructor(opts: PositionalEncodingOptions) {
    super();
    const o = checkOptions('options', opts, POSITIONAL_ENCODING_OPTION_KEYS);
    this.dModel = checkInteger('dModel', o.dModel, 1);
    this.maxLen = checkInteger('maxLen', o.maxLen ?? 5000, 1);
    this.kind = checkOneOf('kind', o.kind ?? 'sinusoidal', ['sinusoidal', 'learned'] as const);
    const dropout = checkNumber('dropout', o.dropout ?? 0.1, { min: 0, max: 1 });
    this.batchFirst = checkBoolean('batchFirst', o.batchFirst ?? true);
    const generator = checkGenerator('generator', o.generator);
    this.drop = new Dropout({ p: dropout, generator });
    if (this.kind === 'learned') {
      this.weight = Parameter.zeros([this.maxLen, this.dModel]);
      const w = this.weight.data.data;
      // Box–Muller pairs from the generator: N(0, 0.02²).
      for (let i = 0; i < w.length; i += 2) {
        const r = Math.sqrt(-2 * Math.log(1 - generator.next())) * 0.02, a = 2 * Math.PI * generator.next();
        w[i] = r * Math.cos(a);
        if (i + 1 < w.length) w[i + 1] = r * Math.sin(a);
      }
      this.table = this.weight.data;
    } else {
      this.weight = null;
      this.table = new Tensor(sinusoidalTable(this.maxLen, this.dModel), [this.maxLen, this.dModel]);
    }
  }

  /** The dropout probability applied to the sum. */
  get dropout(): number {
    return this.drop.p;
  }

  protected override ownParameters(): [string, Parameter][] {
    return this.weight ? [['weight', this.weight]] : [];
  }

  /** Models carry the next position between calls (see `graphCall`). */
  readonly usesStepCache = true;

  /**
   * How models call the layer: from position 0, or, when the model call
   * carries states (token-by-token decoding), from the position where the
   * previous call ended.
   * @param inputs - The one input [batch, time, features].
   * @param ctx - The container's call context (lengths, mode, state carrier).
   */
  graphCall(inputs: Tensor[], ctx: GraphCallContext): Tensor {
    const x = inputs[0];
    if (!ctx.carrier?.finalCache) return this.forward(x, { training: ctx.training });
    const given = ctx.carrier.initialCache?.(this);
    const offset = given instanceof NextPosition ? given.offset : 0;
    const y = this.forward(x, { offset, training: ctx.training });
    ctx.carrier.finalCache(this, new NextPosition(offset + x.shape[this.batchFirst ? 1 : 0]));
    return y;
  }

  /**
   * x [batch, time, dModel] (time-major when not batchFirst) plus the encodings of positions offset
   * … offset + time − 1.
   * @param input - The sequences, features last.
   * @param opts - {@link PositionalEncodingCallOptions}.
   * @throws {@link ShapeError} when the input is longer than `maxLen` or has the wrong width.
   */
  forward(input: Tensor, opts?: PositionalEncodingCallOptions): Tensor {
    const o = checkOptions('options', opts, CALL_KEYS);
    const x = checkTensor('input', input);
    const offset = checkInteger('offset', o.offset ?? 0, 0);
    if (x.rank !== 3 || x.shape[2] !== this.dModel) {
      throw new ShapeError(`Expected input of shape [${this.batchFirst ? 'batch, time' : 'time, batch'}, ${this.dModel}] for ${this.toString()} but received ${formatShape(x.shape)}`);
    }
    const T = x.shape[this.batchFirst ? 1 : 0];
    if (offset + T > this.maxLen) fail(`at most ${this.maxLen} positions (maxLen) from offset ${offset}`, 'input', `${T} steps`);
    const pe = this.table.slice(0, offset, offset + T);
    const y = add(x, this.batchFirst ? pe : reshape(pe, [T, 1, this.dModel]));
    return this.drop.forward(y, { training: this.modeOf(o.training) });
  }

  /** The constructor options, defaults applied, for `eddy.layerToConfig`. */
  toConfig(): PositionalEncodingConfig {
    return { dModel: this.dModel, maxLen: this.maxLen, kind: this.kind, dropout: this.dropout, batchFirst: this.batchFirst };
  }

  /**
   * Builds the layer from `toConfig()`'s output.
   * @param config - The layer's config.
   */
  static fromConfig(config: PositionalEncodingConfig): PositionalEncoding {
    return new PositionalEncoding(config);
  }

  toString(): string {
    return `PositionalEncoding(dModel=${this.dModel}, maxLen=${this.maxLen}, kind=${this.kind}, dropout=${this.dropout}${this.batchFirst ? '' : ', batchFirst=false'})`;
  }
}

/**
 * ONNX for a call from position 0 (an exported model runs whole
 * sequences): the table — the sinusoids as a constant, or the learned
 * weight — sliced to the input's time steps and added. Dropout is a
 * training-time op and is left out.
 */
const lowerPositionalEncoding: OnnxLowering<PositionalEncoding> = (layer, x, { graph: g }) => {
  checkOnnxBatchFirst(layer, layer.batchFirst);
  const input = batchMajor(x, g).name;
  const data = layer.weight ? layer.weight.data.toFloat32Array() : sinusoidalTable(layer.maxLen, layer.dModel);
  const table = g.floats(layer.weight ? 'position_weight' : 'sinusoids', [layer.maxLen, layer.dModel], data);
  const time = g.op('Unsqueeze', [axisSize(g, input, 1), g.int64s('axes', [0])]);
  const rows = g.op('Slice', [table, g.int64s('starts', [0]), time, g.int64s('axes', [0])]);
  return { name: g.op('Add', [input, rows]), timeMajor: false };
};

registerLayer<PositionalEncoding>('PositionalEncoding', {
  layerClass: PositionalEncoding,
  fromConfig: (c) => PositionalEncoding.fromConfig(c as never),
  parameterBound: (c) => (c.kind === 'learned' ? positive(c.maxLen) * positive(c.dModel) : 0),
  perStep: false,
  onnx: lowerPositionalEncoding,
});
