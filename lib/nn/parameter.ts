import { shapeSize, Tensor } from '../tensor/tensor';

/**
 * A trainable weight. `data` is a leaf tensor that records gradients; its
 * storage is updated in place by optimizers and `loadStateDict`, so a
 * Parameter keeps its identity for the life of its module.
 */
export class Parameter {
  /** The weight's values: a leaf tensor that requires grad. */
  readonly data: Tensor;

  /**
   * @param data - The initial values; the tensor is kept (not copied) and set to require grad.
   */
  constructor(data: Tensor) {
    data.requiresGrad = true;
    this.data = data;
  }

  /**
   * A parameter of zeros, to be initialized in place.
   * @param shape - The parameter's shape.
   */
  static zeros(shape: readonly number[]): Parameter {
    return new Parameter(new Tensor(new Float32Array(shapeSize(shape)), shape));
  }

  /** The accumulated gradient, or null before the first backward (or after zeroGrad). */
  get grad(): Tensor | null {
    return this.data.grad;
  }

  /** The parameter's shape. */
  get shape(): readonly number[] {
    return this.data.shape;
  }

  /** Clears the accumulated gradient. */
  zeroGrad(): void {
    this.data.grad = null;
  }
}
