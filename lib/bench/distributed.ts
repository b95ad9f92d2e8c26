/**
 * `npm run bench -- distributed`: data-parallel training of C1 and C3 on 1
 * and 2 ranks × 1 thread (mpirun on this machine), the speed-up, and the
 * all-reduce bandwidth over shared memory. Needs Open MPI's mpirun.
 */
import * as path from 'path';
import { findMpirun, runLocalJob } from './mpirun';

const STEPS: Record<string, number> = { C1: 8, C3: 4 };

export async function runDistributedBench(_threads: number[], only?: string[]): Promise<void> {
  const mpirun = findMpirun();
  if (!mpirun) {
    console.error('The distributed benchmark needs mpirun: apt-get install -y openmpi-bin libopenmpi-dev');
    process.exitCode = 2;
    return;
  }
  const worker = path.join(__dirname, 'distributed-worker.js');
  const configs = only && only.length > 0 ? only : ['C1', 'C3'];
  for (const id of configs) {
    const tokens: number[] = [];
    for (const np of [1, 2]) {
      const r = await runLocalJob(mpirun, np, worker, [id, String(STEPS[id] ?? 4)], 900);
      if (r.code !== 0) {
        console.error(`mpirun -np ${np} failed (${r.code ?? r.signal}):\n${r.stderr}`);
        process.exitCode = 1;
        return;
      }
      for (const line of r.stdout.split('\n').filter((l) => l.startsWith('{'))) {
        console.log(line);
        const m = JSON.parse(line) as { tokens_per_s?: number };
        if (m.tokens_per_s) tokens.push(m.tokens_per_s);
      }
    }
    if (tokens.length === 2) console.log(JSON.stringify({ suite: 'distributed', config: id, speedup_2_ranks: +(tokens[1] / tokens[0]).toFixed(2) }));
  }
}
