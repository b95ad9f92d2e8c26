import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';
import { range, rejection } from './helpers';

const { fromArray } = eddy.data;

const values = (t: Tensor): number[] => Array.from(t.toFloat32Array());

describe('data: padBatch', () => {
  it('pads number[] sequences to [batch, maxSteps, 1] with their lengths; scalar targets stack to [batch]', async () => {
    const ds = fromArray([
      { x: [1, 2, 3], y: 1 },
      { x: [4], y: 0 },
      { x: [5, 6], y: 2 },
    ]).padBatch(2, { padValue: -1 });
    const [a, b] = await ds.toArray();
    assert.deepStrictEqual(a.x.shape, [2, 3, 1]);
    assert.deepStrictEqual(values(a.x), [1, 2, 3, 4, -1, -1]);
    assert.deepStrictEqual(a.lengths, Int32Array.of(3, 1));
    assert.deepStrictEqual([a.y.shape, values(a.y)], [[2], [1, 0]]);
    assert.deepStrictEqual([b.x.shape, values(b.x), b.lengths, values(b.y)], [[1, 2, 1], [5, 6], Int32Array.of(2), [2]]);
    assert.strictEqual((await fromArray([{ x: [1], y: 0 }, { x: [1], y: 0 }, { x: [1], y: 0 }]).padBatch(2, { dropRemainder: true }).toArray()).length, 1);
  });

  it('pads steps × features, typed arrays and tensors; vector targets stack to [batch, k]', async () => {
    const [batch] = await fromArray<unknown>([
      { x: [[1, 2], [3, 4]], y: [1, 0] },
      { x: [Float32Array.of(5, 6), [7, 8], [9, 10]], y: Float64Array.of(0, 1) },
      { x: eddy.tensor([[11, 12]]), y: eddy.tensor([1, 1]) },
    ]).padBatch(8).toArray();
    assert.deepStrictEqual(batch.x.shape, [3, 3, 2]);
    assert.deepStrictEqual(values(batch.x), [1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 9, 10, 11, 12, 0, 0, 0, 0]);
    assert.deepStrictEqual(batch.lengths, Int32Array.of(2, 3, 1));
    assert.deepStrictEqual([batch.y.shape, values(batch.y)], [[3, 2], [1, 0, 0, 1, 1, 1]]);
    const [flat] = await fromArray([{ x: Int32Array.of(3, 1, 2), y: 0 }, { x: eddy.tensor([7]), y: 1 }]).padBatch(2).toArray();
    assert.deepStrictEqual([flat.x.shape, values(flat.x)], [[2, 3, 1], [3, 1, 2, 7, 0, 0]]);
  });

  it('pads per-step targets with sequenceTargets, and gives token ids as [batch, maxSteps] with featureAxis: false', async () => {
    const [batch] = await fromArray([
      { tokens: [4, 5, 6], tags: [1, 2, 3] },
      { tokens: [7], tags: [4] },
    ])
      .padBatch(2, { x: 'tokens', y: 'tags', sequenceTargets: true, featureAxis: false, targetPadValue: -100 })
      .toArray();
    assert.deepStrictEqual([batch.x.shape, values(batch.x)], [[2, 3], [4, 5, 6, 7, 0, 0]]);
    assert.deepStrictEqual([batch.y.shape, values(batch.y)], [[2, 3], [1, 2, 3, 4, -100, -100]]);
    const [vec] = await fromArray([
      { x: [1, 2], y: [[1, 0], [0, 1]] },
      { x: [3], y: [[1, 1]] },
    ])
      .padBatch(2, { sequenceTargets: true })
      .toArray();
    assert.deepStrictEqual([vec.y.shape, values(vec.y)], [[2, 2, 2], [1, 0, 0, 1, 1, 1, 0, 0]]);
  });

  it('orders a batch by decreasing length with sortWithinBatch (stable), moving x, y and lengths together', async () => {
    const [batch] = await fromArray([
      { x: [1], y: 10 },
      { x: [2, 2, 2], y: 20 },
      { x: [3, 3], y: 30 },
      { x: [4, 4, 4], y: 40 },
    ])
      .padBatch(4, { sortWithinBatch: true })
      .toArray();
    assert.deepStrictEqual(batch.lengths, Int32Array.of(3, 3, 2, 1));
    assert.deepStrictEqual(values(batch.y), [20, 40, 30, 10]);
    assert.deepStrictEqual(values(batch.x), [2, 2, 2, 4, 4, 4, 3, 3, 0, 1, 0, 0]);
  });

  it('feeds a recurrent layer directly', async () => {
    eddy.manualSeed(1);
    const gru = new eddy.GRU({ inputSize: 2, hiddenSize: 3 });
    const [batch] = await fromArray([{ x: [[1, 2], [3, 4], [5, 6]], y: 0 }, { x: [[1, 1]], y: 1 }]).padBatch(2).toArray();
    const { output } = gru.forward(batch.x, { lengths: batch.lengths });
    assert.deepStrictEqual(output.shape, [2, 3, 3]);
    assert.deepStrictEqual(values(output).slice(9 + 3), [0, 0, 0, 0, 0, 0], 'padded steps output zeros');
  });

  it('names the element and the value in its errors', async () => {
    const fails = async (items: unknown[], message: string, name = 'ShapeError', opts: eddy.data.PadBatchOptions = {}): Promise<void> => {
      const err = await rejection(fromArray(items).padBatch(10, opts).toArray());
      assert.deepStrictEqual([err.name, err.message], [name, message]);
    };
    await fails([{ x: [1], y: 0 }, { y: 0 }], 'Expected an object with a "x" key for element 1 but received an object', 'ValidationError');
    await fails([{ x: [1], y: 0 }, 7], 'Expected an object with a "x" key for element 1 but received 7 of type number', 'ValidationError');
    await fails([{ x: [], y: 0 }], 'Expected a sequence of at least one step for x of element 0 but received an array of length 0', 'ValidationError');
    await fails([{ x: 'abc', y: 0 }], 'Expected a number, an array of numbers or an array of equally long arrays of numbers for x of element 0 but received "abc" of type string', 'ValidationError');
    await fails([{ x: [1, null], y: 0 }], 'Expected a number for x[1] of element 0 but received null', 'ValidationError');
    await fails([{ x: [[1, 2], [3]], y: 0 }], 'Expected an array of 2 numbers (like x[0] of element 0) for x[1] of element 0 but received an array of length 1');
    await fails([{ x: [[1, 2]], y: 0 }, { x: [[1, 2, 3]], y: 0 }], 'Expected 2 features per step (like x of element 0) for x of element 1 but received 3');
    await fails([{ x: 5, y: 0 }], 'Expected a sequence (steps or steps × features) for x of element 0 but received shape []');
    await fails([{ x: [1], y: [1, 2] }, { x: [1], y: [1] }], 'Expected shape [2] (like y of element 0) for y of element 1 but received [1]');
    await fails([{ x: [1, 2], y: [1] }], 'Expected one target per step of x of element 0 (2) for y of element 0 but received 1', 'ShapeError', { sequenceTargets: true });
    await fails([{ x: [[1, 2]], y: 0 }], 'Expected a flat sequence (token ids) with featureAxis: false for x of element 0 but received shape [1, 2]', 'ShapeError', { featureAxis: false });
    // Elements are numbered by their position in the stream, across batches.
    const err = await rejection(fromArray([{ x: [1], y: 0 }, { x: [1], y: 0 }, { x: [], y: 0 }]).padBatch(2).toArray());
    assert.strictEqual(err.message, 'Expected a sequence of at least one step for x of element 2 but received an array of length 0');
    assert.throws(() => fromArray([]).padBatch(2, { x: '' }), { message: 'Expected a non-empty string (an element key) for x but received "" of type string' });
    assert.throws(() => fromArray([]).padBatch(2, { padValue: NaN }), { message: 'Expected finite number for padValue but received NaN of type number' });
  });
});

