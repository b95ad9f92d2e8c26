import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import * as eddy from '../../lib';
import { defaultNumThreads } from '../../lib/runtime/threads';

const entry = path.resolve(__dirname, '..', '..', 'lib', 'index.js');

function threadsInChild(value: string | undefined): number {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.EDDY_NUM_THREADS;
  if (value !== undefined) env.EDDY_NUM_THREADS = value;
  const script = `process.stdout.write(String(require(${JSON.stringify(entry)}).getNumThreads()))`;
  return Number(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' }));
}

describe('threads', () => {
  const initial = eddy.getNumThreads();
  after(() => eddy.setNumThreads(initial));

  it('sets and gets the thread count', () => {
    eddy.setNumThreads(1);
    assert.strictEqual(eddy.getNumThreads(), 1);
    eddy.setNumThreads(2);
    assert.strictEqual(eddy.getNumThreads(), 2);
    assert.strictEqual(eddy.runtimeInfo().numThreads, 2);
  });

  it('rejects thread counts that are not positive integers', () => {
    assert.throws(() => eddy.setNumThreads(0), {
      name: 'ValidationError',
      message: 'Expected integer between 1 and 64 for n but received 0 of type number',
    });
    assert.throws(() => eddy.setNumThreads(1.5), {
      message: 'Expected integer between 1 and 64 for n but received 1.5 of type number',
    });
    assert.throws(() => eddy.setNumThreads('2' as unknown as number), {
      message: 'Expected integer between 1 and 64 for n but received "2" of type string',
    });
  });

  it('survives rapid resizing of the pool (in a child process, so a hang fails instead of freezing the suite)', () => {
    const script = `
      const eddy = require(${JSON.stringify(entry)});
      const a = eddy.tensor(new Float32Array(64 * 64).fill(1), [64, 64]);
      for (let i = 0; i < 300; i++) {
        eddy.setNumThreads(1 + (i % 4));
        if (eddy.matmul(a, a).get(5, 7) !== 64) throw new Error('wrong product');
      }
      process.stdout.write('done');`;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.strictEqual(out, 'done');
  });

  it('defaults to the number of cores', () => {
    assert.strictEqual(threadsInChild(undefined), Math.min(64, os.availableParallelism()));
  });

  it('takes its default from EDDY_NUM_THREADS', () => {
    assert.strictEqual(threadsInChild('1'), 1);
    assert.strictEqual(threadsInChild('3'), 3);
  });

  it('warns about an invalid EDDY_NUM_THREADS and uses the core count', async () => {
    const cores = Math.min(64, os.availableParallelism());
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      assert.strictEqual(defaultNumThreads({ EDDY_NUM_THREADS: 'many' }), cores);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    assert.strictEqual(warnings.length, 1);
    assert.strictEqual(warnings[0].message, `Expected integer between 1 and 64 for EDDY_NUM_THREADS but received "many"; using ${cores}`);
  });
});
