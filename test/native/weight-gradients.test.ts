/**
 * The recurrent weight gradients' own AVX-512 kernel and the input gradient
 * on the packed GEMM (native/weight_grad.h). The rule runs the weight
 * gradients' kernel only on the AVX-512 path where OpenBLAS's core is not an
 * AVX-512 one, and the input gradient on the packed GEMM wherever the
 * AVX-512 path runs, so this process may or may not reach them: the tests
 * run children with EDDY_ISA=avx512 and EDDY_WEIGHT_GRADIENTS=own (or =blas,
 * for the comparison), or with the rule's choice. Skipped, with a message,
 * on CPUs without AVX-512.
 */
import * as assert from 'assert';
import * as path from 'path';
import * as eddy from '../../lib';
import { runNode as run } from '../helpers';

const DIST = path.join(__dirname, '..', '..');

/**
 * A training step of each cell at shapes that reach every edge of the
 * kernel's blocking: the LSTM's gate rows 4·151 = 604 (on one thread two
 * blocks of rows of C, 306 and 298 rows at 256 columns; one block a thread
 * on two and three; a last tile of 4 of 6 rows), input width 300 (two blocks
 * of 256 columns, a partial panel of 64) and hidden width 151 (two panels
 * and a partial one), K = T·B = 165 (two blocks of 64 steps and a partial
 * one), and an LSTM with K = 8 800 (138 blocks of K, B packed for each),
 * sequences of mixed lengths; and the input gradient dX = dG·W_ih (K = G·H
 * up to 604).
 * Prints the kernel that ran, whether 1, 2 and 3 threads gave the same
 * bits, and the 1-thread gradients (the parameters', then the input's).
 */
const STEP_SCRIPT = `
const eddy = require(${JSON.stringify(path.join(DIST, 'lib'))});
const { randomArray, rng } = require(${JSON.stringify(path.join(DIST, 'test', 'helpers'))});
const shapes = { I: 300, H: 151, B: 11, T: 15 };
// K = T·B = 8 800 rows of steps: 138 blocks of 64, B packed for each.
const long = { I: 8, H: 16, B: 11, T: 800 };
const cells = {
  LSTM: [shapes, (s) => new eddy.LSTM({ inputSize: s.I, hiddenSize: s.H })],
  GRU: [shapes, (s) => new eddy.GRU({ inputSize: s.I, hiddenSize: s.H })],
  'GRU, reset before': [shapes, (s) => new eddy.GRU({ inputSize: s.I, hiddenSize: s.H, resetAfter: false })],
  RNN: [shapes, (s) => new eddy.RNN({ inputSize: s.I, hiddenSize: s.H })],
  'LSTM, K = 8 800': [long, (s) => new eddy.LSTM({ inputSize: s.I, hiddenSize: s.H })],
};
const kernels = eddy.runtimeInfo().kernels;
const result = { kernel: kernels.weightGradients, dxKernel: kernels.inputGradients, grads: {}, dxBits: {}, k: {}, mismatch: null, dxMismatch: null };
for (const [name, [s, make]] of Object.entries(cells)) {
  const { I, H, B, T } = s;
  const lengths = Array.from({ length: B }, (_, b) => T - (b * 5) % 9);
  result.k[name] = Math.max(B * T, 4 * H);
  const runs = [1, 2, 3].map((threads) => {
    eddy.setNumThreads(threads);
    eddy.manualSeed(3);
    const layer = make(s).train();
    const x = eddy.tensor(randomArray(B * T * I, rng(1)), [B, T, I], { requiresGrad: true });
    const r = layer.forward(x, { lengths });
    eddy.backward([r.output], [eddy.tensor(randomArray(B * T * H, rng(2)), [B, T, H])]);
    return [...layer.parameters().map((p) => p.grad.data), x.grad.data];
  });
  for (let t = 1; t < runs.length; t++) {
    runs[t].forEach((g, i) => {
      const a = new Uint32Array(g.buffer, g.byteOffset, g.length);
      const b = new Uint32Array(runs[0][i].buffer, runs[0][i].byteOffset, g.length);
      if (a.some((v, j) => v !== b[j])) {
        const dx = i === runs[t].length - 1;
        const what = name + ': ' + (dx ? 'the input gradient' : 'parameter ' + i) + ' with ' + (t + 1) + ' threads';
        if (!result.mismatch) result.mismatch = what;
        if (dx && !result.dxMismatch) result.dxMismatch = what;
      }
    });
  }
  result.grads[name] = runs[0].map((g) => Array.from(g));
  // The input gradient's bits (JSON would fold -0 into 0 and NaN into null).
  const dx = runs[0][runs[0].length - 1];
  result.dxBits[name] = Array.from(new Uint32Array(dx.buffer, dx.byteOffset, dx.length));
}
process.stdout.write(JSON.stringify(result));
`;

interface StepGradients {
  kernel: string;
  dxKernel: string;
  grads: Record<string, number[][]>;
  dxBits: Record<string, number[]>;
  k: Record<string, number>;
  mismatch: string | null;
  dxMismatch: string | null;
}

async function stepGradients(which: 'own' | 'blas' | 'rule'): Promise<StepGradients> {
  // EDDY_GEMM=blas keeps the comparison on OpenBLAS where gemm() itself would run Eddy's kernels (gemm.test.ts).
  const env: Record<string, string | undefined> = { EDDY_ISA: 'avx512', EDDY_GEMM: 'blas', EDDY_WEIGHT_GRADIENTS: which === 'rule' ? undefined : which };
  const { code, output } = await run(['-e', STEP_SCRIPT], env);
  assert.strictEqual(code, 0, output.slice(-4000));
  return JSON.parse(output);
}

