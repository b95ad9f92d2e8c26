import * as assert from 'assert';
import * as eddy from '../../lib';
import { replicaRows } from '../../lib/model/parallel';

describe('data: shard', () => {
  it('splits a dataset into parts that partition it exactly, for every world size', async () => {
    const items = Array.from({ length: 23 }, (_, i) => i);
    for (const worldSize of [1, 2, 3, 4, 7, 30]) {
      const parts = await Promise.all(Array.from({ length: worldSize }, (_, r) => eddy.data.fromArray(items).shard(r, worldSize).toArray()));
      assert.deepStrictEqual(parts.flat().sort((a, b) => a - b), items, `worldSize ${worldSize}`);
      const sizes = parts.map((p) => p.length);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `near-equal parts for worldSize ${worldSize}: ${sizes}`);
    }
  });

  it('validates its arguments', () => {
    const ds = eddy.data.fromArray([1, 2, 3]);
    assert.throws(() => ds.shard(2, 2), /Expected integer between 0 and 1 for index but received 2 of type number/);
    assert.throws(() => ds.shard(0, 0), /Expected positive integer for worldSize but received 0 of type number/);
  });

  it('cuts every global batch of tensor data into contiguous replica parts that cover it', () => {
    for (const n of [0, 1, 5, 12, 13]) {
      for (const worldSize of [1, 2, 3, 5]) {
        const covered: number[] = [];
        for (let r = 0; r < worldSize; r++) {
          const [a, b] = replicaRows(n, r, worldSize);
          for (let i = a; i < b; i++) covered.push(i);
        }
        assert.deepStrictEqual(covered, Array.from({ length: n }, (_, i) => i), `n ${n}, worldSize ${worldSize}`);
      }
    }
  });
});
