import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as eddy from '../../lib/index';
import { runLocalJob } from '../../lib/bench/mpirun';
import { describeWithMpi, MPIRUN } from './mpirun';

const MAIN = path.resolve(__dirname, '../../lib/cli/main.js');
// One thread per process in both runs, so each network's arithmetic is the same sequence of float
// operations wherever it trains.
const FORECAST = ['--task', 'forecast', '--epochs', '6', '--hidden', '8', '--seed', '7', '--threads', '1'];

describeWithMpi('eddy train --distributed under mpirun', () => {
  let dir: string;
  const stdout: Record<string, string> = {};
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
    ['forecast', FORECAST],
  ];
  for (const [name, args] of tasks) {
    it(`trains the ${name} task on 2 ranks; rank 0 alone prints and writes the model and report`, async function () {
      this.timeout(180_000);
      const out = path.join(dir, name);
      const extra = name === 'classify' ? ['--data', path.join(dir, 'labelled.csv')] : [];
      const r = await runLocalJob(MPIRUN as string, 2, MAIN, ['train', '--distributed', ...args, ...extra, '--out', out], 170);
      assert.strictEqual(r.code, 0, `exit ${r.code ?? r.signal}\n${r.stdout}\n${r.stderr}`);
      stdout[name] = r.stdout;
      assert.strictEqual(r.stdout.match(/Data-parallel over 2 MPI rank\(s\), \d+ thread\(s\) each/g)?.length, 1, r.stdout);
      assert.strictEqual(r.stdout.match(/^Model saved to /gm)?.length, 1, r.stdout);
      assert.ok(fs.existsSync(path.join(out, 'model.safetensors')) && fs.existsSync(path.join(out, 'report.html')));
    });
  }

  it('trains the forecast ensemble split over 2 ranks into the model one process trains', async function () {
    this.timeout(180_000);
    const out = path.join(dir, 'forecast-alone');
    const r = await runLocalJob(MPIRUN as string, 1, MAIN, ['train', ...FORECAST, '--out', out], 170);
    assert.strictEqual(r.code, 0, `exit ${r.code ?? r.signal}\n${r.stdout}\n${r.stderr}`);
    const alone = await eddy.load(path.join(out, 'model.safetensors'));
    const split = await eddy.load(path.join(dir, 'forecast', 'model.safetensors'));
    // Bit equality is what the split guarantees: network k trains from seed + k with the same
    // thread count and data on whichever rank owns it, the gather carries float32 bit patterns
    // exactly, and the merge runs the same operations on every rank.
    const a = alone.namedParameters();
    const b = new Map(split.namedParameters());
    assert.ok(a.length >= 6);
    for (const [name, p] of a) assert.deepStrictEqual(b.get(name)?.data.toFloat32Array(), p.data.toFloat32Array(), name);
    // Rank 0 reports every network of both stages once, in order, as one process does.
    const log = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('network '));
    assert.ok(log(r.stdout).length >= 10, r.stdout);
    assert.deepStrictEqual(log(stdout.forecast ?? ''), log(r.stdout));
  });
});