describe('data: bucketBy', () => {
  const lengthsOf = (n: number, seed: number): number[] => {
    const g = new eddy.Generator(seed);
    return range(n).map(() => 1 + Math.floor(g.next() * 20));
  };

  it('batches elements of similar length: every batch within one bucket, every element once', async () => {
    const lens = lengthsOf(300, 4);
    const ds = fromArray(lens.map((L, id) => ({ x: range(L).map(() => id), y: id }))).bucketBy([5, 10], [4, 3, 2]);
    const batches = await ds.toArray();
    const seen: number[] = [];
    let partial = 0;
    for (const b of batches) {
      const ls = Array.from(b.lengths);
      const bucket = ls[0] < 5 ? 0 : ls[0] < 10 ? 1 : 2;
      const [lo, hi] = [[1, 4], [5, 9], [10, 20]][bucket];
      assert.ok(ls.every((l) => l >= lo && l <= hi), `lengths ${ls} in one bucket`);
      if (b.lengths.length !== [4, 3, 2][bucket]) partial++;
      assert.deepStrictEqual(b.x.shape, [b.lengths.length, Math.max(...ls), 1]);
      values(b.y).forEach((id, row) => assert.strictEqual(ls[row], lens[id]));
      seen.push(...values(b.y));
    }
    assert.ok(partial <= 3, 'only the last batch of each bucket may be short');
    assert.deepStrictEqual(seen.sort((a, b) => a - b), range(300));
    // Less padding than batching in order.
    const padded = (bs: eddy.data.PaddedBatch[]): number => bs.reduce((s, b) => s + b.x.shape[0] * b.x.shape[1], 0);
    const inOrder = await fromArray(lens.map((L, id) => ({ x: range(L), y: id }))).padBatch(3).toArray();
    assert.ok(padded(batches) < 0.8 * padded(inOrder), `${padded(batches)} padded steps vs ${padded(inOrder)}`);
  });

  it('pads to the bucket boundary, takes a length function and drops remainders on request', async () => {
    const items = [1, 2, 7, 3, 8, 12].map((L) => ({ x: range(L), y: L }));
    const bounded = await fromArray(items).bucketBy([5, 10], 2, { padToBucketBoundary: true }).toArray();
    assert.deepStrictEqual(bounded.map((b) => b.x.shape), [[2, 4, 1], [2, 9, 1], [1, 4, 1], [1, 12, 1]]);
    const byY = await fromArray(items).bucketBy([5], [10, 10], { length: (item) => (item as { y: number }).y, dropRemainder: true }).toArray();
    assert.deepStrictEqual(byY, []);
    const kept = await fromArray(items).bucketBy([5], 3, { dropRemainder: true }).toArray();
    assert.deepStrictEqual(kept.map((b) => Array.from(b.lengths)), [[1, 2, 3], [7, 8, 12]]);
  });

  it('checks boundaries and batch sizes', () => {
    const ds = fromArray([]);
    const cases: [() => unknown, string][] = [
      [() => ds.bucketBy([], 2), 'Expected a non-empty array of increasing positive integers for boundaries but received an array of length 0'],
      [() => ds.bucketBy([0], 2), 'Expected positive integer for boundaries[0] but received 0 of type number'],
      [() => ds.bucketBy([5, 5], 2), 'Expected an integer greater than boundaries[0] (5) for boundaries[1] but received 5 of type number'],
      [() => ds.bucketBy([5, 10], [2, 2]), 'Expected 3 batch sizes (one per bucket: boundaries.length + 1) for batchSizes but received 2'],
      [() => ds.bucketBy([5], [2, 0]), 'Expected positive integer for batchSizes[1] but received 0 of type number'],
      [() => ds.bucketBy([5], 'a' as unknown as number), 'Expected a positive integer or an array of them (one per bucket) for batchSizes but received "a" of type string'],
      [() => ds.bucketBy([5], 2, { length: 3 as unknown as () => number }), 'Expected a function (item) => number for length but received 3 of type number'],
    ];
    for (const [fn, message] of cases) assert.throws(fn, { name: 'ValidationError', message });
  });
});
