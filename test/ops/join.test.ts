import * as assert from 'assert';
import * as eddy from '../../lib';
import { Layout, gradcheck, randomInput } from '../gradcheck';
import { rng } from '../helpers';

const LAYOUTS: Layout[] = ['contiguous', 'transposed', 'sliced'];

describe('join', () => {
  it('concat and stack place each input where expected', () => {
    const a = eddy.tensor([[1, 2], [3, 4]]);
    const b = eddy.tensor([[5, 6]]);
    assert.deepStrictEqual(eddy.concat([a, b]).toArray(), [[1, 2], [3, 4], [5, 6]]);
    assert.deepStrictEqual(eddy.concat([a, a.T], -1).toArray(), [[1, 2, 1, 3], [3, 4, 2, 4]]);
    assert.deepStrictEqual(eddy.stack([a, a.T]).toArray(), [[[1, 2], [3, 4]], [[1, 3], [2, 4]]]);
    assert.deepStrictEqual(eddy.stack([a, a.T], 2).toArray(), [[[1, 1], [2, 3]], [[3, 2], [4, 4]]]);
    assert.deepStrictEqual(eddy.stack([eddy.tensor(1), eddy.tensor(2)]).toArray(), [1, 2]);
    const c = eddy.concat([a]);
    assert.notStrictEqual(c.data, a.data);
    assert.deepStrictEqual(eddy.concat([a, eddy.zeros([0, 2])]).shape, [2, 2]);
  });

  it('concat: gradients match finite differences along each dim and layout', () => {
    const random = rng(41);
    let worst = 0;
    for (const dim of [0, 1, -1]) {
      for (const layout of LAYOUTS) {
        const shapes = [[2, 3, 2], [2, 3, 2], [2, 3, 2]].map((s) => {
          const t = s.slice();
          t[dim < 0 ? dim + 3 : dim] = 1 + Math.floor(random() * 3);
          return t;
        });
        const inputs = shapes.map((s, i) => randomInput(s, random, i === 1 ? layout : 'contiguous'));
        worst = Math.max(worst, ...gradcheck((...ts) => eddy.tanh(eddy.concat(ts, dim)), inputs));
      }
    }
    console.log(`      9 cases, max scaled difference ${worst.toExponential(2)} (tolerance 2e-3)`);
  });

  it('stack: gradients match finite differences along each dim and layout', () => {
    const random = rng(42);
    let worst = 0;
    for (const dim of [0, 1, 2, -1]) {
      for (const layout of LAYOUTS) {
        const inputs = [0, 1].map((i) => randomInput([3, 2], random, i === 1 ? layout : 'contiguous'));
        worst = Math.max(worst, ...gradcheck((...ts) => eddy.tanh(eddy.stack(ts, dim)), inputs));
      }
    }
    console.log(`      12 cases, max scaled difference ${worst.toExponential(2)} (tolerance 2e-3)`);
  });

  it('gives gradients only to inputs that require grad', () => {
    const a = eddy.tensor([1, 2], undefined, { requiresGrad: true });
    const b = eddy.tensor([3, 4]);
    eddy.concat([a, b, a]).mul(eddy.tensor([1, 2, 3, 4, 5, 6])).sum().backward();
    assert.deepStrictEqual(a.grad?.toArray(), [6, 8]);
    assert.strictEqual(b.grad, null);
  });

  it('rejects bad arguments with exact messages', () => {
    const a = eddy.zeros([2, 3]);
    const cases: Array<[() => unknown, string, string]> = [
      [() => eddy.concat([]), 'ValidationError', 'Expected a non-empty array of tensors for tensors but received an array of length 0'],
      [() => eddy.stack(a as never), 'ValidationError', 'Expected a non-empty array of tensors for tensors but received an instance of Tensor'],
      [() => eddy.concat([a, 1 as never]), 'ValidationError', 'Expected Tensor for tensors[1] but received 1 of type number'],
      [() => eddy.concat([a, eddy.zeros([3, 3])], 1), 'ShapeError', 'Expected tensors[1] of shape [2, *] for concat along dim 1 but received [3, 3]'],
      [() => eddy.concat([a, eddy.zeros([2])]), 'ShapeError', 'Expected tensors[1] of shape [*, 3] for concat along dim 0 but received [2]'],
      [() => eddy.concat([a], 2), 'ValidationError', 'Expected dim between -2 and 1 for a tensor of rank 2 but received 2'],
      [() => eddy.stack([a, a.T]), 'ShapeError', 'Expected tensors[1] of shape [2, 3] for stack but received [3, 2]'],
      [() => eddy.stack([a, a], -4), 'ValidationError', 'Expected dim between -3 and 2 for stacking tensors of rank 2 but received -4'],
    ];
    for (const [fn, name, message] of cases) assert.throws(fn, { name, message });
  });
});
