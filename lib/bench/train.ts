/**
 * The character LSTM end to end, the way a user writes its training loop:
 * Embedding(V, 64) → LSTM(64, 256) → Linear(256, V) on the bundled Austen
 * novel, batches of 32 × 100 characters at seeded random offsets, mean
 * cross-entropy, Adam (lr 3e-3), clipGradNorm 1 — the same step as the
 * PyTorch script it is raced against (and as the parity test replays).
 * The step runs twice: called synchronously, as the PyTorch script calls
 * its step, and with the recurrent layer off the main thread, as `fit`
 * calls it (StepMode). Prints, per mode, tokens/s (the median of several
 * timed windows), ms per step, GFLOP/s (the LSTM's 3·2·4H·(E + H) and the
 * head's 3·2·H·V per token) and the first and last losses, with the
 * kernels that ran.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as eddy from '../index';
import { measureAsync } from './measure';

/** The sizes of the run: embedding, hidden, batch and sequence length, as in the PyTorch script. */
export const CHAR_LSTM = { E: 64, H: 256, B: 32, T: 100 } as const;
const { E, H, B, T } = CHAR_LSTM;
const WARMUP_STEPS = 2;
/** Timed windows of at least SAMPLE_MS each; tokens/s comes from their median. */
const SAMPLES = 5;
const SAMPLE_MS = 1500;

/** The novel every text example trains on, shipped with the package. */
export const CHAR_LSTM_TEXT = path.resolve(__dirname, '..', '..', '..', 'examples', 'data', 'austen-northanger-abbey.txt');

/** The text as ids into its sorted characters (Python's `sorted(set(text))`: by code point). */
export function encodeText(text: string): { data: Int32Array; vocab: string[] } {
  const chars = Array.from(new Set(Array.from(text))).sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const lookup = new Map(chars.map((c, i) => [c, i]));
  return { data: Int32Array.from(Array.from(text), (c) => lookup.get(c)!), vocab: chars };
}

/** The character LSTM: Embedding(vocab, 64) → LSTM(64, 256) → Linear(256, vocab), batch-first. */
export function charLstm(vocab: number): eddy.Sequential {
  return eddy.sequential([
    new eddy.Embedding({ numEmbeddings: vocab, embeddingDim: E }),
    new eddy.LSTM({ inputSize: E, hiddenSize: H }),
    new eddy.Linear({ inFeatures: H, outFeatures: vocab }),
  ]);
}

/**
 * How the step calls the model: `sync` runs `forward` and `backward` on the
 * calling thread, as PyTorch's script runs its step; `async` runs the
 * recurrent layer's forward and backward on a worker thread
 * (`forwardAsync`, `backwardAsync`), as `fit` does to keep the event loop
 * free. Both compute the same losses, bit for bit.
 */
export type StepMode = 'sync' | 'async';

/** Every {@link StepMode}, in the order the benchmark runs them. */
export const STEP_MODES: readonly StepMode[] = ['sync', 'async'];

/**
 * One training step as a user writes it: forward, mean cross-entropy,
 * backward, clipGradNorm, Adam. `x` holds the input ids of a [batch, time]
 * batch, `y` the next ids. Returns the loss.
 */
export async function charLstmStep(
  model: eddy.Sequential,
  optimizer: eddy.optim.Optimizer<{ lr: number }>,
  x: Float32Array,
  y: Int32Array,
  clipNorm: number,
  mode: StepMode = 'async',
): Promise<number> {
  const input = eddy.tensor(x, [y.length / T, T]);
  const logits = mode === 'sync' ? model.forward(input, { training: true }) : await model.forwardAsync(input, { training: true });
  const loss = eddy.losses.crossEntropy(logits, y);
  optimizer.zeroGrad();
  if (mode === 'sync') eddy.backward([loss]);
  else await eddy.backwardAsync([loss]);
  eddy.clipGradNorm(model.parameters(), clipNorm);
  optimizer.step();
  return loss.item();
}

/** Fills `x` and `y` (row b: the T characters at offsets[b] and the T after each) from the text's ids. */
export function fillBatch(x: Float32Array, y: Int32Array, data: Int32Array, offsets: ArrayLike<number>): void {
  for (let b = 0; b < offsets.length; b++) {
    const o = offsets[b];
    for (let t = 0; t < T; t++) {
      x[b * T + t] = data[o + t];
      y[b * T + t] = data[o + t + 1];
    }
  }
}

/** One timed character-LSTM run with the current thread count, its step called as `mode` says. */
export async function measureCharLstm(mode: StepMode = 'async'): Promise<Record<string, unknown>> {
  const { data, vocab } = encodeText(fs.readFileSync(CHAR_LSTM_TEXT, 'utf8'));
  const V = vocab.length;
  eddy.manualSeed(0);
  const model = charLstm(V);
  const optimizer = new eddy.optim.Adam(model.parameters(), { lr: 3e-3 });
  const random = new eddy.Generator(1);
  const offsets = new Int32Array(B);
  const x = new Float32Array(B * T);
  const y = new Int32Array(B * T);
  const losses: number[] = [];
  const step = async (): Promise<void> => {
    for (let b = 0; b < B; b++) offsets[b] = Math.floor(random.next() * (data.length - T - 1));
    fillBatch(x, y, data, offsets);
    losses.push(await charLstmStep(model, optimizer, x, y, 1, mode));
  };

  for (let i = 0; i < WARMUP_STEPS; i++) await step();
  const msPerStep = (await measureAsync(step, SAMPLE_MS, SAMPLES)).msPerIter;
  const flopsPerToken = 3 * 2 * (4 * H * (E + H) + H * V);
  const info = eddy.runtimeInfo();
  return {
    suite: 'train', name: 'char-lstm', system: 'eddy', mode, threads: eddy.getNumThreads(), vocab: V, batch: B, seq: T,
    tokens_per_s: Math.round((B * T) / (msPerStep / 1000)),
    ms_per_step: +msPerStep.toFixed(2),
    gflops: +((flopsPerToken * B * T) / (msPerStep * 1e6)).toFixed(1),
    loss_first: +losses[0].toFixed(4),
    losses_first: losses.slice(0, 5).map((l) => +l.toFixed(4)),
    loss_last: +losses[losses.length - 1].toFixed(4),
    isa: info.isa, kernel: info.kernels.recurrentGemm, blas: info.kernels.blas,
  };
}

/**
 * One JSON line per thread count and step mode. `configs` (the bench's
 * `--configs`) may name step modes, `--configs sync` or `--configs async`;
 * when it names none (or names only other suites' configurations), every
 * mode in {@link STEP_MODES} runs.
 */
export async function runTrainBench(threadCounts: number[], configs: readonly string[] = []): Promise<void> {
  const named = STEP_MODES.filter((m) => configs.includes(m));
  const modes = named.length > 0 ? named : STEP_MODES;
  const previous = eddy.getNumThreads();
  try {
    for (const threads of threadCounts) {
      eddy.setNumThreads(threads);
      for (const mode of modes) console.log(JSON.stringify(await measureCharLstm(mode)));
    }
  } finally {
    eddy.setNumThreads(previous);
  }
}
