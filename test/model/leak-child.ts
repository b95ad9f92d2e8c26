/**
 * Child process for the leak check (run with --expose-gc): trains a small
 * recurrent model for argv[2] steps through `fit`, with a `predict` in
 * flight alongside and a save and load every 500 steps, and prints the
 * resident memory and open file descriptors after step 1 000, halfway from
 * there to the last step, and after the last step (each the least of
 * several readings after full garbage collections), as JSON.
 */
import { promises as fs, readdirSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';

const gc = (globalThis as { gc?: () => void }).gc!;

/**
 * The resident memory after a full collection moves by several megabytes
 * from one collection to the next (V8 commits and releases its young
 * generation's pages as it goes), so a reading is the least of five, each
 * after a collection and a pause for finalizers and page release.
 */
async function sample(): Promise<{ rss: number; fds: number }> {
  let rss = Infinity;
  for (let k = 0; k < 5; k++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
    rss = Math.min(rss, process.memoryUsage().rss);
  }
  return { rss, fds: readdirSync('/proc/self/fd').length };
}

async function main(): Promise<void> {
  const steps = Number(process.argv[2]);
  const middle = 1000 + Math.round((steps - 1000) / 2);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'eddy-leak-'));
  try {
    eddy.manualSeed(1);
    const model = eddy.sequential([new eddy.LSTM({ inputSize: 8, hiddenSize: 16, dropout: 0 }), new eddy.Dropout({ p: 0.1 }), new eddy.Linear({ inFeatures: 16, outFeatures: 4 })]);
    const B = 4;
    const T = 6;
    const x = new Tensor(Float32Array.from({ length: steps * B * T * 8 }, (_, i) => Math.sin(i)), [steps * B, T, 8]);
    const y = new Tensor(Float32Array.from({ length: steps * B * T * 4 }, (_, i) => Math.cos(i)), [steps * B, T, 4]);
    const probe = new Tensor(new Float32Array(2 * T * 8).fill(0.5), [2, T, 8]);
    const file = path.join(dir, 'model.safetensors');
    const samples: Record<string, { rss: number; fds: number }> = {};
    let step = 0;
    let pending: Promise<unknown> = Promise.resolve();
    await model.fit({ x, y }, {
      loss: 'mse',
      batchSize: B,
      shuffle: false,
      optimizer: new eddy.optim.SGD(model.parameters(), { lr: 1e-3 }),
      callbacks: {
        onBatchEnd: async () => {
          step++;
          if (step % 50 === 0) {
            await pending;
            pending = model.predict(probe); // runs alongside the next steps
          }
          if (step % 500 === 0) {
            await model.save(file);
            await eddy.load(file);
          }
          const name = step === 1000 ? 'first' : step === middle ? 'middle' : step === steps ? 'last' : undefined;
          if (name) {
            await pending;
            samples[name] = await sample();
          }
        },
      },
    });
    process.stdout.write(JSON.stringify({ steps: step, ...samples }) + '\n');
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

void main();
