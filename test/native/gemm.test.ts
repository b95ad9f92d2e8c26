/**
 * gemm() on Eddy's own kernels (native/gemm.h): where OpenBLAS's core runs
 * neither AVX2 nor AVX-512 kernels (a CPU newer than the library falls back
 * to Prescott) it runs matmul, Linear and attention on the packed GEMM. The
 * rule may or may not pick it on this machine, so the tests run children
 * with EDDY_GEMM=own on every instruction set the CPU has, and with
 * EDDY_GEMM=blas for the comparison.
 */
import * as assert from 'assert';
import * as path from 'path';
import * as eddy from '../../lib';
import { runNode as run } from '../helpers';
import { IsaName } from '../../lib/native';

const DIST = path.join(__dirname, '..', '..');

/**
 * Shapes that reach each branch of the own path: Aᵀ·B (the weight-gradient
 * kernel on AVX-512, a transposed copy elsewhere), Aᵀ·Bᵀ, A·Bᵀ and A·B;
 * rows enough to be dealt across threads (300) and few rows with many
 * columns (dealt by panels, 40 × 700); a B of several slabs (600 × 600);
 * partial panels and tiles everywhere; alpha and beta other than 1 and 0;
 * beta = 0 over a C full of NaN (ignored, as BLAS does) and alpha = 0 over
 * an A full of NaN (not read); single columns of Aᵀ·B (bias gradients).
 * Prints the kernel, whether 1, 2 and 3 threads gave the same bits, and
 * each product with its float64 reference's error bound.
 */
const SCRIPT = `
const eddy = require(${JSON.stringify(path.join(DIST, 'lib'))});
const { binding } = require(${JSON.stringify(path.join(DIST, 'lib', 'native'))});
const { randomArray, rng } = require(${JSON.stringify(path.join(DIST, 'test', 'helpers'))});
const cases = [
  { ta: true, tb: false, m: 70, n: 300, k: 165, alpha: 1, beta: 1 },
  { ta: true, tb: false, m: 300, n: 70, k: 33, alpha: 1, beta: 0 },
  { ta: true, tb: true, m: 45, n: 37, k: 29, alpha: 1, beta: 0 },
  { ta: false, tb: true, m: 300, n: 75, k: 256, alpha: 1, beta: 1 },
  { ta: false, tb: false, m: 40, n: 700, k: 130, alpha: 1, beta: 0 },
  { ta: false, tb: true, m: 70, n: 600, k: 600, alpha: 1, beta: 1 },
  { ta: false, tb: false, m: 9, n: 33, k: 17, alpha: 0.5, beta: -0.25 },
  { ta: false, tb: true, m: 21, n: 19, k: 64, alpha: 1, beta: 2 },
  { ta: false, tb: false, m: 300, n: 20, k: 8, alpha: 1, beta: 0, nanC: true },
  { ta: true, tb: false, m: 12, n: 10, k: 7, alpha: 0, beta: 0.5, nanA: true },
  { ta: true, tb: false, m: 75, n: 1, k: 3200, alpha: 1, beta: 0 },
  { ta: true, tb: false, m: 150, n: 1, k: 33, alpha: 1, beta: 1 },
];
const out = { kernel: eddy.runtimeInfo().kernels.gemm, isa: eddy.runtimeInfo().isa, results: [], mismatch: null };
cases.forEach((g, ci) => {
  const r = rng(10 + ci);
  const a = randomArray(g.m * g.k, r), b = randomArray(g.k * g.n, r), c0 = randomArray(g.m * g.n, r);
  if (g.nanA) a.fill(NaN);
  if (g.nanC) c0.fill(NaN);
  const lda = g.ta ? g.m : g.k, ldb = g.tb ? g.k : g.n;
  const A = (i, p) => (g.ta ? a[p * lda + i] : a[i * lda + p]);
  const B = (p, j) => (g.tb ? b[j * ldb + p] : b[p * ldb + j]);
  const runs = [1, 2, 3].map((threads) => {
    eddy.setNumThreads(threads);
    const c = Float32Array.from(c0);
    binding.gemm(g.ta, g.tb, g.m, g.n, g.k, g.alpha, a, 0, lda, b, 0, ldb, g.beta, c, 0, g.n);
    return c;
  });
  for (let t = 1; t < 3; t++) {
    if (!out.mismatch && runs[t].some((v, j) => !Object.is(v, runs[0][j]))) out.mismatch = 'case ' + ci + ' with ' + (t + 1) + ' threads';
  }
  // |C - C64| <= (k + 2)·u·(|alpha|·Σ|a·b| + |beta·c|) + u·|C64|, u = 2^-24, per element.
  let worst = 0, nonFinite = 0;
  for (let i = 0; i < g.m; i++) {
    for (let j = 0; j < g.n; j++) {
      let s = 0, abs = 0;
      if (g.alpha !== 0) for (let p = 0; p < g.k; p++) { s += A(i, p) * B(p, j); abs += Math.abs(A(i, p) * B(p, j)); }
      const old = g.beta === 0 ? 0 : c0[i * g.n + j];
      const ref = g.alpha * s + g.beta * old;
      const bound = (g.k + 2) * 2 ** -24 * (Math.abs(g.alpha) * abs + Math.abs(g.beta * old)) + 2 ** -24 * Math.abs(ref) + 1e-30;
      const got = runs[0][i * g.n + j];
      if (!Number.isFinite(got)) nonFinite++;
      else worst = Math.max(worst, Math.abs(got - ref) / bound);
    }
  }
  out.results.push({ case: ci, worst, nonFinite });
});
// A single column of Aᵀ·B (a Linear's bias gradient: the column kernel on
// AVX-512) against column 0 of the two-column product (the tiles), b's and
// C's values 2 apart: each element is the same chain, so the same bits, and
// C's other column is left alone.
{
  const r = rng(99), m = 75, k = 3200;
  const a = randomArray(k * m, r), b2 = randomArray(k * 2, r);
  const one = new Float32Array(m * 2).fill(7), two = new Float32Array(m * 2);
  binding.gemm(true, false, m, 1, k, 1, a, 0, m, b2, 0, 2, 0, one, 0, 2);
  binding.gemm(true, false, m, 2, k, 1, a, 0, m, b2, 0, 2, 0, two, 0, 2);
  out.column = one.every((v, i) => (i % 2 === 1 ? v === 7 : Object.is(v, two[i])));
}
process.stdout.write(JSON.stringify(out));
`;

