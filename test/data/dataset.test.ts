import * as assert from 'assert';
import * as eddy from '../../lib';
import { range, rejection } from './helpers';

const { fromArray, fromGenerator, Dataset } = eddy.data;

/** A source that counts how often it was opened and how many items it produced. */
function counted(n: number): { ds: eddy.data.Dataset<number>; opened: number; produced: number; closed: number } {
  const c = {
    opened: 0,
    produced: 0,
    closed: 0,
    ds: undefined as unknown as eddy.data.Dataset<number>,
  };
  c.ds = fromGenerator(async function* () {
    c.opened++;
    try {
      for (let i = 0; i < n; i++) {
        c.produced++;
        yield i;
      }
    } finally {
      c.closed++;
    }
  });
  return c;
}

describe('data: Dataset operators', () => {
  it('maps (sync and async, with the index), filters, batches, in order', async () => {
    const ds = fromArray(range(10))
      .map((x, i) => x * 10 + i)
      .map(async (x) => x + 1)
      .filter((x) => x % 3 !== 0)
      .filter(async (_, i) => i < 5)
      .batch(2);
    assert.deepStrictEqual(await ds.toArray(), [[1, 23], [34, 56], [67]]);
    assert.deepStrictEqual(await fromArray(range(5)).batch(2, { dropRemainder: true }).toArray(), [[0, 1], [2, 3]]);
    assert.deepStrictEqual(await fromArray(range(4)).batch(4, { dropRemainder: true }).toArray(), [[0, 1, 2, 3]]);
    assert.deepStrictEqual(await fromArray([]).batch(3).toArray(), []);
  });

  it('takes and skips; take stops pulling and closes the source, take(0) never opens it', async () => {
    const c = counted(100);
    assert.deepStrictEqual(await c.ds.take(3).toArray(), [0, 1, 2]);
    assert.deepStrictEqual([c.opened, c.produced, c.closed], [1, 3, 1]);
    assert.deepStrictEqual(await c.ds.take(0).toArray(), []);
    assert.strictEqual(c.opened, 1);
    assert.deepStrictEqual(await fromArray(range(6)).skip(4).toArray(), [4, 5]);
    assert.deepStrictEqual(await fromArray(range(6)).skip(9).toArray(), []);
    assert.deepStrictEqual(await fromArray(range(6)).skip(1).take(2).toArray(), [1, 2]);
  });

  it('repeats, each pass a fresh iteration of the source; stops on an empty source', async () => {
    const c = counted(3);
    assert.deepStrictEqual(await c.ds.repeat(3).toArray(), [0, 1, 2, 0, 1, 2, 0, 1, 2]);
    assert.strictEqual(c.opened, 3);
    assert.deepStrictEqual(await c.ds.repeat().take(7).toArray(), [0, 1, 2, 0, 1, 2, 0]);
    assert.deepStrictEqual(await fromArray([]).repeat().toArray(), []);
  });

  it('iterates again from the start every time, re-creating the source', async () => {
    const c = counted(4);
    const ds = c.ds.map((x) => x * 2).batch(3);
    assert.deepStrictEqual(await ds.toArray(), [[0, 2, 4], [6]]);
    assert.deepStrictEqual(await ds.toArray(), [[0, 2, 4], [6]]);
    const seen: number[][] = [];
    for await (const b of ds) seen.push(b);
    assert.deepStrictEqual(seen, [[0, 2, 4], [6]]);
    assert.deepStrictEqual([c.opened, c.closed], [3, 3]);
  });

  it('reads sync iterables, async iterables and arrays from a generator factory', async () => {
    assert.deepStrictEqual(await fromGenerator(() => new Set([1, 2])).toArray(), [1, 2]);
    assert.deepStrictEqual(await new Dataset(() => [3, 4]).toArray(), [3, 4]);
    assert.deepStrictEqual(await fromGenerator(async function* () { yield 'a'; }).toArray(), ['a']);
    const bad = new Dataset(() => 5 as unknown as number[]);
    assert.strictEqual((await rejection(bad.toArray())).message, 'Expected the dataset source to return an iterable or async iterable but received 5 of type number');
  });

  it('passes errors from map, filter and the source to the consumer, closing the source', async () => {
    const c = counted(10);
    const boom = new Error('boom at 3');
    const err = await rejection(c.ds.map((x) => { if (x === 3) throw boom; return x; }).batch(2).toArray());
    assert.strictEqual(err, boom);
    assert.deepStrictEqual([c.opened, c.closed], [1, 1]);
    const asyncErr = await rejection(c.ds.filter(async (x) => { if (x === 5) throw boom; return true; }).prefetch(2).toArray());
    assert.strictEqual(asyncErr, boom);
    assert.strictEqual(c.closed, 2);
    const failing = fromGenerator(function* () {
      yield 1;
      throw new RangeError('source failed');
    });
    const got: number[] = [];
    const e = await rejection((async () => { for await (const x of failing.map((x) => x + 1)) got.push(x); })());
    assert.deepStrictEqual([e.name, e.message, got], ['RangeError', 'source failed', [2]]);
  });

  it('closes the source when the consumer breaks early', async () => {
    const c = counted(1000);
    for await (const x of c.ds.map((v) => v).batch(4)) if (x[0] >= 8) break;
    assert.deepStrictEqual([c.opened, c.produced, c.closed], [1, 12, 1]);
  });

  it('can be passed where an AsyncIterable is expected', async () => {
    const it: AsyncIterable<number> = fromArray([1, 2]);
    const out: number[] = [];
    for await (const x of it) out.push(x);
    assert.deepStrictEqual(out, [1, 2]);
  });

  it('checks its arguments with one message shape', () => {
    const ds = fromArray([1]);
    const cases: [() => unknown, string][] = [
      [() => ds.batch(0), 'Expected positive integer for size but received 0 of type number'],
      [() => ds.batch(2, { dropRemainder: 1 as unknown as boolean }), 'Expected boolean for dropRemainder but received 1 of type number'],
      [() => ds.map('x' as unknown as (x: number) => number), 'Expected a function for fn but received "x" of type string'],
      [() => ds.filter(null as unknown as (x: number) => boolean), 'Expected a function for predicate but received null'],
      [() => ds.take(-1), 'Expected non-negative integer for count but received -1 of type number'],
      [() => ds.skip(1.5), 'Expected non-negative integer for count but received 1.5 of type number'],
      [() => ds.repeat(0), 'Expected positive integer for count but received 0 of type number'],
      [() => ds.prefetch(0), 'Expected positive integer for count but received 0 of type number'],
      [() => ds.shuffle(0), 'Expected positive integer for bufferSize but received 0 of type number'],
      [() => ds.shuffle(4, { seed: -1 }), `Expected integer between 0 and ${Number.MAX_SAFE_INTEGER} for seed but received -1 of type number`],
      [() => ds.split({ validation: 1.5 }), 'Expected number between 0 and 1 for validation but received 1.5 of type number'],
      [() => fromArray('abc' as unknown as string[]), 'Expected an array for items but received "abc" of type string'],
    ];
    for (const [fn, message] of cases) assert.throws(fn, { name: 'ValidationError', message });
    assert.throws(() => fromGenerator([1, 2] as unknown as () => number[]), {
      name: 'ValidationError',
      message: 'Expected a function that returns an iterable for factory but received an array of length 2',
    });
  });
});
