/**
 * Serving's Linear: y = x·Wᵀ + b on Eddy's packed GEMM instead of BLAS
 * sgemm. sgemm picks its blocking and kernels by the matrix shape, so one
 * row's result can change in the last bits with the number of rows beside
 * it; here every row is the same chain of multiply-adds whatever the batch,
 * its position in it or the thread count (see native/linear_rows.h). That
 * is what makes a served request's output bit-identical alone or batched.
 */
import { ShapeError } from '../errors';
import { Linear } from '../layers/linear';
import { binding, LinearRowsHandle } from '../native';
import { Tensor } from '../tensor/tensor';
import { describe, fail, formatShape } from '../validate';

/**
 * A snapshot of a Linear layer's weights, packed once: later changes to
 * the layer are not seen (make a new one).
 */
export class LinearRows {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** @internal The packed weights, for native calls that run this layer inside theirs. */
  readonly handle: LinearRowsHandle;

  constructor(readonly layer: Linear) {
    if (!(layer instanceof Linear)) fail('a Linear layer', 'layer', layer);
    this.inFeatures = layer.inFeatures;
    this.outFeatures = layer.outFeatures;
    const w = layer.weight.data.toFloat32Array();
    this.handle = binding.linearRows(w, layer.bias ? layer.bias.data.toFloat32Array() : null, this.outFeatures, this.inFeatures);
  }

  /** y [m, out] = x [m, in] · Wᵀ + b, into `y` when given (m rows of it are written). */
  run(x: Float32Array, y?: Float32Array): Float32Array {
    if (x.length % this.inFeatures !== 0) throw new ShapeError(`Expected rows of ${this.inFeatures} features for ${this.layer.toString()} but received ${x.length} values`);
    const m = x.length / this.inFeatures;
    const out = y ? y.subarray(0, m * this.outFeatures) : new Float32Array(m * this.outFeatures);
    binding.linearRowsRun(this.handle, x, out);
    return out;
  }

  /** The layer's forward on [..., inFeatures] (inference only: nothing is recorded for gradients). */
  forward(input: Tensor): Tensor {
    if (!(input instanceof Tensor) || input.rank < 1 || input.shape[input.rank - 1] !== this.inFeatures) {
      throw new ShapeError(`Expected input of shape [..., ${this.inFeatures}] for ${this.layer.toString()} but received ${input instanceof Tensor ? formatShape(input.shape) : describe(input)}`);
    }
    const x = input.isContiguous() ? input.data.subarray(input.offset, input.offset + input.size) : input.toFloat32Array();
    return new Tensor(this.run(x), [...input.shape.slice(0, -1), this.outFeatures]);
  }
}
