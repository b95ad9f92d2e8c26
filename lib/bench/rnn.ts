/**
 * Recurrent layers on the configurations C1–C5 (bench/configs.json), through
 * the public API: inference is `forward` under `noGrad` in eval mode; a
 * training step is `forward` + `backward` from a given output gradient
 * (no optimizer). FLOPs as in DESIGN.md §3: 2·G·H·(in + H) per token, layer
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

export function runRnnBench(threadCounts: number[], only?: string[]): void {
  const configs = BENCH_CONFIGS.filter((c) => !only || only.length === 0 || only.includes(c.id));
  for (const threads of threadCounts) {
    eddy.setNumThreads(threads);
    for (const c of configs) {
      eddy.manualSeed(1);
      const layer = layerFor(c);
      const dirs = c.bidirectional ? 2 : 1;
      const x = eddy.tensor(Float32Array.from({ length: c.batch * c.seq * c.input }, () => Math.random() - 0.5), [c.batch, c.seq, c.input]);
      const gOut = eddy.tensor(Float32Array.from({ length: c.batch * c.seq * dirs * c.hidden }, () => Math.random() - 0.5), [c.batch, c.seq, dirs * c.hidden]);
      const tokens = c.batch * c.seq;
      const flops = forwardFlopsPerToken(c) * tokens;
      const modes: [string, number, () => void][] = [
        ['inference', flops, () => void eddy.noGrad(() => layer.eval().forward(x))],
        [
          'training',
          3 * flops,
          () => {
            const { output } = layer.train().forward(x);
            eddy.backward([output], [gOut]);
          },
        ],
      ];
      for (const [mode, work, fn] of modes) {
        const t = measure(fn, 1000, 5);
        console.log(JSON.stringify({
          config: c.id, name: c.name, mode, threads,
          tokens_per_s: Math.round(tokens / (t.msPerIter / 1000)),
          ms_per_iter: +t.msPerIter.toFixed(3),
          gflops: +(work / (t.msPerIter * 1e6)).toFixed(1),
        }));
      }
    }
  }
}
