import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { NativeLoadError, EddyError, runtimeInfo } from '../lib';
import { detectLibc, explainLoadFailure, loadNative } from '../lib/native';

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
        '- No prebuilt binary is published for freebsd-x64 (prebuilt: linux-x64, linux-arm64, glibc).',
        '- Build from source: install cmake, a C++17 compiler and OpenBLAS with its headers (cblas.h), then `npm rebuild eddy-rnn`.',
        'Searched: /pkg/prebuilds/freebsd-x64 and /pkg/build/Release.',
      ].join('\n'),
    );
  });

  it('names the packages to install on Linux distributions', () => {
    const msg = explainLoadFailure(new Error('No native build was found'), { ...env, arch: 'riscv64' });
    assert.deepStrictEqual(msg.split('\n').slice(3, 7), [
      '- No prebuilt binary is published for linux-riscv64 (prebuilt: linux-x64, linux-arm64, glibc).',
      '- Build from source: install cmake, g++ and OpenBLAS, then `npm rebuild eddy-rnn`:',
      '  Debian/Ubuntu: `apt-get install -y cmake g++ libopenblas-dev`',
      '  Fedora/RHEL/Amazon Linux: `dnf install -y cmake gcc-c++ openblas-devel`',
    ]);
  });

  it('tells a musl system that the prebuilt binaries need glibc, and what to install', () => {
    const msg = explainLoadFailure(new Error('No native build was found for platform=linux arch=arm64 libc=musl'), { ...env, arch: 'arm64', libc: 'musl' });
    assert.deepStrictEqual(msg.split('\n').slice(3, 5), [
      '- The prebuilt binaries for linux-arm64 need glibc; this system uses musl.',
      '- Build from source (Alpine): `apk add cmake make g++ openblas-dev`, then `npm rebuild eddy-rnn`.',
    ]);
  });

  it('offers Accelerate and Homebrew OpenBLAS on macOS', () => {
    const msg = explainLoadFailure(new Error('No native build was found'), { ...env, platform: 'darwin', arch: 'arm64' });
    assert.match(msg, /xcode-select --install && brew install cmake/);
    assert.match(msg, /EDDY_BLAS_DIR=\$\(brew --prefix openblas\) npm rebuild eddy-rnn/);
  });

  it('recognises a C runtime that is too old', () => {
    const msg = explainLoadFailure(new Error("/lib/libc.so.6: version `GLIBC_2.31' not found"), env);
    assert.match(msg, /needs glibc 2\.31 and libstdc\+\+ from GCC 10 or newer/);
    assert.match(msg, /apt-get install -y cmake g\+\+ libopenblas-dev/);
  });

  it('suggests reinstalling when the prebuilt binary is missing on a supported platform', () => {
    const msg = explainLoadFailure(new Error('No native build was found'), env);
    assert.match(msg, /--ignore-scripts/);
  });

  it('detects the C library of this process', function () {
    // This suite runs on glibc systems (Debian); a musl runner would see 'musl'.
    if (process.platform !== 'linux') this.skip();
    assert.strictEqual(detectLibc(), fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
  });

  it('reports which BLAS the module was built against', () => {
    const info = runtimeInfo();
    assert.ok(['OpenBLAS', 'Accelerate', 'CBLAS'].includes(info.blas), info.blas);
    assert.strictEqual(typeof info.blasConfig, 'string');
    if (info.blas === 'OpenBLAS') assert.match(info.blasConfig, /OpenBLAS/);
  });
});