describe('recurrent weight and input gradients: the own AVX-512 kernels', () => {
  const hasAvx512 = eddy.runtimeInfo().isaAvailable.includes('avx512');
  if (!hasAvx512) {
    it.skip('skipped: this CPU lacks AVX-512');
    return;
  }

  it('edge shapes: identical bits at 1, 2 and 3 threads, and OpenBLAS\'s results within the summation-order bound', async function () {
    this.timeout(120000);
    const own = await stepGradients('own');
    const blas = await stepGradients('blas');
    assert.match(own.kernel, /^avx512 /);
    assert.strictEqual(blas.kernel, 'OpenBLAS');
    assert.strictEqual(own.mismatch, null, `own kernel: ${own.mismatch} differs from 1 thread`);
    // OpenBLAS makes no such promise: its row blocks split by thread change
    // some sums' order (seen here for the GRU's W_ih on Zen 5).
    console.log(`      OpenBLAS across thread counts: ${blas.mismatch ? `${blas.mismatch} differs` : 'identical'}`);
    // Both sum the same float32 products (dG has the same bits: only the
    // GEMMs over all steps differ) over K terms in different orders:
    // |Δ| ≤ 2·K·u·Σ|a_p·b_p| with u = 2⁻²⁴, at most 7.2e-5·Σ|a_p·b_p| for
    // K ≤ 604. With inputs and dy in [-1, 1] and |dG| of order one,
    // Σ|a_p·b_p| stays within a few units of max(1, |g|), so 3·2·K·u scaled
    // (2.2e-4 here, 3e-3 for the long case; never below 1e-4) holds the bound
    // and still catches a lost or doubled term (of order 1/K) or block of 64 steps.
    for (const name of Object.keys(own.grads)) {
      const tol = Math.max(1e-4, 6 * own.k[name] * 2 ** -24);
      let worst = 0;
      own.grads[name].forEach((g, i) => {
        const ref = blas.grads[name][i];
        assert.strictEqual(g.length, ref.length);
        for (let j = 0; j < g.length; j++) worst = Math.max(worst, Math.abs(g[j] - ref[j]) / Math.max(1, Math.abs(ref[j])));
      });
      console.log(`      ${name}: max scaled difference ${worst.toExponential(2)} (tolerance ${tol})`);
      assert.ok(worst <= tol, `${name}: own and OpenBLAS weight gradients differ by ${worst}`);
      assert.ok(own.grads[name][0].some((v) => v !== 0), `${name}: non-trivial gradients`);
    }
  });

  it('by the default rule the input gradient runs on the packed GEMM: the own run\'s bits at 1, 2 and 3 threads', async function () {
    this.timeout(120000);
    // With OpenBLAS's AVX-512 kernels the weight gradients stay on OpenBLAS,
    // while dX = dG·W_ih goes to the packed GEMM: dG is the same either way,
    // so dX must match the own kernels' run bit for bit.
    const rule = await stepGradients('rule');
    const own = await stepGradients('own');
    assert.match(rule.dxKernel, /^avx512 .*packed/);
    assert.strictEqual(rule.dxMismatch, null, `default rule: ${rule.dxMismatch} differs from 1 thread`);
    // Where OpenBLAS runs its AVX-512 kernels the rule splits the two; elsewhere both run on Eddy's kernels.
    console.log(`      weight gradients: ${rule.kernel}; input gradient: ${rule.dxKernel.split(',')[0]}` +
      (rule.kernel === 'OpenBLAS' ? '' : ' (OpenBLAS\'s core is not an AVX-512 one here: the split is not exercised)'));
    for (const name of Object.keys(own.grads)) {
      const dx = rule.dxBits[name];
      const ref = own.dxBits[name];
      assert.strictEqual(dx.length, ref.length);
      const differ = dx.findIndex((v, j) => v !== ref[j]);
      assert.strictEqual(differ, -1, `${name}: dX element ${differ} differs from the own kernels' run`);
      const values = rule.grads[name][rule.grads[name].length - 1];
      assert.ok(values.every((v) => Number.isFinite(v)) && values.some((v) => v !== 0), `${name}: finite, non-trivial input gradient`);
    }
  });

  it('the recurrent numerical tests (PyTorch references, gradient checks, batch invariance) pass with it', async function () {
    this.timeout(600000);
    const files = ['layers/recurrent.test.js', 'layers/recurrent-gradcheck.test.js', 'layers/batch-invariance.test.js']
      .map((f) => path.join(__dirname, '..', f));
    const mocha = require.resolve('mocha/bin/mocha.js');
    const { code, output } = await run([mocha, '--no-config', '--timeout', '60000', '--reporter', 'dot', ...files],
      { EDDY_ISA: 'avx512', EDDY_WEIGHT_GRADIENTS: 'own' });
    const summary = output.match(/(\d+) passing[^\n]*/);
    console.log(`      EDDY_WEIGHT_GRADIENTS=own: ${summary ? summary[0] : 'no summary'}`);
    assert.strictEqual(code, 0, `tests failed with the own kernel:\n${output.slice(-4000)}`);
  });
});
