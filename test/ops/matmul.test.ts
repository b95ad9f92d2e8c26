import * as assert from 'assert';
import * as eddy from '../../lib';
import { ShapeError, Tensor, ValidationError } from '../../lib';
import { gradcheck } from '../gradcheck';
import { assertClose, randomArray, rng } from '../helpers';

/** Reference product in float64 over logical indices, whatever the layout. */
function naiveMatmul(a: Tensor, b: Tensor): Float64Array {
  const [m, k] = a.shape;
  const n = b.shape[1];
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a.get(i, p) * b.get(p, j);
      out[i * n + j] = s;
    }
  }
  return out;
}

type Layout = 'contiguous' | 'transposed' | 'sliced' | 'strided';

/** A [rows, cols] tensor of random values laid out in one of several ways. */
function operand(rows: number, cols: number, layout: Layout, random: () => number): Tensor {
  switch (layout) {
    case 'contiguous':
      return eddy.tensor(randomArray(rows * cols, random), [rows, cols]);
    case 'transposed': // column-major storage
      return eddy.tensor(randomArray(rows * cols, random), [cols, rows]).T;
    case 'sliced': // a window of a wider matrix: row stride > cols, non-zero offset
      return eddy.tensor(randomArray((rows + 1) * (cols + 3), random), [rows + 1, cols + 3]).slice(0, 1).slice(1, 2, 2 + cols);
    case 'strided': // neither stride is 1: BLAS cannot take it, so it is copied
      return eddy.tensor(randomArray(rows * cols * 3, random), [rows, cols, 3]).select(2, 1);
  }
}

const LAYOUTS: Layout[] = ['contiguous', 'transposed', 'sliced', 'strided'];

