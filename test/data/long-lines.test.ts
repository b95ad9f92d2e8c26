import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as eddy from '../../lib';

describe('line-based sources bound the length of a line', () => {
  let dir = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-lines-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const [source, make] of [
    ['fromText', (file: string, opts: object) => eddy.data.fromText(file, opts)],
    ['fromJsonl', (file: string, opts: object) => eddy.data.fromJsonl(file, opts)],
  ] as const) {
    it(`${source}: a line over maxLineLength is a ParseError naming it, read in small pieces`, async () => {
      const file = path.join(dir, `${source}.txt`);
      fs.writeFileSync(file, `"short"\n"${'x'.repeat(300)}"\n"after"\n`);
      const kind = source === 'fromText' ? 'text' : 'JSON';
      await assert.rejects(make(file, { maxLineLength: 100, readSize: 16 }).toArray(), {
        name: 'ParseError',
        message: `Invalid ${kind} in ${file} at line 2, column 1: Expected lines of at most 100 bytes (maxLineLength) but line 2 is longer`,
      });
      assert.strictEqual((await make(file, { readSize: 16 }).toArray()).length, 3);
    });
  }
});
