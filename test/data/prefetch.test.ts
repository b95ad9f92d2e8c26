import * as assert from 'assert';
import * as eddy from '../../lib';
import { range, rejection } from './helpers';

const { fromGenerator, fromArray } = eddy.data;

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('data: prefetch', () => {
  it('keeps the order and the elements', async () => {
    assert.deepStrictEqual(await fromArray(range(25)).map(async (x) => x * 2).prefetch(4).toArray(), range(25).map((x) => x * 2));
    assert.deepStrictEqual(await fromArray(range(3)).prefetch(10).toArray(), [0, 1, 2]);
    assert.deepStrictEqual(await fromArray([]).prefetch(2).toArray(), []);
  });

  it('prepares up to n elements ahead while the consumer works, and no more', async () => {
    let produced = 0;
    let active = 0;
    let maxActive = 0;
    const ds = fromGenerator(async function* () {
      for (let i = 0; i < 20; i++) {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((resolve) => setImmediate(resolve)); // asynchronous work, e.g. a read
        active--;
        produced++;
        yield i;
      }
    }).prefetch(3);
    let consumed = 0;
    for await (const x of ds) {
      assert.strictEqual(x, consumed);
      consumed++;
      assert.ok(produced <= consumed + 3, `produced ${produced} after consuming ${consumed}`);
      await settle(); // the consumer is busy (a training step): the source works ahead meanwhile
      assert.strictEqual(produced, Math.min(20, consumed + 3), `after consuming ${consumed}`);
    }
    assert.strictEqual(maxActive, 1, 'the source itself runs one element at a time');
  });

  it('without prefetch, nothing is prepared ahead', async () => {
    let produced = 0;
    const ds = fromGenerator(function* () {
      for (let i = 0; i < 5; i++) {
        produced++;
        yield i;
      }
    });
    let consumed = 0;
    for await (const _ of ds) {
      consumed++;
      await settle();
      assert.strictEqual(produced, consumed);
    }
  });

  it('reports a source error in its turn, after the elements before it', async () => {
    const got: number[] = [];
    const failing = fromGenerator(async function* () {
      yield 0;
      yield 1;
      throw new Error('read failed');
    }).prefetch(4);
    const err = await rejection((async () => { for await (const x of failing) got.push(x); })());
    assert.deepStrictEqual([err.message, got], ['read failed', [0, 1]]);
  });

  it('closes the source on an early break', async () => {
    let closed = 0;
    let produced = 0;
    const ds = fromGenerator(async function* () {
      try {
        for (let i = 0; i < 1000; i++) {
          produced++;
          yield i;
        }
      } finally {
        closed++;
      }
    }).prefetch(5);
    for await (const x of ds) if (x === 2) break;
    assert.strictEqual(closed, 1);
    assert.ok(produced <= 3 + 5, `produced ${produced}`);
  });
});
