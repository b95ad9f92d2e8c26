/**
 * `npm run bench -- distributed`: data-parallel training of C1 and C3 on 1
 * and 2 ranks × 1 thread (mpirun on this machine), the speed-up, and the
 * all-reduce bandwidth over shared memory. Next to the speed-up it measures
 * the machine's ceiling: two independent single-thread processes training
 * at the same time (they share memory bandwidth, caches and the cores with
 * everything else), against one alone. The three runs are interleaved,
 * ROUNDS times, so a change in the machine's load reaches all of them.
 * Needs Open MPI's mpirun.
 */
import * as path from 'path';
import { findMpirun, runLocalJob } from './mpirun';

/**
 * Timed steps, after warm-up steps. A process's first training steps cost it 1.5× a later one
 * (C1: 160–180 ms of CPU against 105–120; C3: 850–1130 against 600) and vary by tens of
 * milliseconds from step to step: the allocator maps fresh pages (3–4 k page faults per C1 step
 * against a few hundred later) while its heaps grow to the working set, and V8 compiles. In
 * lock-step every step waits for the slower rank, so that spread is paid in full: a benchmark
 * timing those steps measures the start of a job, not the thousands of steps after it.
 */
const STEPS: Record<string, { warmup: number; timed: number }> = { C1: { warmup: 12, timed: 16 }, C3: { warmup: 3, timed: 6 } };
const ROUNDS = 2;

/**
 * The runs of one round: [ranks, worker mode, what it measures, mpirun's --bind-to]. One
 * rank runs unbound, so its JavaScript, V8 and MPI threads may use the other core: the
 * best a single process does. Two processes run one per core, as Open MPI binds two
 * ranks by default and as a dedicated machine runs them (idle, C3 gained about 4 %
 * over unbound ranks, which the scheduler moves between the cores).
 */
const RUNS: readonly [number, string, 'one' | 'independent' | 'two', string][] = [
  [1, 'dp', 'one', 'none'],
  [2, 'alone', 'independent', 'core'],
  [2, 'dp', 'two', 'core'],
];

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
    const tokens = { one: 0, independent: 0, two: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [np, mode, what, bind] of RUNS) {
        const { warmup, timed } = STEPS[id] ?? { warmup: 3, timed: 4 };
        const r = await runLocalJob(mpirun, np, worker, [id, String(timed), mode, String(warmup)], 900, bind);
        if (r.code !== 0) {
          console.error(`mpirun -np ${np} failed (${r.code ?? r.signal}):\n${r.stderr}`);
          process.exitCode = 1;
          return;
        }
        for (const line of r.stdout.split('\n').filter((l) => l.startsWith('{'))) {
          console.log(line);
          const m = JSON.parse(line) as { tokens_per_s?: number; measure?: string };
          if (m.tokens_per_s && !m.measure) tokens[what] += m.tokens_per_s / ROUNDS;
        }
      }
    }
    const speedup = tokens.two / tokens.one;
    const ceiling = tokens.independent / tokens.one;
    console.log(JSON.stringify({
      suite: 'distributed', config: id, rounds: ROUNDS,
      tokens_per_s_1_rank: Math.round(tokens.one), tokens_per_s_2_ranks: Math.round(tokens.two), tokens_per_s_2_independent: Math.round(tokens.independent),
      speedup_2_ranks: +speedup.toFixed(2), ceiling_2_independent: +ceiling.toFixed(2), of_ceiling: +(speedup / ceiling).toFixed(2),
    }));
  }
}
