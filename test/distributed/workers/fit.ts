/**
 * Run under mpirun by fit.test.ts: trains the same small GRU regressor
 * twice with `fit({ distributed: true })`, with SGD (momentum) and with
 * Adam, clipping the global gradient norm, and writes this rank's weights
 * and rank 0's per-step losses to `<out>.<rank>.json`.
 * Arguments: out-prefix steps globalBatch
 */
import * as fs from 'fs';
import * as eddy from '../../../lib';
import { run, runningSum, smallModel } from './task';

async function train(kind: 'sgd' | 'adam', steps: number, batchSize: number): Promise<{ weights: number[]; losses: number[]; history: Record<string, number[]> }> {
  const model = smallModel(11);
  const optimizer = kind === 'sgd' ? new eddy.optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }) : new eddy.optim.Adam(model.parameters(), { lr: 0.01 });
  const losses: number[] = [];
  const { history } = await model.fit(runningSum(steps * batchSize, 8, 3), {
    epochs: 1,
    batchSize,
    loss: 'mse',
    metrics: ['mae'],
    clipNorm: 1,
    optimizer,
    generator: new eddy.Generator(7),
    validationData: runningSum(30, 8, 4),
    callbacks: { onBatchEnd: (_b, logs) => void losses.push(logs.loss) },
    // Small buckets for SGD, so gradients travel in several all-reduces started during backward.
    distributed: kind === 'sgd' ? { bucketBytes: 1024 } : true,
  });
  return { weights: model.parameters().flatMap((p) => Array.from(p.data.data)), losses, history };
}

run(async () => {
  const [out, stepsArg, batchArg] = process.argv.slice(2);
  const { rank, worldSize } = await eddy.distributed.init({ timeout: 60 });
  eddy.setNumThreads(1);
  const sgd = await train('sgd', Number(stepsArg), Number(batchArg));
  const adam = await train('adam', Number(stepsArg), Number(batchArg));
  fs.writeFileSync(`${out}.${rank}.json`, JSON.stringify({ rank, worldSize, sgd, adam }));
  await eddy.distributed.finalize();
});
