/**
 * Running test workers under mpirun (lib/bench/mpirun.ts: loopback only,
 * bounded in time). Tests skip, with a message saying what to install, when
 * mpirun is missing.
 */
import * as path from 'path';
import { findMpirun, MpiResult, runLocalJob } from '../../lib/bench/mpirun';

export const MPIRUN = findMpirun();

const WORKERS = path.join(__dirname, 'workers');

/** Runs `node workers/<script>.js args…` on `np` ranks, killed after `timeoutSeconds`. */
export function mpirun(np: number, script: string, args: string[], timeoutSeconds: number): Promise<MpiResult> {
  if (!MPIRUN) throw new Error('mpirun is not installed');
  return runLocalJob(MPIRUN, np, path.join(WORKERS, `${script}.js`), args, timeoutSeconds);
}

/** `describe` for tests that need mpirun: without it, one visibly skipped test says why. */
export function describeWithMpi(title: string, body: () => void): void {
  if (MPIRUN) {
    describe(title, body);
    return;
  }
  describe(title, () => {
    it('needs mpirun (install Open MPI: apt-get install -y openmpi-bin libopenmpi-dev)', function () {
      console.log('    distributed tests skipped: mpirun not found (apt-get install -y openmpi-bin libopenmpi-dev)');
      this.skip();
    });
  });
}
