import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..', '..');

function run(command: string, args: string[]): { status: number | null; output: string; stdout: string } {
  const r = spawnSync(command, args, { cwd: root, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}`, stdout: r.stdout };
}

function withTempDir(fn: (dir: string) => void): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-package-'));
  try {
    fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function write(file: string, content: string | Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

/** The first 20 bytes of an ELF shared object for the given e_machine. */
function elfHeader(machine: number): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32BE(0x7f454c46, 0);
  b.writeUInt16LE(machine, 18);
  return b;
}

describe('packaging', function () {
  describe('prepublishOnly (scripts/check-publish.js)', () => {
    it('refuses to publish when a prebuild is missing, naming it', () => {
      withTempDir((dir) => {
        write(path.join(dir, 'prebuilds', 'linux-x64', 'eddy-rnn.glibc.node'), elfHeader(62));
        const r = run('node', ['scripts/check-publish.js', dir]);
        assert.strictEqual(r.status, 1, r.output);
        assert.match(r.output, /Refusing to publish:\n {2}missing prebuilds\/linux-arm64\/eddy-rnn\.glibc\.node\n/);
        assert.match(r.output, /npm run prebuild:all/);
      });
    });

    it('refuses a binary built for the wrong architecture', () => {
      withTempDir((dir) => {
        write(path.join(dir, 'prebuilds', 'linux-x64', 'eddy-rnn.glibc.node'), elfHeader(62));
        write(path.join(dir, 'prebuilds', 'linux-arm64', 'eddy-rnn.glibc.node'), elfHeader(62));
        const r = run('node', ['scripts/check-publish.js', dir]);
        assert.strictEqual(r.status, 1, r.output);
        assert.match(r.output, /prebuilds\/linux-arm64\/eddy-rnn\.glibc\.node is not a linux-arm64 binary \(ELF machine 62, expected 183\)/);
      });
    });

    it('accepts a complete set', () => {
      withTempDir((dir) => {
        write(path.join(dir, 'prebuilds', 'linux-x64', 'eddy-rnn.glibc.node'), elfHeader(62));
        write(path.join(dir, 'prebuilds', 'linux-arm64', 'eddy-rnn.glibc.node'), elfHeader(183));
        const r = run('node', ['scripts/check-publish.js', dir]);
        assert.strictEqual(r.status, 0, r.output);
      });
    });
  });

  describe('tarball contents (scripts/check-tarball.js)', () => {
    const complete = [
      'LICENSE', 'THIRD-PARTY-NOTICES.md', 'CHANGELOG.md', 'README.md', 'package.json',
      'examples/data/austen-northanger-abbey.txt', 'examples/data/co2.csv',
      'dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/cli/main.js',
      'prebuilds/linux-x64/eddy-rnn.glibc.node', 'native/binding.cc', 'CMakeLists.txt',
    ];
    function makePackage(dir: string, extra: Record<string, string> = {}): string {
      const pkg = path.join(dir, 'package');
      for (const f of complete) write(path.join(pkg, f), '');
      for (const [f, content] of Object.entries(extra)) write(path.join(pkg, f), content);
      return pkg;
    }

    it('accepts a complete package whose source maps embed their sources', () => {
      withTempDir((dir) => {
        const map = JSON.stringify({ version: 3, sources: ['../../lib/index.ts'], sourcesContent: ['export {};'], mappings: '' });
        const r = run('node', ['scripts/check-tarball.js', makePackage(dir, { 'dist/lib/index.js.map': map })]);
        assert.strictEqual(r.status, 0, r.output);
        assert.match(r.stdout, /tarball contents ok: 14 files, 1 source maps resolve/);
      });
    });

    it('finds broken source maps, test files and missing data', () => {
      withTempDir((dir) => {
        const map = JSON.stringify({ version: 3, sources: ['../../lib/index.ts'], mappings: '' });
        const pkg = makePackage(dir, { 'dist/lib/index.js.map': map, 'dist/test/x.test.js': '' });
        fs.rmSync(path.join(pkg, 'examples/data/co2.csv'));
        const r = run('node', ['scripts/check-tarball.js', pkg]);
        assert.strictEqual(r.status, 1, r.output);
        assert.match(r.output, /missing: nothing matches \/\^examples\\\/data\\\/co2\\\.csv\$\//);
        assert.match(r.output, /must not ship: dist\/test\/x\.test\.js/);
        assert.match(r.output, /broken source map: dist\/lib\/index\.js\.map points at \.\.\/\.\.\/lib\/index\.ts, which the package lacks/);
      });
    });
  });

  describe('installed package', function () {
    // Packs the module and installs it into an empty project, then trains
    // and generates from it: about a minute, so it runs in CI (CI=true) or
    // when EDDY_TEST_PREBUILD=1 (or all).
    const mode = process.env.EDDY_TEST_PREBUILD ?? (process.env.CI ? '1' : '');
    function only(ctx: Mocha.Context, modes: string[], what: string, minutes: number): void {
      if (!modes.includes(mode)) {
        console.log(`      skipped: set EDDY_TEST_PREBUILD=${modes[0]} to ${what}`);
        ctx.skip();
      }
      ctx.timeout(minutes * 60 * 1000);
    }

    it('installs from the packed tarball and runs its main job from the prebuilt binary, without build tools', function () {
      only(this, ['1', 'all'], 'pack and install the module (CI sets CI=true)', 10);
      const r = run('bash', [path.join(root, 'scripts', 'check-prebuild.sh')]);
      assert.strictEqual(r.status, 0, `scripts/check-prebuild.sh failed:\n${r.output}`);
      assert.match(r.stdout, /tarball contents ok/);
      assert.match(r.stdout, /require\('eddy-rnn'\) works/);
      assert.match(r.stdout, /import from 'eddy-rnn' works/);
      assert.match(r.stdout, /eddy train and eddy generate work from the installed package/);
      assert.match(r.stdout, /the public types compile in a consumer/);
      assert.match(r.stdout, /OK: the packed module installs and runs from its prebuilt binary/);
    });

    it('builds and checks the linux-x64 and linux-arm64 prebuilds (npm run prebuild:all)', function () {
      only(this, ['all'], 'build the prebuild matrix (about 11 minutes, as root)', 60);
      const r = run('bash', [path.join(root, 'scripts', 'prebuild-all.sh')]);
      assert.strictEqual(r.status, 0, `scripts/prebuild-all.sh failed:\n${r.output}`);
      assert.match(r.stdout, /arm64 subset passed/);
      assert.strictEqual(run('node', ['scripts/check-publish.js']).status, 0);
      // The tarball as published (both binaries) installs and runs here.
      withTempDir((dir) => {
        const pack = run('npm', ['pack', '--silent', '--pack-destination', dir]);
        assert.strictEqual(pack.status, 0, pack.output);
        const tarball = path.join(dir, pack.stdout.trim().split('\n').pop()!);
        const check = run('bash', [path.join(root, 'scripts', 'check-prebuild.sh'), '--tarball', tarball]);
        assert.strictEqual(check.status, 0, `scripts/check-prebuild.sh --tarball failed:\n${check.output}`);
        assert.match(check.stdout, /OK: the packed module installs and runs from its prebuilt binary/);
      });
    });
  });
});
