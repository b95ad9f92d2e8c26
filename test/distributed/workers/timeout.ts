/** Run under mpirun by failure.test.ts: rank 1 never joins the all-reduce, so rank 0's times out after 1 s and aborts the job. */
import * as eddy from '../../../lib';
import { run } from './task';

run(async () => {
  const { rank } = await eddy.distributed.init({ timeout: 1 });
  if (rank === 1) {
    await new Promise((resolve) => setTimeout(resolve, 60_000));
    return;
  }
  try {
    await eddy.distributed.allReduce(new Float32Array(4));
  } catch (err) {
    console.log(`rank 0: ${(err as eddy.EddyError).code}: ${(err as Error).message}`);
    eddy.distributed.abort(3);
  }
});
