import * as assert from 'assert';
import * as eddy from '../../lib';
import { replicaRows } from '../../lib/model/parallel';
import { rejection, tempDir } from './helpers';

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

  describe('line-based files, by byte ranges', () => {
    const tmp = tempDir();
    after(() => tmp.remove());

    // Lines of every length from empty to longer than a whole part, multi-byte characters, CRLF, and no final break.
    const lines = Array.from({ length: 40 }, (_, i) => (i % 7 === 3 ? '' : `${i}:` + 'é€𝄞x'.repeat((i * 5) % 23) + (i === 17 ? 'y'.repeat(300) : '')));
    const text = '\ufeff' + lines.map((l, i) => l + (i % 5 === 1 ? '\r\n' : '\n')).join('').replace(/\n$/, '');

    it('fromText: the parts partition the lines in order, for every world size and read size', async () => {
      const file = tmp.file('lines.txt', text);
      assert.deepStrictEqual(await eddy.data.fromText(file).toArray(), lines);
      // More parts than lines (300) leaves most parts empty; a read size of 1 byte makes every line span reads.
      for (const worldSize of [1, 2, 3, 5, 8, 64, 300]) {
        for (const readSize of worldSize > 8 ? [7, 65536] : [1, 7, 65536]) {
          const parts = await Promise.all(Array.from({ length: worldSize }, (_, r) => eddy.data.fromText(file, { readSize }).shard(r, worldSize).toArray()));
          assert.deepStrictEqual(parts.flat(), lines, `worldSize ${worldSize}, readSize ${readSize}`);
        }
      }
    });

    it('fromJsonl: the parts partition the values, and each part is a contiguous block', async () => {
      const values = Array.from({ length: 101 }, (_, i) => ({ i, s: 'ü'.repeat(i % 13) }));
      const file = tmp.file('values.jsonl', values.map((v) => JSON.stringify(v)).join('\n') + '\n\n');
      for (const worldSize of [1, 2, 3, 7]) {
        const parts = await Promise.all(Array.from({ length: worldSize }, (_, r) => eddy.data.fromJsonl<{ i: number }>(file).shard(r, worldSize).toArray()));
        assert.deepStrictEqual(parts.flat(), values, `worldSize ${worldSize}`);
        if (worldSize > 1) assert.ok(parts.every((p) => p.length > 0 && p.length < values.length), `every part non-empty and partial: ${parts.map((p) => p.length)}`);
      }
    });

    it('reads only its own bytes: an invalid byte in the last line does not reach the first part', async () => {
      const good = Array.from({ length: 50 }, (_, i) => `line ${i}`);
      const text = good.join('\n') + '\n';
      const file = tmp.file('half-bad.txt', Buffer.concat([Buffer.from(text + text), Buffer.from([0x66, 0xff, 0x0a])]));
      const first = await eddy.data.fromText(file).shard(0, 2).toArray();
      assert.ok(first.length >= 50, `the first part holds the first copy: ${first.length} lines`);
      assert.deepStrictEqual(first, [...good, ...good].slice(0, first.length));
      const err = await rejection(eddy.data.fromText(file).shard(1, 2).toArray());
      assert.ok(err instanceof eddy.data.ParseError, err.message);
      assert.strictEqual(err.line, 101, err.message);
      assert.strictEqual(err.column, 2, err.message);
    });

    it('names the line of a format error in the whole file, not in the part', async () => {
      const rows = Array.from({ length: 30 }, (_, i) => (i === 24 ? '{"broken": ' : JSON.stringify({ i })));
      const file = tmp.file('broken.jsonl', rows.join('\n') + '\n');
      const outcomes = await Promise.all([0, 1, 2].map((r) => eddy.data.fromJsonl(file).shard(r, 3).toArray().then(() => null, (e: Error) => e)));
      const errors = outcomes.filter((e): e is Error => e !== null);
      assert.strictEqual(errors.length, 1, 'one part holds the broken line');
      assert.ok(outcomes[0] === null, 'not the first part');
      assert.ok(errors[0] instanceof eddy.data.ParseError, errors[0].message);
      assert.match(errors[0].message, /at line 25, column 12/);
      const long = tmp.file('long.txt', 'a\n'.repeat(60) + 'x'.repeat(100) + '\n');
      const tooLong = await rejection(eddy.data.fromText(long, { maxLineLength: 10 }).shard(1, 2).toArray());
      assert.ok(tooLong instanceof eddy.data.ParseError && tooLong.line === 61, tooLong.message);
    });

    it('keeps the element-wise parts for CSV and for datasets derived from a file', async () => {
      const csv = tmp.file('rows.csv', 'a\n' + Array.from({ length: 9 }, (_, i) => `${i}`).join('\n') + '\n');
      const parts = await Promise.all([0, 1, 2].map((r) => eddy.data.fromCsv(csv, { columns: true }).shard(r, 3).toArray()));
      assert.deepStrictEqual(parts.map((p) => p.map((row) => Number((row as Record<string, unknown>).a))), [[0, 3, 6], [1, 4, 7], [2, 5, 8]]);
      const file = tmp.file('derived.txt', 'a\nb\nc\nd\n');
      assert.deepStrictEqual(await eddy.data.fromText(file).map((l) => l.toUpperCase()).shard(1, 2).toArray(), ['B', 'D']);
    });

    it('checks the shard option of a dataset source', () => {
      assert.throws(() => new eddy.data.Dataset(() => [1], { shard: 3 as never }), /Expected a function for shard but received 3 of type number/);
      assert.throws(() => new eddy.data.Dataset(() => [1], { part: 1 } as never), /part/);
      const custom = new eddy.data.Dataset(() => [1, 2, 3, 4], { shard: (index, worldSize) => (index === 0 && worldSize === 2 ? [1, 2] : [3, 4]) });
      return custom.shard(1, 2).toArray().then((v) => assert.deepStrictEqual(v, [3, 4]));
    });
  });
});
