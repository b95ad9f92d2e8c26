import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { NativeLoadError, EddyError } from '../lib';
import { explainLoadFailure, loadNative } from '../lib/native';

describe('native loader', () => {
  it('loads the binding from the package', () => {
    const b = loadNative();
    assert.strictEqual(typeof b.gemm, 'function');
  });

  it('explains a missing binary with what to do', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-empty-'));
    try {
      assert.throws(() => loadNative(empty), (err: unknown) => {
        assert.ok(err instanceof NativeLoadError);
        assert.ok(err instanceof EddyError);
        assert.strictEqual(err.code, 'ERR_EDDY_NATIVE_LOAD');
        const target = `${process.platform}-${process.arch}`;
        const lines = err.message.split('\n');
        assert.strictEqual(
          lines[0],
          `Could not load the eddy-rnn native module for ${target} (Node ${process.versions.node}, N-API ${process.versions.napi}).`,
        );
        assert.match(lines[1], /^Reason: No native build was found/);
        assert.strictEqual(lines[2], 'Possible solutions:');
        assert.strictEqual(lines[lines.length - 1], `Searched: ${path.join(empty, 'prebuilds', target)} and ${path.join(empty, 'build', 'Release')}.`);
        assert.ok(err.cause instanceof Error);
        return true;
      });
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it("starts no OpenBLAS threads at load and leaves the caller's OPENBLAS_NUM_THREADS as it was", () => {
    const entry = path.resolve(__dirname, '..', 'lib', 'index.js');
    // OpenBLAS would start a thread per core at load, each holding a 128 MiB
    // buffer; with a 1-thread pool Eddy then adds no thread at all.
    const script = `
      const before = process.env.OPENBLAS_NUM_THREADS;
      const eddy = require(${JSON.stringify(entry)});
      eddy.setNumThreads(1);
      const threads = require('fs').readdirSync('/proc/self/task').length;
      process.stdout.write(JSON.stringify({ before, after: process.env.OPENBLAS_NUM_THREADS, threads }));`;
    const run = (value: string | undefined) => {
      const childEnv: NodeJS.ProcessEnv = { ...process.env };
      delete childEnv.OPENBLAS_NUM_THREADS;
      if (value !== undefined) childEnv.OPENBLAS_NUM_THREADS = value;
      return JSON.parse(execFileSync(process.execPath, ['-e', script], { env: childEnv, encoding: 'utf8' })) as {
        before?: string; after?: string; threads: number;
      };
    };
    const unset = run(undefined);
    assert.strictEqual(unset.after, undefined);
    const set = run('3');
    assert.deepStrictEqual([set.before, set.after], ['3', '3']);
    const bare = Number(execFileSync(process.execPath, ['-e', `process.stdout.write(String(require('fs').readdirSync('/proc/self/task').length))`], { encoding: 'utf8' }));
    assert.deepStrictEqual([unset.threads, set.threads], [bare, bare], `threads: bare node ${bare}, with Eddy ${unset.threads} and ${set.threads}`);
  });

  const env = { platform: 'linux', arch: 'x64', nodeVersion: '20.0.0', napiVersion: '9', root: '/pkg' };

  it('suggests a source build on platforms without a prebuilt binary', () => {
    const msg = explainLoadFailure(new Error('No native build was found'), { ...env, platform: 'freebsd' });
    assert.strictEqual(
      msg,
      [
        'Could not load the eddy-rnn native module for freebsd-x64 (Node 20.0.0, N-API 9).',
        'Reason: No native build was found',
        'Possible solutions:',
        '- No prebuilt binary is published for freebsd-x64 (prebuilt: linux-x64).',
        '  Build from source: install cmake, a C++17 compiler and OpenBLAS (libopenblas-dev), then run `npm rebuild eddy-rnn`.',
        'Searched: /pkg/prebuilds/freebsd-x64 and /pkg/build/Release.',
      ].join('\n'),
    );
  });

  it('recognises a C runtime that is too old', () => {
    const msg = explainLoadFailure(new Error("/lib/libc.so.6: version `GLIBC_2.36' not found"), env);
    assert.match(msg, /needs a newer C\/C\+\+ runtime/);
    assert.match(msg, /npm rebuild eddy-rnn/);
  });

  it('suggests reinstalling when the prebuilt binary is missing on a supported platform', () => {
    const msg = explainLoadFailure(new Error('No native build was found'), env);
    assert.match(msg, /--ignore-scripts/);
  });
});
