/**
 * `eddy train --distributed`: joins the MPI job the process was started in
 * (`mpirun -np N npx eddy train --distributed …`). Every rank trains its
 * share of each batch; rank 0 alone prints, draws progress and writes the
 * model, the report and checkpoints.
 */
import * as os from 'os';
import * as eddy from '../index';

/** Ranks the launcher started on this machine (Open MPI, then Slurm), or 1. */
function ranksOnThisMachine(): number {
  const n = Number(process.env.OMPI_COMM_WORLD_LOCAL_SIZE ?? process.env.SLURM_NTASKS_PER_NODE ?? 1);
  return Number.isInteger(n) && n > 0 ? n : 1;
}

/**
 * Initializes MPI; without `threads`, each rank takes its share of this
 * machine's cores. On ranks other than 0, standard output goes quiet (errors
 * still reach stderr).
 */
export async function joinJob(threads: number | undefined): Promise<{ rank: number; worldSize: number }> {
  const { rank, worldSize } = await eddy.distributed.init();
  if (threads === undefined) eddy.setNumThreads(Math.max(1, Math.floor(os.availableParallelism() / ranksOnThisMachine())));
  if (rank !== 0) {
    console.log = () => undefined;
    process.stdout.write = (() => true) as typeof process.stdout.write;
  } else {
    console.log(`Data-parallel over ${worldSize} MPI rank(s), ${eddy.getNumThreads()} thread(s) each`);
  }
  return { rank, worldSize };
}

/** Whether this process writes the run's files: always, unless it is a rank other than 0 of a distributed run. */
export function writesFiles(distributed: boolean | undefined): boolean {
  return !distributed || !eddy.distributed.isInitialized() || eddy.distributed.rank() === 0;
}
