/**
 * Running out of memory inside native code: every case runs in a child
 * process that lowers its own address-space limit (RLIMIT_AS, what
 * `ulimit -v` sets) just before the call, so the failing allocation is the
 * one under test. The child must end on its own with a typed error: a hang
 * fails on the spawn timeout, an abort on the exit status.
 *
 * Not run under AddressSanitizer (npm run test:asan), which reserves
 * terabytes of address space.
 */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as path from 'path';

const entry = path.resolve(__dirname, '..', '..', 'lib', 'index.js');

const MiB = 2 ** 20;

/**
 * Runs `body` (an async function body with `eddy`, `limit` and `report` in
 * scope) in a child process and returns what it reported. `limit(headroom)`
 * caps the child's address space at its current size plus `headroom` bytes;
 * `limit(Infinity)` lifts the cap again. `env` is added to the child's environment.
 */
function inChild(body: string, env: Record<string, string> = {}): Record<string, unknown> {
  const script = `
    const eddy = require(${JSON.stringify(entry)});
    const { execFileSync } = require('child_process');
    const fs = require('fs');
    const vmSize = () => 1024 * Number(/VmSize:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
    const limit = (headroom) => execFileSync('prlimit', ['--pid', String(process.pid),
      '--as=' + (headroom === Infinity ? 'unlimited' : String(vmSize() + headroom)) + ':unlimited']);
    const describe = (err) => ({ name: err.name, code: err.code, message: err.message });
    const results = {};
    const report = (key, value) => { results[key] = value; };
    (async () => { ${body} })().then(
      () => process.stdout.write(JSON.stringify(results)),
      (err) => { process.stdout.write(JSON.stringify({ unexpected: describe(err), results })); });`;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  assert.strictEqual(child.signal, null, `child hung or was killed (${child.signal}); stderr: ${child.stderr}`);
  assert.strictEqual(child.status, 0, `child exited with ${child.status}; stderr: ${child.stderr}`);
  return JSON.parse(child.stdout) as Record<string, unknown>;
}

const blasRefused = {
  name: 'ResourceError',
  code: 'ERR_EDDY_RESOURCE',
  message: "Not enough resources for a matrix product: could not reserve OpenBLAS's 128 MiB GEMM buffer (not enough address space)",
};

// A 512 × 512 product of ones: every element is exactly 512 (integers are
// exact in float32), large enough for OpenBLAS and the pool. The cases about
// OpenBLAS's buffer run with EDDY_GEMM=blas: where OpenBLAS's core is not a
// vector one, gemm() would run on Eddy's own kernels (native/gemm.h).
const ON_BLAS = { EDDY_GEMM: 'blas' };
const ONES = `const a = eddy.tensor(new Float32Array(512 * 512).fill(1), [512, 512]);
  const exact = (t) => t.data.every((v) => v === 512);`;

