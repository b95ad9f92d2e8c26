/** Activation functions as layers, for sequential models. */
import { Module } from '../nn/module';
import { softmax, logSoftmax } from '../ops/softmax';
import { gelu, relu, sigmoid, tanh } from '../ops/unary';
import { Tensor } from '../tensor/tensor';
import { checkInteger } from '../validate';
import { registerLayer } from '../nn/registry';
import { batchMajor, geluOnnx, onnxAttribute, OnnxLowering } from '../nn/onnx-lowering';

/** An elementwise (or softmax) function as a parameterless layer. */
export abstract class Activation extends Module {
  protected constructor(private readonly fn: (t: Tensor) => Tensor, private readonly label: string) {
    super();
  }

  /**
   * Applies the function to `input` (any shape).
   * @param input - A tensor of any shape.
   */
  forward(input: Tensor): Tensor {
    return this.fn(input);
  }

  /** The constructor options, for `eddy.layerToConfig`: none, or the axis of a softmax. */
  toConfig(): {
    /** The normalized axis (Softmax and LogSoftmax only). */
    dim?: number;
  } {
    return {};
  }

  /** The layer as PyTorch prints it, e.g. `Softmax(dim=-1)`. */
  toString(): string {
    return this.label;
  }
}

/** A layer applying tanh elementwise. */
export class Tanh extends Activation {
  constructor() {
    super(tanh, 'Tanh()');
  }

  /** Rebuilds the layer from `toConfig()` (it has no options). */
  static fromConfig(): Tanh {
    return new Tanh();
  }
}

/** A layer applying the logistic sigmoid elementwise. */
export class Sigmoid extends Activation {
  constructor() {
    super(sigmoid, 'Sigmoid()');
  }

  /** Rebuilds the layer from `toConfig()` (it has no options). */
  static fromConfig(): Sigmoid {
    return new Sigmoid();
  }
}

/** A layer applying max(0, x) elementwise. */
export class ReLU extends Activation {
  constructor() {
    super(relu, 'ReLU()');
  }

  /** Rebuilds the layer from `toConfig()` (it has no options). */
  static fromConfig(): ReLU {
    return new ReLU();
  }
}

/** A layer applying GELU (the exact, erf-based form) elementwise. */
export class GELU extends Activation {
  constructor() {
    super(gelu, 'GELU()');
  }

  /** Rebuilds the layer from `toConfig()` (it has no options). */
  static fromConfig(): GELU {
    return new GELU();
  }
}

/** A layer applying softmax along one axis. */
export class Softmax extends Activation {
  /** @param dim - The axis to normalize (negative counts from the end); the last when omitted. */
  constructor(readonly dim = -1) {
    super((t) => softmax(t, dim), `Softmax(dim=${dim})`);
    checkInteger('dim', dim);
  }

  override toConfig(): {
    /** The normalized axis. */
    dim: number;
  } {
    return { dim: this.dim };
  }

  /**
   * Rebuilds the layer from `toConfig()`.
   * @param config - `{ dim }` from `toConfig()`.
   */
  static fromConfig(config: { dim?: number }): Softmax {
    return new Softmax(config.dim);
  }
}

/** A layer applying log-softmax along one axis. */
export class LogSoftmax extends Activation {
  /** @param dim - The axis to normalize (negative counts from the end); the last when omitted. */
  constructor(readonly dim = -1) {
    super((t) => logSoftmax(t, dim), `LogSoftmax(dim=${dim})`);
    checkInteger('dim', dim);
  }

  override toConfig(): {
    /** The normalized axis. */
    dim: number;
  } {
    return { dim: this.dim };
  }

  /**
   * Rebuilds the layer from `toConfig()`.
   * @param config - `{ dim }` from `toConfig()`.
   */
  static fromConfig(config: { dim?: number }): LogSoftmax {
    return new LogSoftmax(config.dim);
  }
}

/** An activation as one ONNX operator (Softmax and LogSoftmax take their axis). */
function activationOnnx<A extends Activation>(opType: string): OnnxLowering<A> {
  return (layer, x, { graph }) => {
    const y = batchMajor(x, graph);
    const axis = (layer as unknown as { dim?: number }).dim;
    return { name: graph.op(opType, [y.name], axis === undefined ? [] : [onnxAttribute.int('axis', axis)]), timeMajor: false };
  };
}

const activation = { parameterBound: () => 0, perStep: true };
registerLayer<Tanh>('Tanh', { ...activation, layerClass: Tanh, fromConfig: () => Tanh.fromConfig(), onnx: activationOnnx('Tanh') });
registerLayer<Sigmoid>('Sigmoid', { ...activation, layerClass: Sigmoid, fromConfig: () => Sigmoid.fromConfig(), onnx: activationOnnx('Sigmoid') });
registerLayer<ReLU>('ReLU', { ...activation, layerClass: ReLU, fromConfig: () => ReLU.fromConfig(), onnx: activationOnnx('Relu') });
// ONNX has Gelu only from opset 20: below it, the exact form from Erf.
registerLayer<GELU>('GELU', { ...activation, layerClass: GELU, fromConfig: () => GELU.fromConfig(), onnx: (_layer, x, { graph }) => ({ name: geluOnnx(graph, batchMajor(x, graph).name), timeMajor: false }) });
registerLayer<Softmax>('Softmax', { ...activation, perStep: (layer) => layer.dim === -1 || layer.dim === 2, layerClass: Softmax, fromConfig: (c) => Softmax.fromConfig(c as never), onnx: activationOnnx('Softmax') });
registerLayer<LogSoftmax>('LogSoftmax', { ...activation, perStep: (layer) => layer.dim === -1 || layer.dim === 2, layerClass: LogSoftmax, fromConfig: (c) => LogSoftmax.fromConfig(c as never), onnx: activationOnnx('LogSoftmax') });
