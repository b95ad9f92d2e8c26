/**
 * The streaming step: one native call per token through a layer's stepper
 * (LayerStepper), on the single-stream configuration C4 (LSTM 32 → 64,
 * batch 1), one thread. Prints steps per second (median wall time),
 * microseconds per step (wall, and CPU time of the process) and GFLOP/s
 * (2·G·H·(in + H) per step), with the kernels that ran.
 */
import * as eddy from '../index';
import { BENCH_CONFIGS, forwardFlopsPerToken } from './configs';
import { measure } from './measure';

/** Steps per timed call of the inner loop (amortizes the timer, not the per-step cost). */
const STEPS_PER_CALL = 1000;

export function runStepBench(_threads: number[], only?: string[]): void {
  const ids = only && only.length > 0 ? only : ['C4'];
  const previous = eddy.getNumThreads();
  eddy.setNumThreads(1);
  try {
    for (const c of BENCH_CONFIGS.filter((cfg) => ids.includes(cfg.id))) {
      if (c.layers !== 1 || c.bidirectional) continue;
      eddy.manualSeed(1);
      const opts = { inputSize: c.input, hiddenSize: c.hidden };
      const layer = c.cell === 'lstm' ? new eddy.LSTM(opts) : c.cell === 'gru' ? new eddy.GRU(opts) : new eddy.RNN({ ...opts, nonlinearity: c.cell === 'rnn_relu' ? 'relu' : 'tanh' });
      const stepper = layer.stepper({ batch: c.batch });
      const xs = Array.from({ length: 16 }, () => Float32Array.from({ length: c.batch * c.input }, () => Math.random() - 0.5));
      const cpu0 = process.cpuUsage();
      let calls = 0;
      const t = measure(() => {
        for (let i = 0; i < STEPS_PER_CALL; i++) stepper.step(xs[i & 15]);
        calls++;
      }, 500, 7);
      const cpu = process.cpuUsage(cpu0);
      const usPerStep = (t.msPerIter * 1000) / STEPS_PER_CALL;
      // CPU time per step, over every call made: on a shared machine it shows what an idle core would do.
      const cpuUsPerStep = (cpu.user + cpu.system) / (calls * STEPS_PER_CALL);
      const info = eddy.runtimeInfo();
      console.log(JSON.stringify({
        config: c.id, name: c.name, mode: 'step', threads: 1, batch: c.batch,
        steps_per_s: Math.round(1e6 / usPerStep),
        us_per_step: +usPerStep.toFixed(3),
        cpu_us_per_step: +cpuUsPerStep.toFixed(3),
        gflops: +((forwardFlopsPerToken(c) * c.batch) / (usPerStep * 1e3)).toFixed(1),
        isa: info.isa, kernel: info.kernels.recurrentGemm,
      }));
    }
  } finally {
    eddy.setNumThreads(previous);
  }
}
