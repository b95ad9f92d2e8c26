/**
 * Eddy in worker threads: four workers load it and run forward passes and
 * products on the shared native pool; one is terminated while its call is
 * in flight. The others must finish with the right numbers and the process
 * must stay healthy. It runs in a child process so that a crash or a hang
 * fails this test instead of taking the suite down.
 */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as path from 'path';

const entry = path.resolve(__dirname, '..', '..', 'lib', 'index.js');

// Shared by the workers and the main thread of the child: the same seeded
// model and input, so every thread must compute the same output.
const setup = `
  const eddy = require(${JSON.stringify(entry)});
  const lstm = new eddy.LSTM({ inputSize: 32, hiddenSize: 64, numLayers: 2, bidirectional: true, generator: new eddy.Generator(7) }).eval();
  const input = (T) => eddy.tensor(Float32Array.from({ length: 8 * T * 32 }, (_, i) => Math.sin(i)), [8, T, 32]);
  const square = eddy.tensor(Float32Array.from({ length: 256 * 256 }, (_, i) => (i % 7) - 3), [256, 256]);`;

const workerSource = `
  const { parentPort, workerData } = require('worker_threads');
  ${setup}
  (async () => {
    if (workerData.victim) {
      // A long call (a thousand steps), announced just before it starts.
      const x = input(1000);
      parentPort.postMessage({ type: 'busy' });
      await eddy.noGrad(() => lstm.forwardAsync(x));
      parentPort.postMessage({ type: 'settled' });
      return;
    }
    const x = input(50);
    let out, product;
    for (let i = 0; i < 8; i++) {
      out = i % 2 ? eddy.noGrad(() => lstm.forward(x)) : await eddy.noGrad(() => lstm.forwardAsync(x));
      product = i % 2 ? eddy.matmul(square, square) : await eddy.matmulAsync(square, square);
    }
    parentPort.postMessage({ type: 'done', output: out.output.data, product: product.data });
  })();`;

const mainSource = `
  const { Worker } = require('worker_threads');
  ${setup}
  const report = { finished: 0, victimSettled: false, terminatedMidCall: false, maxDiff: 0, productExact: true };
  const expected = eddy.noGrad(() => lstm.forward(input(50))).output.data;
  const expectedProduct = eddy.matmul(square, square).data;
  const workers = [0, 1, 2, 3].map((i) => new Worker(${JSON.stringify(workerSource)}, { eval: true, workerData: { victim: i === 0 } }));
  const ends = workers.map((w, i) => new Promise((resolve, reject) => {
    w.on('error', reject);
    w.on('exit', resolve);
    w.on('message', (m) => {
      if (m.type === 'busy') {
        w.terminate().then(() => { report.terminatedMidCall = true; });
      } else if (m.type === 'settled') {
        report.victimSettled = true;
      } else {
        report.finished++;
        for (let j = 0; j < expected.length; j++) report.maxDiff = Math.max(report.maxDiff, Math.abs(m.output[j] - expected[j]));
        report.productExact = report.productExact && m.product.every((v, j) => v === expectedProduct[j]);
      }
    });
  }));
  Promise.all(ends).then(async () => {
    // The process is still healthy: the pool and OpenBLAS serve this thread.
    const again = (await eddy.noGrad(() => lstm.forwardAsync(input(50)))).output.data;
    report.afterDiff = again.reduce((worst, v, j) => Math.max(worst, Math.abs(v - expected[j])), 0);
    report.afterProductExact = eddy.matmul(square, square).data.every((v, j) => v === expectedProduct[j]);
    process.stdout.write(JSON.stringify(report));
  }, (err) => { process.stdout.write(JSON.stringify({ workerError: String(err) })); });`;

describe('worker threads', () => {
  it('runs Eddy in four workers, survives terminating one mid-call, and the others finish correctly', () => {
    const child = spawnSync(process.execPath, ['-e', mainSource], { encoding: 'utf8', timeout: 120_000 });
    assert.strictEqual(child.signal, null, `child hung or was killed (${child.signal}); stderr: ${child.stderr}`);
    assert.strictEqual(child.status, 0, `child exited with ${child.status}; stderr: ${child.stderr}`);
    const report = JSON.parse(child.stdout) as Record<string, number | boolean>;
    console.log(`      max |difference| from the main thread: ${report.maxDiff}, after: ${report.afterDiff}`);
    assert.strictEqual(report.finished, 3);
    assert.strictEqual(report.terminatedMidCall, true);
    assert.strictEqual(report.victimSettled, false, 'the terminated call finished before termination: the test did not interrupt it');
    // Same kernels on the same data; only the split of GEMM rows between
    // threads may differ, which can reorder float32 sums of at most
    // 2·64 + 32 terms of outputs bounded by 1: well within 1e-5.
    assert.ok((report.maxDiff as number) <= 1e-5, `outputs differ by ${report.maxDiff}`);
    assert.ok((report.afterDiff as number) <= 1e-5, `outputs after the workers differ by ${report.afterDiff}`);
    // Products of small integers are exact in float32 whatever the order.
    assert.strictEqual(report.productExact, true);
    assert.strictEqual(report.afterProductExact, true);
  });
});
