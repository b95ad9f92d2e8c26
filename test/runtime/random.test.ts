import * as assert from 'assert';
import * as eddy from '../../lib';
import { acquireWorkspace, clearWorkspaces, idleWorkspaceBytes, releaseWorkspace } from '../../lib/layers/workspace';

describe('Generator', () => {
  it('is reproducible for a seed and distinct across seeds, including ones that differ only above 32 bits', () => {
    const draw = (seed: number): number[] => {
      const g = new eddy.Generator(seed);
      return Array.from({ length: 5 }, () => g.next());
    };
    assert.deepStrictEqual(draw(42), draw(42));
    const streams = [0, 1, 2, 2 ** 32, 2 ** 32 + 1, 2 ** 33, 2 ** 52].map((s) => draw(s).join());
    assert.strictEqual(new Set(streams).size, streams.length);
  });

  it('draws uniform values in [0, 1) with the right mean, and normals with the right moments', () => {
    const g = new eddy.Generator(7);
    const u = g.uniform(new Float32Array(100000), 0, 1);
    const mean = u.reduce((a, b) => a + b, 0) / u.length;
    assert.ok(u.every((v) => v >= 0 && v < 1) && Math.abs(mean - 0.5) < 0.01);
    const n = g.normal(new Float32Array(100001), 2, 3);
    const m = n.reduce((a, b) => a + b, 0) / n.length;
    const sd = Math.sqrt(n.reduce((a, b) => a + (b - m) ** 2, 0) / n.length);
    assert.ok(Math.abs(m - 2) < 0.05 && Math.abs(sd - 3) < 0.05, `mean ${m}, sd ${sd}`);
  });

  it('saves and restores its state, and refuses an all-zero state', () => {
    const g = new eddy.Generator(3);
    g.next();
    const state = g.getState();
    const a = [g.next(), g.next()];
    g.setState(state);
    assert.deepStrictEqual([g.next(), g.next()], a);
    assert.throws(() => g.setState([0, 0, 0, 0]), { name: 'ValidationError', message: 'Expected four unsigned 32-bit integers, not all zero, for state but received [0,0,0,0]' });
  });
});

describe('workspace recycling', () => {
  afterEach(clearWorkspaces);

  it('hands a released workspace to the next request of the same size', () => {
    const ws = acquireWorkspace(1000);
    releaseWorkspace(ws);
    assert.strictEqual(acquireWorkspace(1000), ws);
    assert.notStrictEqual(acquireWorkspace(1000), ws);
  });

  it('keeps a bounded number of idle workspaces, dropping the least recently freed', () => {
    const sizes = Array.from({ length: 10 }, (_, i) => 100 + i);
    const all = sizes.map((n) => acquireWorkspace(n));
    all.forEach(releaseWorkspace);
    assert.strictEqual(idleWorkspaceBytes(), sizes.slice(-4).reduce((a, n) => a + 4 * n, 0));
    assert.notStrictEqual(acquireWorkspace(100), all[0], 'the oldest was dropped');
    assert.strictEqual(acquireWorkspace(109), all[9]);
  });

  it('permutation: every index once, the Fisher–Yates order of its draws, and shuffle in place', () => {
    const p = new eddy.Generator(11).permutation(50);
    assert.deepStrictEqual(Array.from(p).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
    assert.notDeepStrictEqual(Array.from(p), Array.from({ length: 50 }, (_, i) => i));
    // The same draws by hand: item i swaps with floor(u · (i + 1)).
    const g = new eddy.Generator(11);
    const expected = Array.from({ length: 50 }, (_, i) => i);
    for (let i = 49; i > 0; i--) {
      const j = Math.floor(g.next() * (i + 1));
      [expected[i], expected[j]] = [expected[j], expected[i]];
    }
    assert.deepStrictEqual(Array.from(p), expected);
    const items = ['a', 'b', 'c', 'd'];
    assert.strictEqual(new eddy.Generator(2).shuffle(items), items);
    assert.deepStrictEqual([...items].sort(), ['a', 'b', 'c', 'd']);
    assert.deepStrictEqual(Array.from(new eddy.Generator(5).permutation(0)), []);
    assert.deepStrictEqual(Array.from(new eddy.Generator(5).permutation(1)), [0]);
  });
});
