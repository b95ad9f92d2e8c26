/**
 * Every numerical test of the recurrent kernels, once per kernel path the
 * machine has. This process already runs them on the default (widest) path;
 * each narrower path runs them again in a child mocha with EDDY_ISA set.
 * Paths the CPU lacks are reported as skipped.
 */
import * as assert from 'assert';
import { spawn, spawnSync } from 'child_process';
import * as path from 'path';
import * as eddy from '../../lib';
import { IsaName, PACKAGE_ROOT } from '../../lib/native';

const PATHS: IsaName[] = ['avx512', 'avx2', 'generic'];

/** Test files (relative to dist/test) whose numbers come from the recurrent kernels. */
const RECURRENT_TESTS = [
  'layers/recurrent.test.js',
  'layers/recurrent-gradcheck.test.js',
  'layers/recurrent-api.test.js',
  'layers/bidirectional.test.js',
  'layers/batch-invariance.test.js',
  'layers/layer-stepper.test.js',
  'model/stateful.test.js',
  'io/keras.test.js',
  'io/pytorch.test.js',
  'onnx/export.test.js',
  'data/fit.test.js',
  'serving/session.test.js',
  'serving/batchers.test.js',
];

function runMocha(isa: IsaName): Promise<{ code: number | null; output: string }> {
  const mocha = require.resolve('mocha/bin/mocha.js');
  const files = RECURRENT_TESTS.map((f) => path.join(__dirname, '..', f));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mocha, '--no-config', '--timeout', '60000', '--reporter', 'dot', ...files], {
      env: { ...process.env, EDDY_ISA: isa },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('kernel paths', () => {
  const info = eddy.runtimeInfo();

  it(`reports the paths: running ${info.isa} here, available ${info.isaAvailable.join(', ')}`, () => {
    assert.ok(info.isaAvailable.includes(info.isa));
    assert.ok(info.isaAvailable.includes('generic'), 'the generic path runs everywhere');
    for (const p of PATHS) {
      if (!info.isaAvailable.includes(p)) console.log(`      ${p}: skipped (this CPU lacks it)`);
    }
  });

  it('runs no code compiled for AVX2 or AVX-512 when the addon loads', function () {
    // A dynamic initializer in a file built with -mavx512f runs at load on any
    // CPU, and the compiler may vectorize it with that file's instructions: the
    // addon then dies of SIGILL on a CPU without them. Kernel tables are
    // constant-initialized; the symbol table shows any initializer left.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const addon = (require('node-gyp-build') as { path(dir: string): string }).path(PACKAGE_ROOT);
    const nm = spawnSync('nm', [addon], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (nm.error || nm.status !== 0 || !/_GLOBAL__sub_I_/.test(nm.stdout)) {
      console.log(`      skipped: no symbol table to read in ${addon} (nm missing, or a stripped prebuild)`);
      this.skip();
    }
    const initializers = nm.stdout.match(/_GLOBAL__sub_I_\S+/g) ?? [];
    assert.deepStrictEqual(
      initializers.filter((s) => /_avx(2|512)\b/.test(s)),
      [],
      `initializers in ${addon}: ${initializers.join(', ')}`,
    );
  });

  for (const isa of PATHS) {
    const available = info.isaAvailable.includes(isa);
    const here = isa === info.isa;
    const title = `recurrent numerical tests on the ${isa} path`;
    if (!available || here) {
      it.skip(`${title} (${here ? 'run by this process' : 'not on this CPU'})`);
      continue;
    }
    it(`${title} (child process, EDDY_ISA=${isa})`, async function () {
      this.timeout(600000);
      const { code, output } = await runMocha(isa);
      const summary = output.match(/(\d+) passing[^\n]*(\n\s*\d+ pending)?(\n\s*\d+ failing)?/);
      console.log(`      ${isa}: ${summary ? summary[0].replace(/\s+/g, ' ') : 'no summary'}`);
      assert.strictEqual(code, 0, `tests failed on the ${isa} path:\n${output.slice(-4000)}`);
      assert.match(output, /\d+ passing/);
    });
  }
});
