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
 * speed-up; in mode `barrier` they train in lock-step (a barrier after
 * backward) without exchanging gradients: what lock-step alone costs.
 * Rank 0 prints JSON lines; EDDY_BENCH_PER_RANK=1 adds a line per rank,
 * EDDY_BENCH_PER_STEP=1 one per rank with each step's compute, CPU,
 * JavaScript-thread CPU, page faults and which rank arrived last.
 * Arguments: config-id steps [dp|alone|barrier] [warm-up steps, 1 when omitted]
 */
import * as eddy from '../index';
import { BenchConfig, BENCH_CONFIGS, forwardFlopsPerToken } from './configs';
import { cpuOfMain, cpuPerStep, cpuSnapshot } from './distributed-cpu';

/** The configuration's recurrent network with a Linear head of one output. */
function modelOf(c: BenchConfig): eddy.Model {
  const dirs = c.bidirectional ? 2 : 1;
  const opts = { inputSize: c.input, hiddenSize: c.hidden, numLayers: c.layers, bidirectional: c.bidirectional };
  const rnn = c.cell === 'lstm' ? new eddy.LSTM(opts) : c.cell === 'gru' ? new eddy.GRU(opts) : new eddy.RNN(opts);
  return eddy.sequential([rnn, new eddy.Linear({ inFeatures: dirs * c.hidden, outFeatures: 1 })]);
}

async function main(): Promise<void> {
  const [id, stepsArg, mode = 'dp', warmupArg = '1'] = process.argv.slice(2);
  if (!['dp', 'alone', 'barrier'].includes(mode)) throw new Error(`Expected mode dp, alone or barrier but received ${mode}`);
  const alone = mode === 'alone';
  const lockstepOnly = mode === 'barrier';
  const c = BENCH_CONFIGS.find((k) => k.id === id);
  if (!c) throw new Error(`Unknown configuration ${id}`);
  const steps = Number(stepsArg);
  const warmup = Number(warmupArg);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`Expected a positive integer of steps but received ${stepsArg}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`Expected a non-negative integer of warm-up steps but received ${warmupArg}`);
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
  // Per step (read only with EDDY_BENCH_PER_STEP, as the reads cost the JavaScript thread): the wall
  // milliseconds of compute, the process's CPU milliseconds (every thread), the JavaScript thread's, page faults.
  const perStep = Boolean(process.env.EDDY_BENCH_PER_STEP);
  const stepCompute = new Float64Array(steps + 1);
  const stepCpu = new Float64Array(steps + 1);
  const stepJs = new Float64Array(steps + 1);
  const stepFaults = new Float64Array(steps + 1);
  let compute = 0;
  const step = async (i: number): Promise<void> => {
    const t0 = performance.now();
    const u0 = perStep ? process.cpuUsage() : null;
    const s0 = perStep ? cpuOfMain() : null;
    optimizer.zeroGrad();
    const loss = eddy.losses.mse((await model.forwardAsync(x)) as eddy.Tensor, y);
    const gradients = alone || lockstepOnly ? null : dp.gradients(params, c.batch);
    await eddy.backwardAsync([loss], undefined, gradients ? { onGradReady: (t, g) => gradients.ready(t, g) } : {});
    const t1 = performance.now();
    await gradients?.finish(c.batch * worldSize);
    if (lockstepOnly) await eddy.distributed.barrier();
    const t2 = performance.now();
    optimizer.step();
    arrival[i] = performance.timeOrigin + t1;
    exposed[i] = t2 - t1;
    stepCompute[i] = t1 - t0 + (performance.now() - t2);
    if (u0 && s0) {
      const u = process.cpuUsage(u0);
      const s1 = cpuOfMain();
      stepCpu[i] = (u.user + u.system) / 1000;
      stepJs[i] = (s1.ns - s0.ns) / 1e6;
      stepFaults[i] = s1.faults - s0.faults;
    }
    compute += stepCompute[i];
  };
  for (let i = 0; i < warmup; i++) await step(steps);
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
  if (perStep) {
    const ms = (a: Float64Array): number[] => Array.from(a.subarray(0, steps), (v) => +v.toFixed(1));
    const lastRank = Array.from(arrival.subarray(0, steps), (t, i) => (t === last[i] ? 1 : 0));
    console.log(JSON.stringify({ suite: 'distributed', per_step: rank, mode, config: c.id, compute_ms: ms(stepCompute), cpu_ms: ms(stepCpu), js_ms: ms(stepJs), faults: ms(stepFaults), exposed_ms: ms(exposed), last: lastRank }));
  }
  const paramBytes = params.reduce((a, p) => a + p.size * 4, 0);
  if (rank === 0 && alone) {
    console.log(JSON.stringify({ suite: 'distributed', config: c.id, name: c.name, independent_processes: worldSize, threads_per_process: 1, tokens_per_s: Math.round(sums[3]), ms_per_step: +(sums[0] / worldSize).toFixed(1), cpu_ms: cpuMs }));
  } else if (rank === 0) {
    const mean = (v: number): number => v / worldSize;
    console.log(JSON.stringify({
      suite: 'distributed', config: c.id, name: c.name, ranks: worldSize, threads_per_rank: 1,
      // A lock-step job without exchange says so: its all-reduce figures are the barrier's.
      ...(lockstepOnly ? { mode: 'barrier' } : {}),
      tokens_per_s: Math.round(tokensPerS),
      gflops: +((3 * forwardFlopsPerToken(c) * tokens) / (stepMs * 1e6)).toFixed(1),
      ms_per_step: +stepMs.toFixed(1), compute_ms: +mean(sums[0]).toFixed(1), exposed_comm_ms: +mean(sums[2]).toFixed(2),
      wait_ms: +mean(sums[1]).toFixed(2), allreduce_ms: +mean(sums[2] - sums[1]).toFixed(2),
      param_bytes: paramBytes, cpu_ms: cpuMs,
    }));
  }
  if (worldSize > 1 && mode === 'dp' && c.id === 'C1') await bandwidth(rank, worldSize, paramBytes);
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