describe('matmul', () => {
  it('matches a naive loop on random shapes and every layout', () => {
    const random = rng(1234);
    let worst = 0;
    let cases = 0;
    for (let trial = 0; trial < 40; trial++) {
      const m = 1 + Math.floor(random() * 40);
      const n = 1 + Math.floor(random() * 40);
      const k = 1 + Math.floor(random() * 70);
      for (const la of LAYOUTS) {
        for (const lb of LAYOUTS) {
          const a = operand(m, k, la, random);
          const b = operand(k, n, lb, random);
          const c = eddy.matmul(a, b);
          assert.deepStrictEqual(c.shape, [m, n]);
          worst = Math.max(worst, assertClose(c.data, naiveMatmul(a, b), 1e-5, `${la} × ${lb} [${m},${k}]×[${k},${n}]`));
          cases++;
        }
      }
    }
    console.log(`      ${cases} products, max scaled difference ${worst.toExponential(2)} (tolerance 1e-5)`);
  });

  it('handles edge sizes 0 and 1', () => {
    const random = rng(7);
    for (const m of [0, 1, 3]) {
      for (const k of [0, 1, 3]) {
        for (const n of [0, 1, 3]) {
          for (const la of LAYOUTS) {
            const a = operand(m, k, la, random);
            const b = operand(k, n, 'transposed', random);
            const c = eddy.matmul(a, b);
            assert.deepStrictEqual(c.shape, [m, n]);
            assertClose(c.data, naiveMatmul(a, b), 1e-6, `[${m},${k}]×[${k},${n}] ${la}`);
          }
        }
      }
    }
  });

  it('native gemm with 1 to 4 rows (the small-shape kernel): alpha, beta, both layouts of B, every tail', () => {
    const { binding } = require('../../lib/native') as typeof import('../../lib/native');
    const random = rng(77);
    let worst = 0;
    for (let m = 1; m <= 5; m++) {
      for (const [n, k] of [[1, 1], [7, 9], [8, 8], [33, 17], [64, 256], [250, 63]]) {
        for (const transB of [false, true]) {
          const lda = k + 2, ldb = (transB ? k : n) + 3, ldc = n + 1;
          const a = randomArray(m * lda, random), b = randomArray((transB ? n : k) * ldb, random), c = randomArray(m * ldc, random);
          const want = Float64Array.from(c);
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              let sum = 0;
              for (let p = 0; p < k; p++) sum += a[i * lda + p] * (transB ? b[j * ldb + p] : b[p * ldb + j]);
              want[i * ldc + j] = 0.5 * sum + 1 * c[i * ldc + j];
            }
          }
          binding.gemm(false, transB, m, n, k, 0.5, a, 0, lda, b, 0, ldb, 1, c, 0, ldc);
          worst = Math.max(worst, assertClose(c, want, 1e-5, `m=${m} n=${n} k=${k} transB=${transB}`));
        }
      }
    }
    console.log(`      max scaled difference ${worst.toExponential(2)} (tolerance 1e-5)`);
  });

  it('does not modify its inputs', () => {
    const a = eddy.tensor([[1, 2], [3, 4]]);
    const before = Array.from(a.data);
    eddy.matmul(a, a.T);
    assert.deepStrictEqual(Array.from(a.data), before);
  });

  it('rejects mismatched shapes and non-tensors with exact messages', () => {
    const a = eddy.tensor(new Float32Array(6), [2, 3]);
    assert.throws(() => eddy.matmul(a, a), {
      name: 'ShapeError',
      code: 'ERR_EDDY_SHAPE',
      message: 'Expected b of shape [3, n] for matmul with a of shape [2, 3] but received [2, 3]',
    });
    assert.throws(() => eddy.matmul(eddy.tensor([1, 2, 3]), a), (err: unknown) => {
      assert.ok(err instanceof ShapeError);
      assert.strictEqual(err.message, 'Expected a 2-D tensor for a in matmul but received shape [3]');
      return true;
    });
    assert.throws(() => eddy.matmul(a, [[1], [2], [3]] as never), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.strictEqual(err.message, 'Expected Tensor for b but received an array of length 3');
      return true;
    });
  });

  describe('matmulAsync', () => {
    it('gives the same result as matmul', async () => {
      const random = rng(99);
      for (const la of LAYOUTS) {
        const a = operand(17, 33, la, random);
        const b = operand(33, 9, 'sliced', random);
        const c = await eddy.matmulAsync(a, b);
        assert.deepStrictEqual(Array.from(c.data), Array.from(eddy.matmul(a, b).data));
      }
    });

    it('rejects (not throws) on bad input', async () => {
      const a = eddy.tensor(new Float32Array(6), [2, 3]);
      const p = eddy.matmulAsync(a, a);
      assert.ok(p instanceof Promise);
      await assert.rejects(p, { name: 'ShapeError' });
    });

    it('runs off the main thread: timers fire while a large product is computed', async () => {
      const n = 1536;
      const random = rng(5);
      const a = eddy.tensor(randomArray(n * n, random), [n, n]);
      const b = eddy.tensor(randomArray(n * n, random), [n, n]);
      let ticks = 0;
      let settled = false;
      // A chain of zero-delay timers: each one can only fire while the main
      // thread is idle. Had the product run on the main thread, none would
      // fire before the Promise resolved.
      const tick = (): void => {
        if (settled) return;
        ticks++;
        setTimeout(tick, 0);
      };
      setTimeout(tick, 0);
      const c = await eddy.matmulAsync(a, b);
      settled = true;
      assert.ok(ticks > 0, 'no timer fired while matmulAsync ran');
      // Spot-check a few entries against a float64 dot product.
      for (const [i, j] of [[0, 0], [n - 1, 3], [700, n - 1]]) {
        let s = 0;
        for (let p = 0; p < n; p++) s += a.data[i * n + p] * b.data[p * n + j];
        assert.ok(Math.abs(c.get(i, j) - s) < 1e-3, `c[${i},${j}] = ${c.get(i, j)}, expected ${s}`);
      }
    });
  });

  describe('gradient', () => {
    it('matches finite differences for every pair of layouts', () => {
      const random = rng(51);
      let worst = 0;
      for (const la of LAYOUTS) {
        for (const lb of LAYOUTS) {
          worst = Math.max(worst, ...gradcheck(eddy.matmul, [operand(3, 5, la, random), operand(5, 4, lb, random)]));
        }
      }
      worst = Math.max(worst, ...gradcheck((a, b) => a.matmul(b), [operand(1, 7, 'sliced', random), operand(7, 1, 'transposed', random)]));
      console.log(`      17 cases, max scaled difference ${worst.toExponential(2)} (tolerance 2e-3)`);
    });

    it('computes only the gradients needed and records nothing without grad', () => {
      const random = rng(52);
      const a = operand(2, 3, 'contiguous', random).requiresGrad_();
      const b = operand(3, 2, 'transposed', random);
      const c = eddy.matmul(a, b);
      assert.strictEqual(c.gradFn?.name, 'matmul');
      c.sum().backward();
      assert.deepStrictEqual(a.grad?.shape, [2, 3]);
      assert.strictEqual(b.grad, null);
      const d = eddy.matmul(operand(2, 3, 'contiguous', random), b);
      assert.strictEqual(d.requiresGrad, false);
      assert.strictEqual(d.gradFn, null);
    });

    it('matmulAsync records like matmul', async () => {
      const random = rng(53);
      const a = operand(4, 3, 'sliced', random).requiresGrad_();
      const b = operand(3, 2, 'contiguous', random).requiresGrad_();
      (await eddy.matmulAsync(a, b)).sum().backward();
      const [ga, gb] = [a.grad, b.grad];
      a.zeroGrad();
      b.zeroGrad();
      eddy.matmul(a, b).sum().backward();
      assert.deepStrictEqual(ga?.toArray(), a.grad?.toArray());
      assert.deepStrictEqual(gb?.toArray(), b.grad?.toArray());
    });
  });
});
