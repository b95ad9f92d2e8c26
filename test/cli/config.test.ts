import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readConfigFile, TRAIN_KEYS } from '../../lib/cli/config';

describe('eddy train --config', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-config-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function read(json: string): unknown {
    const file = path.join(dir, 'c.json');
    fs.writeFileSync(file, json);
    return readConfigFile(file);
  }

  it('reads the settings it knows, with their JSON types', () => {
    assert.deepStrictEqual(read('{"hidden": 8, "cell": "gru", "bidirectional": true}'), { hidden: 8, cell: 'gru', bidirectional: true });
    assert.throws(() => read('{"hidden": "8"}'), { name: 'ValidationError', message: /^Expected a number for hidden in --config file ".*c\.json" but received "8"$/ });
  });

  it('refuses unknown keys, including names on Object.prototype', () => {
    for (const key of ['hiden', 'constructor', 'toString', '__proto__']) {
      assert.throws(() => read(`{${JSON.stringify(key)}: 1}`), { name: 'ValidationError', message: new RegExp(`^Unknown key ${JSON.stringify(key)} in --config file`) }, key);
    }
  });

  it('the settings a file may hold are exactly the flags of eddy train (besides --resume and --config)', () => {
    const help = execFileSync(process.execPath, [path.resolve(__dirname, '../../lib/cli/main.js'), 'train', '--help'], { encoding: 'utf8' });
    const flags = [...help.matchAll(/^\s+--([a-z-]+)/gm)].map((m) => m[1]).filter((f) => !['resume', 'config', 'help'].includes(f));
    const keys = TRAIN_KEYS.map((k) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`));
    assert.deepStrictEqual([...flags].sort(), [...keys].sort());
  });
});