type Report = { kernel: string; isa: string; results: { case: number; worst: number; nonFinite: number }[]; mismatch: string | null; column: boolean };

async function products(env: Record<string, string>): Promise<Report> {
  const { code, output } = await run(['-e', SCRIPT], env);
  assert.strictEqual(code, 0, output.slice(-4000));
  return JSON.parse(output);
}

describe('gemm on Eddy\'s own kernels (EDDY_GEMM=own)', () => {
  const info = eddy.runtimeInfo();
  const paths = (['avx512', 'avx2', 'generic'] as IsaName[]).filter((p) => info.isaAvailable.includes(p));

  it(`names what runs the GEMMs here: ${info.kernels.gemm} (OpenBLAS core ${info.kernels.blas})`, () => {
    const own = /^(avx512|avx2|generic) \S+ packed$/.test(info.kernels.gemm);
    assert.ok(own || info.kernels.gemm === 'OpenBLAS' || info.kernels.gemm === 'CBLAS' || info.kernels.gemm === 'Accelerate', info.kernels.gemm);
    const vectorCore = /^(Haswell|Zen|SkylakeX|Cooperlake|SapphireRapids)$/i.test(info.kernels.blas);
    if (process.env.EDDY_GEMM === undefined && info.kernels.gemm !== 'CBLAS' && info.kernels.gemm !== 'Accelerate') {
      assert.strictEqual(own, info.isa !== 'generic' && !vectorCore, `rule: ${info.isa} path, OpenBLAS core ${info.kernels.blas}`);
    }
  });

  for (const isa of ['avx512', 'avx2', 'generic'] as IsaName[]) {
    if (!paths.includes(isa)) {
      it.skip(`${isa}: skipped (this CPU lacks it)`);
      continue;
    }
    it(`${isa}: every case within its float64 bound, the same bits on 1, 2 and 3 threads`, async function () {
      this.timeout(60000);
      const own = await products({ EDDY_ISA: isa, EDDY_GEMM: 'own' });
      assert.strictEqual(own.isa, isa);
      assert.match(own.kernel, new RegExp(`^${isa} \\S+ packed$`));
      assert.strictEqual(own.mismatch, null, `${own.mismatch} differs from 1 thread`);
      assert.ok(own.column, 'a single column of Aᵀ·B has the bits of the same column in a wider product');
      for (const r of own.results) {
        assert.strictEqual(r.nonFinite, 0, `case ${r.case}: non-finite results`);
        assert.ok(r.worst <= 1, `case ${r.case}: error ${r.worst} times the bound`);
      }
      console.log(`      ${isa}: worst error ${Math.max(...own.results.map((r) => r.worst)).toFixed(3)} of the bound over ${own.results.length} cases`);
    });
  }

  it('OpenBLAS (EDDY_GEMM=blas) meets the same bounds, so the comparison is fair', async function () {
    this.timeout(60000);
    const blas = await products({ EDDY_GEMM: 'blas' });
    assert.strictEqual(blas.kernel, eddy.runtimeInfo().blas);
    for (const r of blas.results) {
      assert.strictEqual(r.nonFinite, 0, `case ${r.case}: non-finite results`);
      assert.ok(r.worst <= 1, `case ${r.case}: error ${r.worst} times the bound`);
    }
  });

  it('the matmul, Linear and attention tests pass with it on the widest path', async function () {
    this.timeout(600000);
    const files = ['ops/matmul.test.js', 'ops/bmm.test.js', 'layers/linear.test.js', 'layers/multi-head-attention.test.js', 'layers/transformer.test.js']
      .map((f) => path.join(__dirname, '..', f));
    const mocha = require.resolve('mocha/bin/mocha.js');
    const { code, output } = await run([mocha, '--no-config', '--timeout', '60000', '--reporter', 'dot', ...files], { EDDY_GEMM: 'own' });
    const summary = output.match(/(\d+) passing[^\n]*/);
    console.log(`      EDDY_GEMM=own: ${summary ? summary[0] : 'no summary'}`);
    assert.strictEqual(code, 0, `tests failed with the own kernels:\n${output.slice(-4000)}`);
  });
});
