/** Run under mpirun by failure.test.ts: rank 1 builds a wider model than the others; fit must refuse on every rank. */
import * as eddy from '../../../lib';
import { run, runningSum, smallModel } from './task';

run(async () => {
  const { rank } = await eddy.distributed.init({ timeout: 30 });
  const model = smallModel(1, rank === 1 ? 17 : 16);
  try {
    await model.fit(runningSum(8, 4, 1), { loss: 'mse', batchSize: 4, distributed: true });
    console.log(`rank ${rank}: trained`);
  } catch (err) {
    console.log(`rank ${rank}: ${(err as eddy.EddyError).code}: ${(err as Error).message}`);
  }
  await eddy.distributed.finalize();
});
