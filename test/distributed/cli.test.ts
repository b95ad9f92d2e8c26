import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runLocalJob } from '../../lib/bench/mpirun';
import { describeWithMpi, MPIRUN } from './mpirun';

const MAIN = path.resolve(__dirname, '../../lib/cli/main.js');

describeWithMpi('eddy train --distributed under mpirun', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-dcli-'));
    const rows = ['text,label'];
    for (let i = 0; i < 30; i++) rows.push(`what a lovely day ${i},pos`, `such a dreadful night ${i},neg`);
    fs.writeFileSync(path.join(dir, 'labelled.csv'), rows.join('\n') + '\n');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const tasks: [string, string[]][] = [
    ['text', ['--epochs', '1', '--hidden', '16', '--seq-len', '32', '--max-chars', '20000', '--sample-length', '20']],
    ['classify', ['--task', 'classify', '--epochs', '1', '--hidden', '8']],
  ];
  for (const [name, args] of tasks) {
    it(`trains the ${name} task on 2 ranks; rank 0 alone prints and writes the model and report`, async function () {
      this.timeout(180_000);
      const out = path.join(dir, name);
      const extra = name === 'classify' ? ['--data', path.join(dir, 'labelled.csv')] : [];
      const r = await runLocalJob(MPIRUN as string, 2, MAIN, ['train', '--distributed', ...args, ...extra, '--out', out], 170);
      assert.strictEqual(r.code, 0, `exit ${r.code ?? r.signal}\n${r.stdout}\n${r.stderr}`);
      assert.strictEqual(r.stdout.match(/Data-parallel over 2 MPI rank\(s\), \d+ thread\(s\) each/g)?.length, 1, r.stdout);
      assert.strictEqual(r.stdout.match(/^Model saved to /gm)?.length, 1, r.stdout);
      assert.ok(fs.existsSync(path.join(out, 'model.safetensors')) && fs.existsSync(path.join(out, 'report.html')));
    });
  }
});
