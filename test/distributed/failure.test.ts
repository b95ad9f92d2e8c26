import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as eddy from '../../lib';
import { describeWithMpi, mpirun } from './mpirun';

describeWithMpi('distributed failures under mpirun', () => {
  it('refuses to train replicas that differ, naming both ranks, on every rank', async function () {
    this.timeout(60_000);
    const r = await mpirun(2, 'mismatch', [], 50);
    assert.strictEqual(r.code, 0, `mpirun exited with ${r.code ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
    for (const rank of [0, 1]) {
      assert.match(r.stdout, new RegExp(`rank ${rank}: ERR_EDDY_DISTRIBUTED_MISMATCH: The model differs between ranks: rank 0 has Sequential.* \\(977 values\\): .*48x16.* but rank 1 has .* \\(1089 values\\): .*51x17`));
    }
  });

  it('times out a collective a rank never joins, and the abort ends the job', async function () {
    this.timeout(60_000);
    const r = await mpirun(2, 'timeout', [], 50);
    assert.match(r.stdout, /rank 0: ERR_EDDY_DISTRIBUTED_TIMEOUT: allReduce of 4 elements failed/);
    assert.notStrictEqual(r.code, 0);
    assert.ok(r.seconds < 30, `the job took ${r.seconds} s to end`);
  });

  for (const mode of ['kill', 'throw']) {
    it(`ends the job non-zero within 30 s when a rank ${mode === 'kill' ? 'is killed (SIGKILL)' : 'throws'}, leaving the last checkpoint loadable`, async function () {
      this.timeout(90_000);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-crash-'));
      try {
        const r = await mpirun(2, 'crash', [dir, mode], 80);
        assert.notStrictEqual(r.code, 0, `the job exited with 0:\n${r.stdout}\n${r.stderr}`);
        const files = fs.readdirSync(dir).filter((f) => /^epoch-\d+\.safetensors$/.test(f));
        assert.ok(files.length > 0, `no checkpoint in ${fs.readdirSync(dir).join(', ')}`);
        const last = files.sort((a, b) => Number(a.match(/\d+/)![0]) - Number(b.match(/\d+/)![0])).pop() as string;
        const model = eddy.sequential([new eddy.GRU({ inputSize: 2, hiddenSize: 16 }), new eddy.Linear({ inFeatures: 16, outFeatures: 1 })]);
        const restored = await eddy.loadCheckpoint(path.join(dir, last), { model });
        assert.ok(restored.epoch >= 1, `checkpoint epoch ${restored.epoch}`);
        console.log(`      job ended with ${r.code ?? r.signal} after ${r.seconds.toFixed(1)} s; ${last} loads (epoch ${restored.epoch})`);
        assert.ok(r.seconds < 30, `the job took ${r.seconds} s to end`);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
