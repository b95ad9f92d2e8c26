import * as assert from 'assert';
import * as eddy from '../../lib';
import { EddyError, NestedArray, Tensor } from '../../lib';
import { gradcheck, randomInput } from '../gradcheck';
import { rng } from '../helpers';

const leaf = (values: NestedArray[], shape?: number[]): Tensor => eddy.tensor(values, shape, { requiresGrad: true });
/** x.grad as arrays (a function, so TypeScript does not narrow x.grad across calls). */
const gradOf = (x: Tensor): NestedArray | undefined => x.grad?.toArray();

describe('backward', () => {
  it('accumulates into grad across calls until zeroGrad()', () => {
    const x = leaf([1, 2, 3]);
    eddy.mul(x, x).sum().backward();
    const first = x.grad as Tensor;
    assert.deepStrictEqual(first.toArray(), [2, 4, 6]);
    eddy.mul(x, 3).sum().backward();
    assert.deepStrictEqual(x.grad?.toArray(), [5, 7, 9]);
    // The earlier gradient is a separate tensor: accumulation never mutates it.
    assert.deepStrictEqual(first.toArray(), [2, 4, 6]);
    x.zeroGrad();
    assert.strictEqual(x.grad, null);
    eddy.sum(x).backward();
    assert.deepStrictEqual(gradOf(x), [1, 1, 1]);
  });

  it('accumulates large gradients (a native pass) into views and copies exactly as element by element', () => {
    // 5000 elements take the native pass; the leaf is a view at an offset into a larger buffer.
    const n = 5000;
    const base = new Float32Array(n + 3);
    for (let i = 0; i < base.length; i++) base[i] = Math.fround(Math.sin(i));
    const x = new Tensor(base, [n], [1], 3).requiresGrad_();
    const c = eddy.tensor(Float32Array.from({ length: n }, (_, i) => Math.fround(Math.cos(i))));
    eddy.mul(x, c).sum().backward();
    eddy.mul(x, c).sum().backward();
    const expected = Array.from({ length: n }, (_, i) => Math.fround(Math.fround(Math.cos(i)) + Math.fround(Math.cos(i))));
    assert.deepStrictEqual(Array.from(x.grad?.toFloat32Array() ?? []), expected);
    // Two uses of one tensor: the two gradients meet in GradientSums, a copy plus the other.
    const y = leaf([0]);
    const z = eddy.mul(x, c);
    eddy.add(eddy.mul(z, 2).sum(), eddy.mul(z, 3).sum()).add(y).backward();
    const fiveC = (i: number): number => Math.fround(5 * Math.fround(Math.cos(i)));
    assert.deepStrictEqual(Array.from(x.grad?.toFloat32Array() ?? []), expected.map((v, i) => Math.fround(v + fiveC(i))));
  });

  it('hands a backward\'s fresh gradients to the leaves without copying them, and copies all others', async () => {
    const x = leaf([1, 2, 3]);
    const w = leaf([4, 5, 6]);
    const made: Tensor[] = [];
    const op = (fresh: boolean): Tensor => {
      const y = eddy.tensor([0]);
      eddy.record('dot', [x, w], [y], ([g]) => {
        const s = (g as Tensor).item();
        const out = [eddy.tensor(w.toFloat32Array().map((v) => v * s)), eddy.tensor(x.toFloat32Array().map((v) => v * s))];
        made.push(...out);
        return out;
      }, { freshGradients: fresh });
      return y;
    };
    op(true).backward();
    assert.strictEqual(x.grad, made[0]);
    assert.strictEqual(w.grad, made[1]);
    assert.deepStrictEqual(gradOf(x), [4, 5, 6]);
    // A second backward adds into a new tensor; the first gradient is left as it was.
    const first = x.grad as Tensor;
    op(false).backward();
    assert.notStrictEqual(x.grad, made[2]);
    assert.deepStrictEqual(gradOf(x), [8, 10, 12]);
    assert.deepStrictEqual(first.toArray(), [4, 5, 6]);
    assert.deepStrictEqual(made[2].toArray(), [4, 5, 6]);
    // Without the promise the gradient is copied: the backward's tensor stays its own.
    x.zeroGrad();
    op(false).backward();
    assert.notStrictEqual(x.grad, made[4]);
    assert.deepStrictEqual(gradOf(x), [4, 5, 6]);
    // With a listener, an earlier grad is added into a copy: the listener's tensor keeps this step's gradient.
    const heard = new Map<Tensor, Tensor>();
    await eddy.backwardAsync([op(true)], undefined, { onGradReady: (t, g) => heard.set(t, g) });
    assert.strictEqual(heard.get(x), made[6]);
    assert.deepStrictEqual(made[6].toArray(), [4, 5, 6]);
    assert.deepStrictEqual(gradOf(x), [8, 10, 12]);
  });

  it('takes several roots with their upstream gradients, like torch.autograd.backward', () => {
    const x = leaf([1, 2]);
    const w = leaf([[1, 2], [3, 4]]);
    const y1 = eddy.matmul(x.reshape([1, 2]), w); // [1, 2]
    const y2 = eddy.mul(x, x); // [2]
    const s = eddy.sum(eddy.tanh(x)); // [] with an implicit gradient of 1
    eddy.backward([y1, y2, s, w], [eddy.tensor([[1, -1]]), eddy.tensor([0.5, 2]), null, eddy.tensor([[10, 0], [0, 10]])]);
    const sech2 = [1, 2].map((v) => 1 - Math.tanh(v) ** 2);
    // d/dx: w·[1, -1]ᵀ + [0.5, 2]·2x + sech²(x)
    const expected = [1 - 2 + 0.5 * 2 + sech2[0], 3 - 4 + 2 * 4 + sech2[1]];
    x.grad?.toFloat32Array().forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `x.grad[${i}] = ${v}, expected ${expected[i]}`));
    // w is a root (a leaf: its gradient goes straight to grad) and an input of y1.
    assert.deepStrictEqual(w.grad?.toArray(), [[11, -1], [2, 8]]);
  });

  it('sums the gradients of a tensor used twice (diamond) and runs each node once', () => {
    const x = leaf([0.5, -1]);
    let calls = 0;
    // a = 2x through a hand-written op that counts its backward calls.
    const a = eddy.tensor(x.toFloat32Array().map((v) => 2 * v), [2]);
    eddy.record('double', [x], [a], ([g]) => {
      calls++;
      return [eddy.mul(g as Tensor, 2)];
    });
    // d = tanh(a) * a + a: a reaches d along three paths.
    const d = eddy.add(eddy.mul(eddy.tanh(a), a), a);
    d.sum().backward();
    assert.strictEqual(calls, 1);
    const expected = [1, -2].map((v) => 2 * (1 - Math.tanh(v) ** 2) * v + 2 * Math.tanh(v) + 2);
    x.grad?.toFloat32Array().forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-5, `x.grad[${i}] = ${v}, expected ${expected[i]}`));
    const random = rng(81);
    const worst = Math.max(...gradcheck((t) => eddy.mul(eddy.add(eddy.sigmoid(t), t), eddy.square(t)), [randomInput([3, 3], random)]));
    console.log(`      diamond gradcheck: max scaled difference ${worst.toExponential(2)} (tolerance 2e-3)`);
  });

  it('runs a chain of 20000 ops without deep recursion', () => {
    const x = leaf([0.5]);
    let y = x;
    for (let i = 0; i < 10000; i++) y = eddy.mul(eddy.add(y, 1e-4), 0.9999);
    y.sum().backward();
    const expected = 0.9999 ** 10000;
    assert.ok(Math.abs((x.grad as Tensor).item() - expected) < 1e-4, `${x.grad?.item()} vs ${expected}`);
  });

  it('frees the graph: a second backward throws unless the first retained it', () => {
    const x = leaf([1, 2]);
    const y = eddy.mul(x, x).sum();
    y.backward();
    const err = (fn: () => void): void =>
      assert.throws(fn, (e: unknown) => {
        assert.ok(e instanceof EddyError);
        assert.strictEqual(e.code, 'ERR_EDDY_GRAPH_FREED');
        assert.strictEqual(
          e.message,
          'The graph through sum was already freed by an earlier backward(); pass { retainGraph: true } to that call to run backward through it again',
        );
        return true;
      });
    err(() => y.backward());
    assert.deepStrictEqual(x.grad?.toArray(), [2, 4], 'nothing accumulates when the graph is freed');
    // Freed: the node keeps its name but no closure (saved tensors) and no edges.
    assert.strictEqual(y.gradFn?.freed, true);
    assert.strictEqual(y.gradFn?.backwardFn, null);
    assert.strictEqual(y.gradFn?.edges.length, 0);

    const z = eddy.mul(x, x).sum();
    z.backward(null, { retainGraph: true });
    z.backward();
    assert.deepStrictEqual(x.grad?.toArray(), [6, 12]);
    err(() => z.backward());
  });

  it('hands out fresh gradients, never the caller\'s tensors or shared buffers', () => {
    const x = leaf([1, 2]);
    const g = eddy.tensor([3, 4]);
    x.backward(g);
    assert.notStrictEqual(x.grad, g);
    assert.notStrictEqual(x.grad?.data, g.data);
    g.data[0] = 100;
    assert.deepStrictEqual(x.grad?.toArray(), [3, 4]);
    // add passes its upstream gradient to both inputs unchanged: each must get its own copy.
    const a = leaf([1, 1]);
    const b = leaf([2, 2]);
    const upstream = eddy.tensor([5, 6]);
    eddy.add(a, b).backward(upstream);
    assert.notStrictEqual(a.grad?.data, b.grad?.data);
    assert.notStrictEqual(a.grad?.data, upstream.data);
    (a.grad as Tensor).data[0] = -1;
    assert.deepStrictEqual(b.grad?.toArray(), [5, 6]);
    assert.deepStrictEqual(upstream.toArray(), [5, 6]);
    // A transposed upstream gradient is read through its strides.
    const m = leaf([1, 2, 3, 4, 5, 6], [2, 3]);
    eddy.mul(m, 1).backward(eddy.tensor([1, 2, 3, 4, 5, 6], [3, 2]).T);
    assert.deepStrictEqual(m.grad?.toArray(), [[1, 3, 5], [2, 4, 6]]);
  });

  it('never lets a summed gradient shared by two inputs be mutated through one of them', () => {
    // z's gradient is a sum made by backward; add hands that same tensor to
    // both a and b, which then receive more gradient from their other uses.
    const x = leaf([1, 2]);
    const y = leaf([3, 4]);
    const a = x.mul(1);
    const b = y.mul(1);
    const z = a.add(b);
    eddy.backward([a.mul(5).sum(), b.mul(7).sum(), z.sum(), z.sum()]);
    assert.deepStrictEqual(gradOf(x), [7, 7]);
    assert.deepStrictEqual(gradOf(y), [9, 9]);
    // The same for leaves: two leaves must not end up with one gradient tensor.
    const p = leaf([1, 2]);
    const q = leaf([3, 4]);
    const r = p.add(q);
    eddy.backward([r.sum(), r.sum()]);
    assert.notStrictEqual(p.grad?.data, q.grad?.data);
  });

  it('rejects bad arguments with exact messages', () => {
    const x = leaf([1, 2, 3]);
    const y = eddy.mul(x, 2);
    const s = y.sum();
    const cases: Array<[() => unknown, string, string]> = [
      [() => eddy.backward(y as never), 'ValidationError', 'Expected an array of tensors for tensors but received an instance of Tensor'],
      [() => eddy.backward([s, 1 as never]), 'ValidationError', 'Expected Tensor for tensors[1] but received 1 of type number'],
      [
        () => eddy.backward([s, eddy.tensor([1, 2])]),
        'ValidationError',
        'Expected a tensor that requires grad for tensors[1] but received one that does not (create the tensors it is computed from with { requiresGrad: true })',
      ],
      [() => eddy.backward([s, y], [null]), 'ValidationError', 'Expected 2 gradients for gradTensors (one per tensor) but received an array of length 1'],
      [() => eddy.backward([s], null as never), 'ValidationError', 'Expected an array of tensors or nulls for gradTensors but received null'],
      [() => eddy.backward([s, y], [null, [1, 1, 1] as never]), 'ValidationError', 'Expected Tensor or null for gradTensors[1] but received an array of length 3'],
      [
        () => eddy.backward([s, y], [null, eddy.zeros([3, 1])]),
        'ShapeError',
        'Expected a gradient of shape [3] for gradTensors[1] but received shape [3, 1]',
      ],
      [
        () => eddy.backward([s, y]),
        'ShapeError',
        'Expected a gradient of shape [3] for gradTensors[1] but received undefined (only one-element tensors have an implicit gradient of 1)',
      ],
      [
        () => y.backward(),
        'ShapeError',
        'Expected a gradient of shape [3] for grad but received undefined (only one-element tensors have an implicit gradient of 1)',
      ],
      [() => y.backward(eddy.zeros([2])), 'ShapeError', 'Expected a gradient of shape [3] for grad but received shape [2]'],
      [
        () => eddy.tensor([1]).backward(),
        'ValidationError',
        'Expected a tensor that requires grad for backward() but received one that does not (create the tensors it is computed from with { requiresGrad: true })',
      ],
      [() => s.backward(null, { retainGraph: 'yes' as never }), 'ValidationError', 'Expected boolean for opts.retainGraph but received "yes" of type string'],
      [() => eddy.backward([s], undefined, 5 as never), 'ValidationError', 'Expected an options object for opts but received 5 of type number'],
    ];
    for (const [fn, name, message] of cases) assert.throws(fn, { name, message });
    // None of these ran anything: the graph is intact.
    s.backward();
    assert.deepStrictEqual(x.grad?.toArray(), [2, 2, 2]);
  });
});
