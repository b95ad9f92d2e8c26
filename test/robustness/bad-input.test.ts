/**
 * The bad-input matrix: every row of bad-input-cases.ts must fail with
 * exactly its error class, code and message, and the CLI rows below with
 * exactly their exit code and one line on stderr (usage errors exit 2,
 * other failures 1), without a stack trace.
 */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CASES, scratch } from './bad-input-cases';

const MAIN = path.resolve(__dirname, '../../lib/cli/main.js');

interface CliCase {
  args: string[];
  status: number;
  stderr: string;
}

const CLI: CliCase[] = [
  { args: ['train', '--bogus'], status: 2, stderr: "error: unknown option '--bogus'" },
  { args: ['nosuch'], status: 2, stderr: "error: unknown command 'nosuch'" },
  { args: ['train', '--cell', 'xyz'], status: 2, stderr: "error: option '--cell <cell>' argument 'xyz' is invalid. Allowed choices are lstm, gru, rnn." },
  { args: ['train', '--epochs', '0'], status: 2, stderr: 'eddy: Expected an integer ≥ 1 for --epochs but received 0' },
  { args: ['train', '--lr', 'abc'], status: 2, stderr: 'eddy: Expected a number for --lr but received "abc"' },
  { args: ['train', '--config', 'typo.json'], status: 2, stderr: 'eddy: Unknown key "hiden" in --config file "typo.json"; did you mean hidden?' },
  { args: ['train', '--config', 'snake.json'], status: 2, stderr: 'eddy: Unknown key "batch_size" in --config file "snake.json"; did you mean batchSize?' },
  { args: ['train', '--data', 'missing.txt'], status: 2, stderr: 'eddy: Cannot find the --data file "missing.txt"' },
  { args: ['train', '--data', 'binary.bin', '--max-chars', '100'], status: 1, stderr: 'eddy: Expected a text file for --data but "binary.bin" is binary (a NUL byte at offset 4)' },
  { args: ['train', '--data', 'latin1.txt', '--max-chars', '100'], status: 1, stderr: 'eddy: Expected a UTF-8 text file for --data but "latin1.txt" is not valid UTF-8' },
  { args: ['info', 'missing.safetensors'], status: 2, stderr: 'eddy: Cannot find the model file "missing.safetensors"' },
  { args: ['info', 'folder'], status: 1, stderr: 'eddy: Cannot read "folder": illegal operation on a directory (EISDIR)' },
];

describe('robustness: the bad-input matrix', function () {
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it(`has at least 100 API and CLI rows (${CASES.length} + ${CLI.length}), each named once`, () => {
    assert.ok(CASES.length + CLI.length >= 100);
    assert.strictEqual(new Set(CASES.map((c) => c.what)).size, CASES.length);
  });

  for (const c of CASES) {
    it(c.what, async () => {
      let caught: unknown;
      try {
        await c.run();
      } catch (err) {
        caught = err;
      }
      assert.ok(caught instanceof Error, `expected ${c.error.name} but nothing was thrown`);
      assert.strictEqual(caught.constructor, c.error, `class ${caught.constructor.name}: ${caught.message}`);
      assert.strictEqual((caught as { code?: string }).code, c.code);
      assert.strictEqual(caught.message, c.message);
    });
  }

  describe('eddy CLI', () => {
    const cwd = path.join(scratch, 'cli');
    before(() => {
      fs.mkdirSync(path.join(cwd, 'folder'), { recursive: true });
      fs.writeFileSync(path.join(cwd, 'typo.json'), '{"hiden": 8}');
      fs.writeFileSync(path.join(cwd, 'snake.json'), '{"batch_size": 8}');
      fs.writeFileSync(path.join(cwd, 'binary.bin'), Buffer.from([0x45, 0x44, 0x44, 0x59, 0x00, 0x01, 0xff, 0xfe]));
      fs.writeFileSync(path.join(cwd, 'latin1.txt'), Buffer.from('caf\xe9 au lait', 'latin1'));
    });

    for (const c of CLI) {
      it(`eddy ${c.args.join(' ')} → exit ${c.status}`, () => {
        const r = spawnSync(process.execPath, [MAIN, ...c.args], { cwd, encoding: 'utf8', env: { ...process.env, EDDY_DEBUG: '' }, timeout: 60000 });
        assert.strictEqual(r.stderr.trim(), c.stderr);
        assert.strictEqual(r.status, c.status);
      });
    }
  });
});