describe('native resource exhaustion (child processes under an address-space limit)', () => {
  it("throws ResourceError when OpenBLAS's buffer cannot be reserved, and works once memory is back", () => {
    const r = inChild(`${ONES}
      limit(64 * ${MiB});
      try { eddy.matmul(a, a); report('sync', 'returned'); } catch (err) { report('sync', describe(err)); }
      limit(Infinity);
      report('after', exact(eddy.matmul(a, a)));`, ON_BLAS);
    assert.deepStrictEqual(r, { sync: blasRefused, after: true });
  });

  it('rejects matmulAsync with ResourceError when the worker thread cannot reserve the buffer', () => {
    const r = inChild(`${ONES}
      limit(64 * ${MiB});
      await eddy.matmulAsync(a, a).then(() => report('async', 'resolved'), (err) => report('async', describe(err)));
      limit(Infinity);
      report('after', exact(await eddy.matmulAsync(a, a)));`, ON_BLAS);
    assert.deepStrictEqual(r, { async: blasRefused, after: true });
  });

  it('runs parallel and concurrent products correctly with room for a single OpenBLAS buffer', () => {
    // One 128 MiB buffer fits, a second does not: OpenBLAS then takes one
    // thread at a time, and nothing waits forever. Beside the buffer, the
    // headroom holds a new thread's C heap (glibc reserves 64 MiB of address
    // space for each) and 48 MiB for V8's heap to grow in (with 8 it once
    // ran out itself, in a collection), and stays 16 MiB short of two buffers.
    const r = inChild(`${ONES}
      eddy.setNumThreads(2);
      // Start libuv's threads (their stacks take address space) with a product too small for OpenBLAS.
      const tiny = eddy.tensor(new Float32Array(4), [2, 2]);
      await Promise.all([1, 2, 3, 4].map(() => eddy.matmulAsync(tiny, tiny)));
      limit(240 * ${MiB});
      const pending = [eddy.matmulAsync(a, a), eddy.matmulAsync(a, a)];
      const all = [eddy.matmul(a, a), ...(await Promise.all(pending))];
      report('exact', all.map(exact));`, ON_BLAS);
    assert.deepStrictEqual(r, { exact: [true, true, true] });
  });

  it("throws ResourceError when Eddy's own GEMM cannot pack its operand, and works once memory is back", () => {
    // 64 × 4096 times 4096 × 4096: the operands and C exist before the
    // limit; packing B (64 MiB) does not fit under it.
    const native = path.resolve(__dirname, '..', '..', 'lib', 'native.js');
    const r = inChild(`const { binding } = require(${JSON.stringify(native)});
      const [m, k, n] = [64, 4096, 4096];
      const a = new Float32Array(m * k).fill(1), b = new Float32Array(k * n).fill(1), c = new Float32Array(m * n);
      const product = () => binding.gemm(false, false, m, n, k, 1, a, 0, k, b, 0, n, 0, c, 0, n);
      report('kernel', eddy.runtimeInfo().kernels.gemm.endsWith('packed'));
      limit(32 * ${MiB});
      try { product(); report('sync', 'returned'); } catch (err) { report('sync', describe(err)); }
      limit(Infinity);
      product();
      report('after', c.every((v) => v === k));`, { EDDY_GEMM: 'own' });
    assert.deepStrictEqual(r, {
      kernel: true,
      sync: { name: 'ResourceError', code: 'ERR_EDDY_RESOURCE', message: 'Not enough memory for a matrix product' },
      after: true,
    });
  });

  // LSTM over one sequence of 2^20 steps of 64 features (256 MiB of input),
  // hidden size 8: the input is allocated before the limit, the output
  // (32 MiB) fits under it, the copy or the workspace does not.
  const LONG = `const x = eddy.tensor(new Float32Array(2 ** 26), [1, 2 ** 20, 64]);
    const lstm = new eddy.LSTM({ inputSize: 64, hiddenSize: 8 }).eval();`;

  it('rejects forwardAsync with ResourceError when its inputs cannot be copied (it used to abort)', () => {
    const r = inChild(`${LONG}
      limit(96 * ${MiB});
      await eddy.noGrad(() => lstm.forwardAsync(x)).then(() => report('async', 'resolved'), (err) => report('async', describe(err)));
      limit(Infinity);
      report('after', (await eddy.noGrad(() => lstm.forwardAsync(eddy.tensor(new Float32Array(64), [1, 1, 64])))).output.shape);`);
    assert.deepStrictEqual(r, {
      async: { name: 'ResourceError', code: 'ERR_EDDY_RESOURCE', message: 'Not enough memory for the recurrent forward pass' },
      after: [1, 1, 8],
    });
  });

  it('throws ResourceError from a sync forward that cannot get its working memory', () => {
    const r = inChild(`${LONG}
      limit(96 * ${MiB});
      try { eddy.noGrad(() => lstm.forward(x)); report('sync', 'returned'); } catch (err) { report('sync', describe(err)); }`);
    const sync = r.sync as Record<string, string>;
    assert.strictEqual(sync.name, 'ResourceError', JSON.stringify(r));
    assert.strictEqual(sync.code, 'ERR_EDDY_RESOURCE');
    // Which allocation fails first (the workspace or OpenBLAS's buffer for
    // the input projection) depends on the engine's order; both are named.
    assert.match(sync.message, /^Not enough (memory|resources) for the recurrent forward pass($|: could not reserve OpenBLAS)/);
  });

  it("settles the issue's large matmulAsync under ulimit -v 1900000 (it used to hang)", () => {
    // [8192, 8192] × [8192, 64]: 256 MiB of input, copied for the worker
    // thread, under a limit set before Node starts, as a user would.
    const script = `
      const eddy = require(${JSON.stringify(entry)});
      const a = eddy.tensor(new Float32Array(8192 * 8192).fill(1), [8192, 8192]);
      const b = eddy.tensor(new Float32Array(8192 * 64).fill(1), [8192, 64]);
      eddy.matmulAsync(a, b).then(
        (c) => process.stdout.write(c.data.every((v) => v === 8192) ? 'exact' : 'wrong'),
        (err) => process.stdout.write(err.code));`;
    const child = spawnSync('sh', ['-c', 'ulimit -v 1900000 && exec "$0" -e "$1"', process.execPath, script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.strictEqual(child.signal, null, `child hung (${child.signal}); stderr: ${child.stderr}`);
    assert.strictEqual(child.status, 0, `child exited with ${child.status}; stderr: ${child.stderr}`);
    assert.ok(['exact', 'ERR_EDDY_RESOURCE'].includes(child.stdout), child.stdout);
  });
});
