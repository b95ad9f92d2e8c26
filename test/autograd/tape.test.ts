import * as assert from 'assert';
import * as eddy from '../../lib';
import { EddyError, Tensor } from '../../lib';
import { gradcheck, randomInput } from '../gradcheck';
import { rng } from '../helpers';

/**
 * A two-output op written directly against record(): splits x along dim 0
 * into its first `k` rows and the rest. Counts calls to its backward and
 * keeps the gradients it received.
 */
function split(x: Tensor, k: number, log: { calls: number; received: (Tensor | null)[] }): [Tensor, Tensor] {
  const rows = x.shape[1];
  const flat = x.toFloat32Array();
  const top = eddy.tensor(flat.slice(0, k * rows), [k, rows]);
  const bottom = eddy.tensor(flat.slice(k * rows), [x.shape[0] - k, rows]);
  eddy.record('split', [x], [top, bottom], (grads) => {
    log.calls++;
    log.received = grads;
    // A null gradient stands for zeros.
    const [gTop, gBottom] = grads.map((g, i) => g ?? eddy.zeros(i === 0 ? top.shape.slice() : bottom.shape.slice()));
    return [eddy.noGrad(() => eddy.concat([gTop, gBottom]))];
  });
  return [top, bottom];
}

describe('record', () => {
  it('records only when grad is enabled and some input requires grad', () => {
    const a = eddy.tensor([1, 2]);
    const b = eddy.tensor([3, 4], undefined, { requiresGrad: true });
    const plain = eddy.add(a, a);
    assert.strictEqual(plain.requiresGrad, false);
    assert.strictEqual(plain.gradFn, null);
    const out = eddy.add(a, b);
    assert.strictEqual(out.requiresGrad, true);
    assert.ok(out.gradFn instanceof eddy.GradNode);
    assert.strictEqual(out.gradFn.name, 'add');
    assert.strictEqual(out.isLeaf, false);
    assert.strictEqual(b.isLeaf, true);
    const off = eddy.noGrad(() => eddy.add(a, b));
    assert.strictEqual(off.requiresGrad, false);
    assert.strictEqual(off.gradFn, null);
  });

  it('gives each output the node and its index, and passes null for outputs without a gradient', () => {
    const x = eddy.tensor([[1, 2], [3, 4], [5, 6]], undefined, { requiresGrad: true });
    const log = { calls: 0, received: [] as (Tensor | null)[] };
    const [top, bottom] = split(x, 1, log);
    assert.strictEqual(top.gradFn, bottom.gradFn);
    assert.deepStrictEqual([top.outputIndex, bottom.outputIndex], [0, 1]);
    eddy.mul(bottom, 2).sum().backward();
    assert.strictEqual(log.calls, 1);
    assert.strictEqual(log.received[0], null);
    assert.deepStrictEqual(log.received[1]?.toArray(), [[2, 2], [2, 2]]);
    assert.deepStrictEqual(x.grad?.toArray(), [[0, 0], [2, 2], [2, 2]]);
  });

  it('a multi-output op passes gradcheck', () => {
    const random = rng(71);
    const log = { calls: 0, received: [] as (Tensor | null)[] };
    const diffs = gradcheck((x) => {
      const [top, bottom] = split(x, 2, log);
      return eddy.concat([eddy.tanh(top), eddy.square(bottom)]);
    }, [randomInput([5, 3], random, 'transposed')]);
    console.log(`      max scaled difference ${diffs[0].toExponential(2)} (tolerance 2e-3)`);
  });

  it('does not accumulate into inputs that do not require grad, whatever backward returns', () => {
    const a = eddy.tensor([1, 2], undefined, { requiresGrad: true });
    const b = eddy.tensor([3, 4]);
    const out = eddy.tensor([0, 0]);
    eddy.record('both', [a, b], [out], ([g]) => [g, g]);
    out.backward(eddy.tensor([1, 1]));
    assert.deepStrictEqual(a.grad?.toArray(), [1, 1]);
    assert.strictEqual(b.grad, null);
  });

  it('rejects an output that is an input or already in a graph', () => {
    const a = eddy.tensor([1, 2], undefined, { requiresGrad: true });
    const c = eddy.tensor([1, 2]);
    assert.throws(() => eddy.record('identity', [a, c], [c], ([g]) => [g, null]), {
      name: 'EddyError',
      message: 'record(identity): outputs[0] is an input or already part of a graph; an op must return new Tensor objects',
    });
    // The output of another op is already part of a graph.
    const y = a.mul(2);
    assert.throws(() => eddy.record('reuse', [a], [y], () => [null]), (err: unknown) => {
      assert.ok(err instanceof EddyError);
      assert.strictEqual(err.message, 'record(reuse): outputs[0] is an input or already part of a graph; an op must return new Tensor objects');
      return true;
    });
  });

  it('checks what a backward returns, naming the op', () => {
    const a = eddy.tensor([1, 2, 3], undefined, { requiresGrad: true });
    const make = (backward: () => unknown): Tensor => {
      const out = eddy.tensor([0]);
      eddy.record('bad', [a], [out], backward as never);
      return out;
    };
    const cases: Array<[() => unknown, string]> = [
      [() => [eddy.zeros([2])], 'Expected the backward of bad to return a gradient of shape [3] for input 0 but it returned shape [2]'],
      [() => [], 'Expected the backward of bad to return 1 gradients (one per input) but it returned an array of length 0'],
      [() => undefined, 'Expected the backward of bad to return 1 gradients (one per input) but it returned undefined'],
      [() => [[1, 2, 3]], 'Expected the backward of bad to return a Tensor or null for input 0 but it returned an array of length 3'],
    ];
    for (const [backward, message] of cases) {
      assert.throws(() => make(backward).backward(), { name: 'EddyError', code: 'ERR_EDDY', message });
      assert.strictEqual(a.grad, null, 'a failed backward must not touch grad');
    }
  });

  it('validates its arguments with exact messages', () => {
    const a = eddy.tensor([1]);
    const fn = (): null[] => [null];
    const cases: Array<[() => unknown, string]> = [
      [() => eddy.record(1 as never, [a], [a], fn), 'Expected string for name but received 1 of type number'],
      [() => eddy.record('op', a as never, [a], fn), 'Expected an array of tensors for inputs but received an instance of Tensor'],
      [() => eddy.record('op', [a], null as never, fn), 'Expected an array of tensors for outputs but received null'],
      [() => eddy.record('op', [a], [a], 'f' as never), 'Expected a function for backward but received "f" of type string'],
      [() => eddy.record('op', [a, 2 as never], [eddy.tensor([1])], fn), 'Expected Tensor for inputs[1] but received 2 of type number'],
    ];
    for (const [call, message] of cases) assert.throws(call, { name: 'ValidationError', message });
  });
});
