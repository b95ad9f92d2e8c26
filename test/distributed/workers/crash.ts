/**
 * Run under mpirun by failure.test.ts: trains with a checkpoint after every
 * epoch (written by rank 0); rank 1 dies at its 4th epoch, by SIGKILL
 * (`kill`) or by an uncaught error (`throw`). The job must end, non-zero,
 * with the last checkpoint intact.
 * Arguments: checkpoint-directory kill|throw
 */
import * as eddy from '../../../lib';
import { run, runningSum, smallModel } from './task';

run(async () => {
  const [directory, mode] = process.argv.slice(2);
  const { rank } = await eddy.distributed.init({ timeout: 60 });
  const model = smallModel(2);
  const optimizer = new eddy.optim.Adam(model.parameters(), { lr: 0.01 });
  const whole = runningSum(64, 8, 5);
  let epoch = 0;
  // Each rank's own batches, as a streaming source would give them.
  const data = eddy.data.fromGenerator(function* () {
    if (rank === 1 && epoch++ === 3) {
      if (mode === 'kill') process.kill(process.pid, 'SIGKILL');
      throw new Error('rank 1 failed while reading its data');
    }
    for (let b = 0; b < 4; b++) yield { x: whole.x.slice(0, b * 16, b * 16 + 16).contiguous(), y: whole.y.slice(0, b * 16, b * 16 + 16).contiguous() };
  });
  await model.fit(data, {
    epochs: 1000,
    loss: 'mse',
    optimizer,
    distributed: true,
    callbacks: new eddy.io.ModelCheckpoint({ directory, optimizer, keepLast: 2 }),
  });
});
