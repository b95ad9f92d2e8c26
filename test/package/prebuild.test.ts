import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..', '..');

describe('packaging', function () {
  // Packs the module and installs it into an empty project: ~15 s, so it
  // runs in CI (CI=true) or when EDDY_TEST_PREBUILD=1.
  const enabled = Boolean(process.env.CI) || process.env.EDDY_TEST_PREBUILD === '1';

  it('installs from the packed tarball and runs from its prebuilt binary, without build tools', function () {
    if (!enabled) {
      console.log('      skipped: set EDDY_TEST_PREBUILD=1 (CI sets CI=true) to pack and install the module');
      this.skip();
    }
    this.timeout(10 * 60 * 1000);
    const r = spawnSync('bash', [path.join(root, 'scripts', 'check-prebuild.sh')], { cwd: root, encoding: 'utf8' });
    const output = `${r.stdout}\n${r.stderr}`;
    assert.strictEqual(r.status, 0, `scripts/check-prebuild.sh failed:\n${output}`);
    assert.match(r.stdout, /require\('eddy-rnn'\) works/);
    assert.match(r.stdout, /OK: the packed module installs and runs from its prebuilt binary/);
  });
});
