import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';
import { Layout, gradcheck, randomInput } from '../gradcheck';
import { assertClose, rng } from '../helpers';

/** Sum along dim (all dims when undefined) in float64, by logical indices; the shape is kept with 1s. */
function referenceSum(t: Tensor, dim?: number): Float64Array {
  const kept = t.shape.map((n, d) => (dim === undefined || d === dim ? 1 : n));
  const out = new Float64Array(kept.reduce((a, b) => a * b, 1));
  const flat = t.toFloat32Array();
  for (let k = 0; k < flat.length; k++) {
    let rest = k;
    let o = 0;
    let stride = 1;
    for (let d = t.rank - 1; d >= 0; d--) {
      const i = rest % t.shape[d];
      rest = Math.floor(rest / t.shape[d]);
      o += (kept[d] === 1 ? 0 : i) * stride;
      stride *= kept[d];
    }
    out[o] += flat[k];
  }
  return out;
}

const LAYOUTS: Layout[] = ['contiguous', 'transposed', 'sliced'];

describe('reductions', () => {
  it('sum and mean match float64 loops over all elements and along each dimension', () => {
    const random = rng(21);
    let worst = 0;
    for (const layout of LAYOUTS) {
      const x = randomInput([3, 4, 5], random, layout);
      for (const dim of [undefined, 0, 1, 2]) {
        const expected = referenceSum(x, dim);
        const count = dim === undefined ? x.size : x.shape[dim];
        worst = Math.max(worst, assertClose(eddy.sum(x, dim).toFloat32Array(), expected, 1e-6, `sum ${dim} ${layout}`));
        worst = Math.max(worst, assertClose(eddy.mean(x, dim).toFloat32Array(), expected.map((v) => v / count), 1e-6, `mean ${dim} ${layout}`));
      }
    }
    console.log(`      max scaled difference ${worst.toExponential(2)} (tolerance 1e-6)`);
  });

  it('removes the reduced dimension unless keepDim', () => {
    const x = eddy.zeros([2, 3, 4]);
    assert.deepStrictEqual(eddy.sum(x).shape, []);
    assert.deepStrictEqual(eddy.sum(x, undefined, true).shape, [1, 1, 1]);
    assert.deepStrictEqual(eddy.sum(x, 1).shape, [2, 4]);
    assert.deepStrictEqual(eddy.mean(x, -1, true).shape, [2, 3, 1]);
    assert.deepStrictEqual(x.sum(0).shape, [3, 4]);
    assert.deepStrictEqual(eddy.tensor([[1, 2], [3, 5]]).mean(1).toArray(), [1.5, 4]);
    assert.deepStrictEqual(eddy.tensor([[1, 2], [3, 5]]).sum().item(), 11);
    // A size-1 dimension: the result is still a new tensor.
    const one = eddy.tensor([[7], [8]]);
    assert.notStrictEqual(eddy.sum(one, 1).data, one.data);
    assert.ok(Number.isNaN(eddy.mean(eddy.zeros([0])).item()));
    assert.strictEqual(eddy.sum(eddy.zeros([0, 3])).item(), 0);
  });

  for (const name of ['sum', 'mean'] as const) {
    it(`${name}: gradient matches finite differences for every dim, keepDim and layout`, () => {
      const op = name === 'sum' ? eddy.sum : eddy.mean;
      const random = rng(name === 'sum' ? 5 : 6);
      let worst = 0;
      let cases = 0;
      for (const layout of LAYOUTS) {
        for (const dim of [undefined, 0, 1, -1]) {
          for (const keepDim of [false, true]) {
            worst = Math.max(worst, ...gradcheck((t) => op(t, dim, keepDim), [randomInput([3, 2, 4], random, layout)]));
            cases++;
          }
        }
      }
      worst = Math.max(worst, ...gradcheck((t) => op(t), [randomInput([], random)]));
      console.log(`      ${cases + 1} cases, max scaled difference ${worst.toExponential(2)} (tolerance 2e-3)`);
    });
  }

  it('rejects bad arguments with exact messages', () => {
    const x = eddy.zeros([2, 3]);
    assert.throws(() => eddy.sum(x, 2), { name: 'ValidationError', message: 'Expected dim between -2 and 1 for a tensor of rank 2 but received 2' });
    assert.throws(() => eddy.mean(x, 0.5), { name: 'ValidationError', message: 'Expected integer for dim but received 0.5 of type number' });
    assert.throws(() => eddy.sum(x, 0, 1 as never), { name: 'ValidationError', message: 'Expected boolean for keepDim but received 1 of type number' });
    assert.throws(() => eddy.mean(null as never), { name: 'ValidationError', message: 'Expected Tensor for t but received null' });
  });
});
