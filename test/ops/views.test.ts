import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';
import { Layout, gradcheck, randomInput } from '../gradcheck';
import { rng } from '../helpers';

const LAYOUTS: Layout[] = ['contiguous', 'transposed', 'sliced'];

describe('views', () => {
  it('stay views sharing storage when they are recorded', () => {
    const x = eddy.tensor(Float32Array.from({ length: 12 }, (_, i) => i), [3, 4], { requiresGrad: true });
    for (const v of [x.T, x.transpose(0, 1), x.slice(1, 1, 3), x.select(0, 2), x.reshape([4, 3]), eddy.slice(x, 0, 1), eddy.select(x, 1, -1)]) {
      assert.strictEqual(v.data, x.data);
      assert.strictEqual(v.requiresGrad, true);
      assert.ok(v.gradFn !== null);
    }
    assert.deepStrictEqual(eddy.transpose(x).shape, [4, 3]);
    assert.deepStrictEqual(eddy.reshape(x, [2, -1]).shape, [2, 6]);
    assert.deepStrictEqual(x.T.gradFn?.name, 'transpose');
    // contiguous() on a contiguous tensor is the tensor itself: nothing to record.
    assert.strictEqual(x.contiguous(), x);
    assert.deepStrictEqual(x.T.contiguous().gradFn?.name, 'contiguous');
  });

  it('scatter the gradient back where the view looks', () => {
    const x = eddy.tensor(new Float32Array(12), [3, 4], { requiresGrad: true });
    x.slice(1, 1, 3).sum().backward();
    assert.deepStrictEqual(x.grad?.toArray(), [[0, 1, 1, 0], [0, 1, 1, 0], [0, 1, 1, 0]]);
    x.zeroGrad();
    eddy.mul(x.select(0, -1), eddy.tensor([1, 2, 3, 4])).sum().backward();
    assert.deepStrictEqual(x.grad?.toArray(), [[0, 0, 0, 0], [0, 0, 0, 0], [1, 2, 3, 4]]);
  });

  const CASES: Array<[string, (t: Tensor) => Tensor]> = [
    ['reshape', (t) => t.reshape([4, -1])],
    ['reshape to rank 1', (t) => eddy.reshape(t, [-1])],
    ['transpose', (t) => t.transpose(0, 2)],
    ['.T of a select', (t) => t.select(1, 1).T],
    ['slice', (t) => t.slice(2, 1, 3)],
    ['slice with negative start', (t) => eddy.slice(t, 0, -1)],
    ['select', (t) => t.select(-1, 2)],
    ['contiguous', (t) => t.transpose(0, 1).contiguous()],
    ['views of views', (t) => t.transpose(0, 2).slice(0, 1).select(1, 0).reshape([-1])],
  ];

  for (const [name, view] of CASES) {
    it(`${name}: gradient matches finite differences in every layout`, () => {
      const random = rng(name.length);
      let worst = 0;
      for (const layout of LAYOUTS) {
        // Multiplying by the input makes the loss depend on each element non-linearly.
        worst = Math.max(worst, ...gradcheck((t) => eddy.mul(view(t), view(t)), [randomInput([2, 3, 4], random, layout)]));
      }
      console.log(`      3 layouts, max scaled difference ${worst.toExponential(2)} (tolerance 2e-3)`);
    });
  }

  it('function forms reject non-tensors with exact messages', () => {
    assert.throws(() => eddy.reshape([1, 2] as never, [2]), { name: 'ValidationError', message: 'Expected Tensor for t but received an array of length 2' });
    assert.throws(() => eddy.transpose(undefined as never), { name: 'ValidationError', message: 'Expected Tensor for t but received undefined' });
    assert.throws(() => eddy.select(eddy.zeros([2]), 1, 0), {
      name: 'ValidationError',
      message: 'Expected dim between -1 and 0 for a tensor of rank 1 but received 1',
    });
  });
});
