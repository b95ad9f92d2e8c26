import * as assert from 'assert';
import * as eddy from '../../lib';
import { describeWithMpi, mpirun } from './mpirun';

describe('eddy.distributed without a job', () => {
  it('refuses collectives before init with a typed error', async () => {
    await assert.rejects(() => eddy.distributed.allReduce(new Float32Array(1)), (e: eddy.EddyError) => e instanceof eddy.DistributedError && e.code === 'ERR_EDDY_MPI_UNAVAILABLE' && /init\(\) first/.test(e.message));
    assert.throws(() => eddy.distributed.rank(), /needs eddy.distributed.init\(\) first/);
  });

  it('says what to install when no MPI library can be loaded', async () => {
    await assert.rejects(
      () => eddy.distributed.init({ library: 'libmpi-that-does-not-exist.so' }),
      (e: eddy.EddyError) => e.code === 'ERR_EDDY_MPI_UNAVAILABLE' && /libmpi-that-does-not-exist\.so/.test(e.message) && /apt-get install -y openmpi-bin libopenmpi-dev/.test(e.message),
    );
  });

  it('rejects unknown option keys and bad values, naming them', async () => {
    await assert.rejects(() => eddy.distributed.init({ timeuot: 3 } as never), /Expected a known option for options.timeuot but received 3 of type number; did you mean timeout\?/);
    await assert.rejects(() => eddy.distributed.init({ timeout: -1 }), /Expected number >= 0 for timeout but received -1 of type number/);
    assert.throws(() => eddy.distributed.dataParallel({ bucketByte: 4 } as never), /Expected a known option for distributed.bucketByte but received 4 of type number; did you mean bucketBytes\?/);
  });
});

describeWithMpi('eddy.distributed collectives under mpirun', () => {
  it('all-reduces 0, 1, 1001 and 10 M elements with every op, rounded ring sums identical on every rank, and broadcasts from every root (3 ranks)', async function () {
    this.timeout(150_000);
    const r = await mpirun(3, 'collectives', [], 140);
    assert.strictEqual(r.code, 0, `mpirun exited with ${r.code ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
    for (let rank = 0; rank < 3; rank++) assert.match(r.stdout, new RegExp(`rank ${rank}: 58 checks passed`));
    console.log(`      ${r.stdout.trim().split('\n')[0]} (${r.seconds.toFixed(1)} s)`);
  });
});
