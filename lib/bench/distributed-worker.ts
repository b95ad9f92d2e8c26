/**
 * One rank of `npm run bench -- distributed` (started by mpirun from
 * distributed.ts): data-parallel training steps of a configuration with one
 * thread per rank and the configuration's batch on every rank (weak
 * scaling, as Horovod and DDP report), timing compute (forward, backward,
 * optimizer) apart from the exposed communication (the part of the
 * gradient all-reduce that backward did not hide), itself split into the
 * wait for the slowest rank and the all-reduce proper; then (C1, 2 ranks)
 * all-reduce times from 1 KiB to 64 MiB. In mode `alone` the ranks train
 * the same steps at the same time without exchanging anything: what the
 * machine gives independent processes, the ceiling of the data-parallel
 * speed-up. Rank 0 prints JSON lines.
 * Arguments: config-id steps [dp|alone]
 */
import * as eddy from '../index';
import { BenchConfig, BENCH_CONFIGS, forwardFlopsPerToken } from './configs';
import { cpuPerStep, cpuSnapshot } from './distributed-cpu';

/** The configuration's recurrent network with a Linear head of one output. */
function modelOf(c: BenchConfig): eddy.Model {
  const dirs = c.bidirectional ? 2 : 1;
  const opts = { inputSize: c.input, hiddenSize: c.hidden, numLayers: c.layers, bidirectional: c.bidirectional };
  const rnn = c.cell === 'lstm' ? new eddy.LSTM(opts) : c.cell === 'gru' ? new eddy.GRU(opts) : new eddy.RNN(opts);
  return eddy.sequential([rnn, new eddy.Linear({ inFeatures: dirs * c.hidden, outFeatures: 1 })]);
}

async function main(): Promise<void> {
  const [id, stepsArg, mode = 'dp'] = process.argv.slice(2);
  const alone = mode === 'alone';
  const c = BENCH_CONFIGS.find((k) => k.id === id);
  if (!c) throw new Error(`Unknown configuration ${id}`);
  const steps = Number(stepsArg);
  const startup = new Set(cpuSnapshot().ns.keys());
  const { rank, worldSize } = await eddy.distributed.init({ timeout: 600 });
  const afterInit = new Set(cpuSnapshot().ns.keys());
  eddy.setNumThreads(1);
  eddy.manualSeed(1);
  const model = modelOf(c);
  const g = new eddy.Generator(100 + rank);
  const x = eddy.tensor(g.uniform(new Float32Array(c.batch * c.seq * c.input), -1, 1), [c.batch, c.seq, c.input]);
  const y = eddy.tensor(g.uniform(new Float32Array(c.batch * c.seq), -1, 1), [c.batch, c.seq, 1]);
  const params = model.parameters().map((p) => p.data);
  const optimizer = new eddy.optim.SGD(model.parameters(), { lr: 1e-3 });
  const dp = eddy.distributed.dataParallel();
  await dp.setup(model);

  // Per timed step: when backward ended (on the clock all ranks of one machine share), and the exposed communication.
  const arrival = new Float64Array(steps + 1);
  const exposed = new Float64Array(steps + 1);
  let compute = 0;
  const step = async (i: number): Promise<void> => {
    const t0 = performance.now();
    optimizer.zeroGrad();
    const loss = eddy.losses.mse((await model.forwardAsync(x)) as eddy.Tensor, y);
    const gradients = alone ? null : dp.gradients(params, c.batch);
    await eddy.backwardAsync([loss], undefined, gradients ? { onGradReady: (t, g) => gradients.ready(t, g) } : {});
    const t1 = performance.now();
    await gradients?.finish(c.batch * worldSize);
    const t2 = performance.now();
    optimizer.step();
    arrival[i] = performance.timeOrigin + t1;
    exposed[i] = t2 - t1;
    compute += t1 - t0 + (performance.now() - t2);
  };
  await step(steps);
  await eddy.distributed.barrier();
  compute = 0;
  const cpuBefore = cpuSnapshot();
  const started = performance.now();
  for (let i = 0; i < steps; i++) await step(i);
  const stepMs = (performance.now() - started) / steps;
  const cpu = cpuPerStep(cpuBefore, cpuSnapshot(), steps, startup, afterInit);
  const ranks = alone ? 1 : worldSize;
  const tokens = ranks * c.batch * c.seq;
  const tokensPerS = tokens / (stepMs / 1000);
  // A rank waits, in a step, from the end of its backward to the end of the
  // slowest rank's (the ranks of one machine read one clock); the rest of
  // its exposed communication is the all-reduce proper.
  const last = await eddy.distributed.allReduce(arrival.slice(0, steps), 'max');
  let wait = 0;
  for (let i = 0; i < steps; i++) wait += Math.min(exposed[i], last[i] - arrival[i]);
  const exposedMs = exposed.subarray(0, steps).reduce((a, v) => a + v, 0) / steps;
  // Mean over the ranks: compute, wait, exposed; and the machine's total throughput when alone.
  const sums = await eddy.distributed.allReduce(Float64Array.of(compute / steps, wait / steps, exposedMs, tokensPerS, cpu.js, cpu.kernel, cpu.mpi, cpu.v8, cpu.openmpi, cpu.faults), 'sum');
  // CPU milliseconds per step and rank, by thread (see distributed-cpu.ts).
  const perRank = (v: number): number => +(v / worldSize).toFixed(1);
  const cpuMs = { js: perRank(sums[4]), kernel: perRank(sums[5]), mpi: perRank(sums[6]), v8: perRank(sums[7]), openmpi: perRank(sums[8]), faults: Math.round(sums[9] / worldSize) };
  if (process.env.EDDY_BENCH_PER_RANK) {
    console.log(JSON.stringify({ suite: 'distributed', per_rank: rank, mode, config: c.id, ms_per_step: +stepMs.toFixed(1), compute_ms: +(compute / steps).toFixed(1), wait_ms: +(wait / steps).toFixed(2), exposed_comm_ms: +exposedMs.toFixed(2), cpu_ms: cpu }));
  }
  const paramBytes = params.reduce((a, p) => a + p.size * 4, 0);
  if (rank === 0 && alone) {
    console.log(JSON.stringify({ suite: 'distributed', config: c.id, name: c.name, independent_processes: worldSize, threads_per_process: 1, tokens_per_s: Math.round(sums[3]), ms_per_step: +(sums[0] / worldSize).toFixed(1), cpu_ms: cpuMs }));
  } else if (rank === 0) {
    const mean = (v: number): number => v / worldSize;
    console.log(JSON.stringify({
      suite: 'distributed', config: c.id, name: c.name, ranks: worldSize, threads_per_rank: 1,
      tokens_per_s: Math.round(tokensPerS),
      gflops: +((3 * forwardFlopsPerToken(c) * tokens) / (stepMs * 1e6)).toFixed(1),
      ms_per_step: +stepMs.toFixed(1), compute_ms: +mean(sums[0]).toFixed(1), exposed_comm_ms: +mean(sums[2]).toFixed(2),
      wait_ms: +mean(sums[1]).toFixed(2), allreduce_ms: +mean(sums[2] - sums[1]).toFixed(2),
      param_bytes: paramBytes, cpu_ms: cpuMs,
    }));
  }
  if (worldSize > 1 && !alone && c.id === 'C1') await bandwidth(rank, worldSize, paramBytes);
  await eddy.distributed.finalize();
}

