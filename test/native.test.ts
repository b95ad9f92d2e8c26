import * as assert from 'assert';
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
