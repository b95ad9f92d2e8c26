import { shapeSize, Tensor } from '../tensor/tensor';

/**
 * A trainable weight. `data` is a leaf tensor that records gradients; its
 * storage is updated in place by optimizers and `loadStateDict`, so a
 * Parameter keeps its identity for the life of its module.
 */
export class Parameter {
  readonly data: Tensor;

  constructor(data: Tensor) {
    data.requiresGrad = true;
    this.data = data;
  }

  /** A parameter of zeros, to be initialized in place. */
  static zeros(shape: readonly number[]): Parameter {
    return new Parameter(new Tensor(new Float32Array(shapeSize(shape)), shape));
  }

  /** The accumulated gradient, or null before the first backward (or after zeroGrad). */
  get grad(): Tensor | null {
    return this.data.grad;
  }

  get shape(): readonly number[] {
    return this.data.shape;
  }

  zeroGrad(): void {
    this.data.grad = null;
  }
}
