import * as assert from 'assert';
import * as eddy from '../../lib';
import { range } from './helpers';

const { fromArray } = eddy.data;

const sorted = (a: number[]): number[] => a.slice().sort((x, y) => x - y);

describe('data: shuffle', () => {
  it('gives a permutation; the same seed gives the same order at the same iteration', async () => {
    const a = fromArray(range(50)).shuffle(50, { seed: 7 });
    const b = fromArray(range(50)).shuffle(50, { seed: 7 });
    const a1 = await a.toArray();
    assert.deepStrictEqual(sorted(a1), range(50));
    assert.notDeepStrictEqual(a1, range(50));
    assert.deepStrictEqual(await b.toArray(), a1);
    const a2 = await a.toArray();
    assert.notDeepStrictEqual(a2, a1, 'a new order at the next iteration');
    assert.deepStrictEqual(await b.toArray(), a2, 'and the same second order for the same seed');
    assert.notDeepStrictEqual(await fromArray(range(50)).shuffle(50, { seed: 8 }).toArray(), a1);
  });

  it('keeps one order with reshuffleEachIteration: false', async () => {
    const ds = fromArray(range(20)).shuffle(20, { seed: 3, reshuffleEachIteration: false });
    const first = await ds.toArray();
    assert.deepStrictEqual(await ds.toArray(), first);
    const unseeded = fromArray(range(20)).shuffle(20, { reshuffleEachIteration: false });
    assert.deepStrictEqual(await unseeded.toArray(), await unseeded.toArray());
  });

  it('draws from the global generator without a seed (eddy.manualSeed makes it reproducible)', async () => {
    eddy.manualSeed(11);
    const ds = fromArray(range(30)).shuffle(30);
    const run1 = [await ds.toArray(), await ds.toArray()];
    eddy.manualSeed(11);
    const run2 = [await ds.toArray(), await ds.toArray()];
    assert.deepStrictEqual(run2, run1);
    assert.notDeepStrictEqual(run1[0], run1[1]);
  });

  it('is a buffered shuffle: output k comes from the first k + bufferSize + 1 inputs; bufferSize 1 keeps the order', async () => {
    for (const seed of [1, 2, 3]) {
      const out = await fromArray(range(200)).shuffle(10, { seed }).toArray();
      assert.deepStrictEqual(sorted(out), range(200));
      out.forEach((v, k) => assert.ok(v <= k + 10, `output ${k} is input ${v}`));
    }
    assert.deepStrictEqual(await fromArray(range(10)).shuffle(1, { seed: 1 }).toArray(), range(10));
  });

  it('places an element uniformly with a full buffer (2000 seeds, 5 positions)', async () => {
    const counts = [0, 0, 0, 0, 0];
    for (let seed = 0; seed < 2000; seed++) {
      const out = await fromArray(range(5)).shuffle(5, { seed }).toArray();
      counts[out.indexOf(0)]++;
    }
    // 400 expected per position; 5 standard deviations is about ±90.
    for (const c of counts) assert.ok(Math.abs(c - 400) < 90, `position counts ${counts}`);
  });

  it('reshuffles every pass of repeat', async () => {
    const out = await fromArray(range(10)).shuffle(10, { seed: 5 }).repeat(2).toArray();
    assert.deepStrictEqual(sorted(out.slice(0, 10)), range(10));
    assert.deepStrictEqual(sorted(out.slice(10)), range(10));
    assert.notDeepStrictEqual(out.slice(0, 10), out.slice(10));
  });
});

describe('data: split', () => {
  it('assigns each element by its position, the same at every iteration and for the same seed', async () => {
    const ds = fromArray(range(10000));
    const { train, validation } = ds.split({ validation: 0.2, seed: 42 });
    const t = await train.toArray();
    const v = await validation.toArray();
    assert.deepStrictEqual(sorted([...t, ...v]), range(10000), 'the parts are disjoint and cover everything');
    assert.ok(Math.abs(v.length / 10000 - 0.2) < 0.02, `validation fraction ${v.length / 10000}`);
    assert.deepStrictEqual(await validation.toArray(), v, 'the same split at the next iteration');
    assert.deepStrictEqual(await ds.split({ validation: 0.2, seed: 42 }).validation.toArray(), v);
    assert.notDeepStrictEqual(await ds.split({ validation: 0.2, seed: 43 }).validation.toArray(), v);
    assert.deepStrictEqual(t, sorted(t), 'order is kept');
  });

  it('defaults to 10 % and a seed from the global generator', async () => {
    eddy.manualSeed(1);
    const a = await fromArray(range(5000)).split().validation.toArray();
    eddy.manualSeed(1);
    const b = await fromArray(range(5000)).split().validation.toArray();
    assert.deepStrictEqual(a, b);
    assert.ok(Math.abs(a.length / 5000 - 0.1) < 0.02, `validation fraction ${a.length / 5000}`);
    assert.deepStrictEqual(await fromArray(range(100)).split({ validation: 0 }).validation.toArray(), []);
    assert.deepStrictEqual(await fromArray(range(100)).split({ validation: 1 }).train.toArray(), []);
  });

  it('refuses a dataset that reshuffles at every iteration, but not one shuffled in a fixed order', () => {
    assert.throws(() => fromArray(range(10)).shuffle(10, { seed: 1 }).map((x) => x).split({ seed: 1 }), {
      name: 'ValidationError',
      message:
        'Expected split() on a dataset whose order is the same at every iteration but received one that reshuffles; split first, then shuffle the training part (or shuffle with reshuffleEachIteration: false)',
    });
    fromArray(range(10)).shuffle(10, { seed: 1, reshuffleEachIteration: false }).split({ seed: 1 });
  });
});