/**
 * All-reduce time over sizes from 1 KiB to 64 MiB (C1's and C3's gradients among them), each
 * repeated after a barrier; the median and the best of the repetitions, since a loaded machine
 * delays some of them by whole scheduler slices.
 */
async function bandwidth(rank: number, worldSize: number, paramBytes: number): Promise<void> {
  const c3 = BENCH_CONFIGS.find((k) => k.id === 'C3');
  const c3Bytes = c3 ? modelOf(c3).parameters().reduce((a, p) => a + p.data.size * 4, 0) : 0;
  const sizes = [1 << 10, 1 << 14, 1 << 16, 1 << 18, 1 << 20, paramBytes, 1 << 22, 1 << 24, c3Bytes, 1 << 26].filter((b) => b > 0);
  for (const bytes of sizes) {
    const a = new Float32Array(Math.floor(bytes / 4));
    await eddy.distributed.allReduce(a);
    const reps = bytes >= 1 << 22 ? 5 : 20;
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      await eddy.distributed.barrier();
      const t0 = performance.now();
      await eddy.distributed.allReduce(a);
      times.push(performance.now() - t0);
    }
    times.sort((x, y) => x - y);
    const ms = times[reps >> 1];
    // Bus bandwidth: what a ring all-reduce moves per rank, 2 (N - 1) / N of the buffer, per second.
    const algbw = (a.length * 4) / (ms / 1000) / 1e9;
    if (rank === 0) {
      console.log(JSON.stringify({
        suite: 'distributed', measure: 'allreduce', ranks: worldSize, bytes: a.length * 4, ms: +ms.toFixed(3), best_ms: +times[0].toFixed(3),
        algbw_GBps: +algbw.toFixed(3), busbw_GBps: +((algbw * 2 * (worldSize - 1)) / worldSize).toFixed(3),
      }));
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
