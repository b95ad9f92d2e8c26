/**
 * Linear as one tape node over OpenBLAS (a GEMM with the weight transposed
 * by flag, two GEMMs and a column sum backward) on the character LSTM's head
 * shape, against a float64 reference, with and without bias, for inputs
 * that are views and for a single vector.
 */
import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';
import { gradcheck } from '../gradcheck';
import { moduleGradcheck } from './module-gradcheck';
import { assertClose, randomArray, rng } from '../helpers';

/** Float64 x·Wᵀ + b and its gradients for upstream gradient g, rows of x of length I. */
function reference(x: Float32Array, W: Float32Array, b: Float32Array | null, g: Float32Array, I: number, O: number) {
  const m = x.length / I;
  const y = new Float64Array(m * O);
  const dx = new Float64Array(m * I);
  const dW = new Float64Array(O * I);
  const db = new Float64Array(O);
  for (let r = 0; r < m; r++) {
    for (let o = 0; o < O; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < I; i++) s += x[r * I + i] * W[o * I + i];
      y[r * O + o] = s;
      const go = g[r * O + o];
      db[o] += go;
      for (let i = 0; i < I; i++) {
        dx[r * I + i] += go * W[o * I + i];
        dW[o * I + i] += go * x[r * I + i];
      }
    }
  }
  return { y, dx, dW, db };
}

describe('Linear: one GEMM node', () => {
  for (const bias of [true, false]) {
    it(`[32, 100, 256] → 75${bias ? '' : ' without bias'}: output and gradients match float64`, () => {
      const I = 256;
      const O = 75;
      const r = rng(bias ? 1 : 2);
      eddy.manualSeed(3);
      const lin = new eddy.Linear({ inFeatures: I, outFeatures: O, bias });
      const x = eddy.tensor(randomArray(32 * 100 * I, r), [32, 100, I], { requiresGrad: true });
      const g = randomArray(32 * 100 * O, r);
      const y = lin.forward(x);
      assert.deepStrictEqual(y.shape, [32, 100, O]);
      eddy.backward([y], [eddy.tensor(g, y.shape)]);
      const ref = reference(x.data, lin.weight.data.data, bias ? lin.bias!.data.data : null, g, I, O);
      // Outputs and input gradients sum 256 and 75 float32 products of O(1) values: rounding
      // stays below 1e-5. Weight and bias gradients sum 3200 products, whose partial sums
      // wander to about sqrt(3200)/3 ≈ 19: each of the 3200 roundings (6e-8 of that)
      // adds a random error, about sqrt(3200)·6e-8·19 ≈ 6e-5 in all; 2e-4 leaves room.
      const worst = Math.max(
        assertClose(y.toFloat32Array(), ref.y, 1e-5, 'output'),
        assertClose((x.grad as Tensor).toFloat32Array(), ref.dx, 1e-5, 'input gradient'),
        assertClose((lin.weight.grad as Tensor).toFloat32Array(), ref.dW, 2e-4, 'weight gradient'),
        bias ? assertClose((lin.bias!.grad as Tensor).toFloat32Array(), ref.db, 2e-4, 'bias gradient') : 0,
      );
      console.log(`      max scaled difference ${worst.toExponential(1)} (tolerances 1e-5, 2e-4)`);
    });
  }

  it('takes transposed views and single vectors, and passes gradient checks on them', () => {
    const lin = new eddy.Linear({ inFeatures: 3, outFeatures: 4 });
    const r = rng(9);
    const base = eddy.tensor(randomArray(15, r), [3, 5], { requiresGrad: true });
    const view = eddy.transpose(base, 0, 1); // [5, 3], not contiguous
    assert.ok(!view.isContiguous());
    const dense = eddy.tensor(view.toFloat32Array(), [5, 3]);
    assert.deepStrictEqual(lin.forward(view).toFloat32Array(), lin.forward(dense).toFloat32Array());
    assert.deepStrictEqual(lin.forward(eddy.tensor([1, 2, 3])).shape, [4]);
    gradcheck((v) => lin.forward(eddy.transpose(v, 0, 1)), [base]);
    gradcheck((v) => lin.forward(v), [eddy.tensor([0.5, -1, 2])]);
    const noBias = new eddy.Linear({ inFeatures: 3, outFeatures: 2, bias: false });
    moduleGradcheck(() => noBias.forward(view), [base, noBias.weight.data]);
  });
});
