import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';

describe('Tensor autograd API', () => {
  it('creates leaves that do not require grad unless asked', () => {
    const t = eddy.tensor([1, 2]);
    assert.strictEqual(t.requiresGrad, false);
    assert.strictEqual(t.grad, null);
    assert.strictEqual(t.gradFn, null);
    assert.strictEqual(t.isLeaf, true);
    const u = eddy.tensor(new Float32Array(4), [2, 2], { requiresGrad: true });
    assert.strictEqual(u.requiresGrad, true);
    assert.strictEqual(u.isLeaf, true);
    assert.strictEqual(eddy.tensor([[1]], undefined, { requiresGrad: false }).requiresGrad, false);
  });

  it('requiresGrad_() switches a leaf and returns it; detach() leaves the graph but shares storage', () => {
    const t = eddy.tensor([1, 2, 3, 4], [2, 2]);
    assert.strictEqual(t.requiresGrad_(), t);
    assert.strictEqual(t.requiresGrad, true);
    t.requiresGrad_(false);
    assert.strictEqual(t.requiresGrad, false);
    t.requiresGrad_(true);
    const y = t.T.mul(2);
    const d = y.detach();
    assert.strictEqual(d.data, y.data);
    assert.deepStrictEqual([d.shape, d.strides, d.offset], [y.shape, y.strides, y.offset]);
    assert.strictEqual(d.requiresGrad, false);
    assert.strictEqual(d.gradFn, null);
    assert.strictEqual(eddy.mul(d, 2).requiresGrad, false);
    const view = t.T.detach();
    assert.strictEqual(view.data, t.data);
    assert.deepStrictEqual(view.strides, [1, 2]);
  });

  it('method forms record like the functions', () => {
    const a = eddy.tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true });
    const b = eddy.tensor([[0.5, -1], [2, 1]]);
    const methods: Array<[string, Tensor]> = [
      ['add', a.add(b)], ['sub', a.sub(1)], ['mul', a.mul(b)], ['div', a.div(2)], ['neg', a.neg()],
      ['matmul', a.matmul(b)], ['sum', a.sum()], ['mean', a.mean(0, true)],
      ['transpose', a.T], ['slice', a.slice(0, 1)], ['select', a.select(1, 0)], ['reshape', a.reshape([4])],
    ];
    for (const [name, out] of methods) {
      assert.strictEqual(out.gradFn?.name, name);
      assert.strictEqual(out.requiresGrad, true);
    }
    a.add(b).mul(a).sum().backward();
    // d/da sum((a + b) * a) = 2a + b
    assert.deepStrictEqual(a.grad?.toArray(), [[2.5, 3], [8, 9]]);
  });

  it('backward() on a one-element tensor needs no gradient; zeroGrad() clears', () => {
    const a = eddy.tensor([3], undefined, { requiresGrad: true });
    a.mul(a).reshape([1, 1]).backward();
    assert.deepStrictEqual(a.grad?.toArray(), [6]);
    a.zeroGrad();
    assert.strictEqual(a.grad, null);
    a.backward(); // a leaf root: its gradient is 1
    assert.deepStrictEqual((a.grad as Tensor | null)?.toArray(), [1]);
  });

  it('rejects bad arguments with exact messages', () => {
    const a = eddy.tensor([1, 2], undefined, { requiresGrad: true });
    assert.throws(() => eddy.tensor([1], undefined, { requiresGrad: 1 as never }), {
      name: 'ValidationError',
      message: 'Expected boolean for opts.requiresGrad but received 1 of type number',
    });
    assert.throws(() => a.mul(2).requiresGrad_(false), {
      name: 'ValidationError',
      message: 'Expected a leaf tensor for requiresGrad_() but received the output of mul (use detach() for a leaf sharing its data)',
    });
    assert.throws(() => a.requiresGrad_('no' as never), { name: 'ValidationError', message: 'Expected boolean for flag but received "no" of type string' });
  });
});
