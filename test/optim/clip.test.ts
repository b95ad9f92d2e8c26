/**
 * clipGradNorm's native reduction on gradients larger than one chunk of the
 * pool, against a float64 reference, and its treatment of NaN.
 */
import * as assert from 'assert';
import * as eddy from '../../lib';
import { rng, withThreads } from '../helpers';

function params(sizes: number[], seed: number): eddy.Tensor[] {
  const r = rng(seed);
  return sizes.map((n) => {
    const p = eddy.tensor(new Float32Array(n), [n], { requiresGrad: true });
    p.grad = eddy.tensor(Float32Array.from({ length: n }, () => 2 * r() - 1), [n]);
    return p;
  });
}

describe('clipGradNorm: one native reduction over all gradients', () => {
  for (const normType of [2, 3, 'inf'] as const) {
    it(`norm ${normType} over 330k elements matches float64, the same on 1 and 2 threads`, () => {
      const sizes = [262144, 65536, 1000, 7];
      const reference = params(sizes, 11).map((p) => Float64Array.from(p.grad!.data));
      let expected = 0;
      for (const g of reference) for (const v of g) expected = normType === 'inf' ? Math.max(expected, Math.abs(v)) : expected + Math.abs(v) ** normType;
      if (normType !== 'inf') expected **= 1 / normType;
      const results = [1, 2].map((threads) =>
        withThreads(threads, () => {
          const ps = params(sizes, 11);
          const total = eddy.clipGradNorm(ps, 0.5, { normType });
          return { total, grads: ps.map((p) => p.grad!.toFloat32Array()) };
        }),
      );
      assert.strictEqual(results[1].total, results[0].total);
      assert.deepStrictEqual(results[1].grads, results[0].grads);
      // Double accumulation of float32 inputs: only the summation order differs from the
      // reference, 330k additions of at most 1.1e-16 relative each.
      const rel = Math.abs(results[0].total - expected) / expected;
      assert.ok(rel <= 1e-10, `norm ${results[0].total} vs ${expected}`);
      // Scaling is one float32 multiplication by the float32 coefficient.
      const coef = Math.fround(0.5 / (results[0].total + 1e-6));
      results[0].grads.forEach((g, i) => g.forEach((v, j) => assert.strictEqual(v, Math.fround(reference[i][j] * coef))));
    });
  }

  it('returns NaN and leaves the gradients alone when one is NaN, for every norm', () => {
    for (const normType of [2, 'inf'] as const) {
      const ps = params([40000, 10], 2);
      ps[0].grad!.data[39999] = NaN;
      const before = ps[1].grad!.toFloat32Array();
      assert.ok(Number.isNaN(eddy.clipGradNorm(ps, 1, { normType })));
      assert.deepStrictEqual(ps[1].grad!.toFloat32Array(), before);
      assert.throws(() => eddy.clipGradNorm(ps, 1, { normType, errorIfNonfinite: true }), /The total norm of order .* is NaN/);
    }
  });
});
