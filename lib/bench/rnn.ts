/**
 * Recurrent layers on the configurations C1–C5 (configs.ts), through
 * the public API: inference is `forward` under `noGrad` in eval mode; a
 * training step is `forward` + `backward` from a given output gradient,
 * with the input's gradient and the gradients cleared before each step,
 * as the other systems' benchmarks do (no optimizer). FLOPs as in DESIGN.md §3: 2·G·H·(in + H) per token, layer
 * and direction forward, three times that for a training step.
 */
import * as eddy from '../index';
import { BenchConfig, forwardFlopsPerToken, BENCH_CONFIGS } from './configs';
import { measure } from './measure';

function layerFor(c: BenchConfig): eddy.RNN | eddy.LSTM | eddy.GRU {
  const opts = { inputSize: c.input, hiddenSize: c.hidden, numLayers: c.layers, bidirectional: c.bidirectional };
  if (c.cell === 'lstm') return new eddy.LSTM(opts);
  if (c.cell === 'gru') return new eddy.GRU(opts);
  return new eddy.RNN({ ...opts, nonlinearity: c.cell === 'rnn_relu' ? 'relu' : 'tanh' });
}

export interface RnnMeasurement {
  config: string;
  name: string;
  mode: 'inference' | 'training';
  threads: number;
  tokensPerSecond: number;
  msPerIter: number;
  gflops: number;
  /** How the steps were split across threads (runtimeInfo().kernels.recurrentSplit). */
  split: string;
}

/** Times inference and a training step of one configuration with the current thread count. */
export function measureRnn(c: BenchConfig, sampleMs = 1000, samples = 5): RnnMeasurement[] {
  eddy.manualSeed(1);
  const layer = layerFor(c);
  const dirs = c.bidirectional ? 2 : 1;
  const x = eddy.tensor(Float32Array.from({ length: c.batch * c.seq * c.input }, () => Math.random() - 0.5), [c.batch, c.seq, c.input]);
  const gOut = eddy.tensor(Float32Array.from({ length: c.batch * c.seq * dirs * c.hidden }, () => Math.random() - 0.5), [c.batch, c.seq, dirs * c.hidden]);
  const tokens = c.batch * c.seq;
  const flops = forwardFlopsPerToken(c) * tokens;
  // A training step does what the other systems' steps do: gradients
  // cleared first (PyTorch's `p.grad = None`), the input's gradient too.
  const xg = eddy.tensor(x.data, x.shape, { requiresGrad: true });
  const trainingStep = () => {
    layer.zeroGrad();
    xg.grad = null;
    eddy.backward([layer.train().forward(xg).output], [gOut]);
  };
  const modes: [RnnMeasurement['mode'], number, () => void][] = [
    ['inference', flops, () => void eddy.noGrad(() => layer.eval().forward(x))],
    ['training', 3 * flops, trainingStep],
  ];
  return modes.map(([mode, work, fn]) => {
    const t = measure(fn, sampleMs, samples);
    return {
      config: c.id, name: c.name, mode, threads: eddy.getNumThreads(),
      tokensPerSecond: tokens / (t.msPerIter / 1000), msPerIter: t.msPerIter, gflops: work / (t.msPerIter * 1e6),
      split: eddy.runtimeInfo().kernels.recurrentSplit,
    };
  });
}

/** One JSON line per (configuration, mode, thread count). */
export function runRnnBench(threadCounts: number[], only?: string[]): void {
  const configs = BENCH_CONFIGS.filter((c) => !only || only.length === 0 || only.includes(c.id));
  for (const threads of threadCounts) {
    eddy.setNumThreads(threads);
    for (const c of configs) {
      for (const m of measureRnn(c)) {
        console.log(JSON.stringify({
          config: m.config, name: m.name, mode: m.mode, threads: m.threads,
          tokens_per_s: Math.round(m.tokensPerSecond),
          ms_per_iter: +m.msPerIter.toFixed(3),
          gflops: +m.gflops.toFixed(1),
          split: m.split,
        }));
      }
    }
  }
}
