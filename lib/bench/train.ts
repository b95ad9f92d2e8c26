/**
 * The character LSTM end to end, the way a user writes its training loop:
 * Embedding(V, 64) → LSTM(64, 256) → Linear(256, V) on the bundled Austen
 * novel, batches of 32 × 100 characters at seeded random offsets, mean
 * cross-entropy, Adam (lr 3e-3), clipGradNorm 1 — the same step as the
 * PyTorch script it is raced against (and as the parity test replays).
 * Prints tokens/s (the median of several timed windows), ms per step,
 * GFLOP/s (the LSTM's 3·2·4H·(E + H) and the head's 3·2·H·V per token) and
 * the first and last losses, with the kernels that ran.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as eddy from '../index';

const E = 64;
const H = 256;
const B = 32;
const T = 100;
const WARMUP_STEPS = 3;
const WINDOWS = 5;
const STEPS_PER_WINDOW = 6;

/** The novel every text example trains on, shipped with the package. */
const TEXT = path.resolve(__dirname, '..', '..', '..', 'examples', 'data', 'austen-northanger-abbey.txt');

/** The text as ids into its sorted characters (Python's `sorted(set(text))`: by code point). */
function encodeText(text: string): { data: Int32Array; vocab: number } {
  const chars = Array.from(new Set(Array.from(text))).sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const lookup = new Map(chars.map((c, i) => [c, i]));
  return { data: Int32Array.from(Array.from(text), (c) => lookup.get(c)!), vocab: chars.length };
}

/** One timed character-LSTM run with the current thread count. */
export async function measureCharLstm(): Promise<Record<string, unknown>> {
  const { data, vocab: V } = encodeText(fs.readFileSync(TEXT, 'utf8'));
  eddy.manualSeed(0);
  const model = eddy.sequential([
    new eddy.Embedding({ numEmbeddings: V, embeddingDim: E }),
    new eddy.LSTM({ inputSize: E, hiddenSize: H }),
    new eddy.Linear({ inFeatures: H, outFeatures: V }),
  ]);
  const optimizer = new eddy.optim.Adam(model.parameters(), { lr: 3e-3 });
  const offsets = new eddy.Generator(1);
  const x = new Float32Array(B * T);
  const y = new Int32Array(B * T);
  const losses: number[] = [];

  const step = async (): Promise<void> => {
    for (let b = 0; b < B; b++) {
      const o = Math.floor(offsets.next() * (data.length - T - 1));
      for (let t = 0; t < T; t++) {
        x[b * T + t] = data[o + t];
        y[b * T + t] = data[o + t + 1];
      }
    }
    const logits = await model.forwardAsync(eddy.tensor(x, [B, T]), { training: true });
    const loss = eddy.losses.crossEntropy(logits, y);
    optimizer.zeroGrad();
    await eddy.backwardAsync([loss]);
    eddy.clipGradNorm(model.parameters(), 1);
    optimizer.step();
    losses.push(loss.item());
  };

  for (let i = 0; i < WARMUP_STEPS; i++) await step();
  const windows: number[] = [];
  for (let w = 0; w < WINDOWS; w++) {
    const t0 = performance.now();
    for (let i = 0; i < STEPS_PER_WINDOW; i++) await step();
    windows.push((performance.now() - t0) / STEPS_PER_WINDOW);
  }
  windows.sort((a, b) => a - b);
  const msPerStep = windows[Math.floor(windows.length / 2)];
  const flopsPerToken = 3 * 2 * (4 * H * (E + H) + H * V);
  const info = eddy.runtimeInfo();
  return {
    suite: 'train', name: 'char-lstm', system: 'eddy', threads: eddy.getNumThreads(), vocab: V, batch: B, seq: T,
    tokens_per_s: Math.round((B * T) / (msPerStep / 1000)),
    ms_per_step: +msPerStep.toFixed(2),
    gflops: +((flopsPerToken * B * T) / (msPerStep * 1e6)).toFixed(1),
    loss_first: +losses[0].toFixed(4),
    losses_first: losses.slice(0, 5).map((l) => +l.toFixed(4)),
    loss_last: +losses[losses.length - 1].toFixed(4),
    isa: info.isa, kernel: info.kernels.recurrentGemm, blas: info.kernels.blas,
  };
}

/** One JSON line per thread count. */
export async function runTrainBench(threadCounts: number[]): Promise<void> {
  const previous = eddy.getNumThreads();
  try {
    for (const threads of threadCounts) {
      eddy.setNumThreads(threads);
      console.log(JSON.stringify(await measureCharLstm()));
    }
  } finally {
    eddy.setNumThreads(previous);
  }
}
