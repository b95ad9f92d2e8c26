import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..', '..');

/**
 * Whether an undocumented public export fails the suite. While false the
 * check reports what lacks TSDoc without failing.
 */
const STRICT = false;

describe('API reference (npm run docs)', function () {
  // TypeDoc reads the whole public API: about half a minute, so it runs in
  // CI (CI=true) or when EDDY_TEST_DOCS=1.
  const enabled = Boolean(process.env.CI) || process.env.EDDY_TEST_DOCS === '1';

  it('builds from the TSDoc with every public export documented', function () {
    if (!enabled) {
      console.log('      skipped: set EDDY_TEST_DOCS=1 (CI sets CI=true) to check the API reference');
      this.skip();
    }
    this.timeout(10 * 60 * 1000);
    const typedoc = path.join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
    const r = spawnSync(process.execPath, [typedoc, '--emit', 'none', '--treatWarningsAsErrors', 'false', '--logLevel', 'Warn'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    const output = `${r.stdout}\n${r.stderr}`;
    assert.strictEqual(r.status, 0, `typedoc failed:\n${output}`);
    assert.doesNotMatch(output, /\[error\]/, output);
    const warnings = output.split('\n').filter((line) => line.includes('[warning]'));
    if (STRICT) {
      assert.deepStrictEqual(warnings, [], `${warnings.length} documentation warnings:\n${warnings.join('\n')}`);
    } else if (warnings.length > 0) {
      console.log(`      reporting only: ${warnings.length} documentation warnings, e.g.\n        ${warnings.slice(0, 5).join('\n        ')}`);
    }
  });
});
