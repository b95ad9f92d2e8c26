/**
 * The character LSTM end to end against PyTorch: PyTorch's initial weights
 * and the batch offsets of its first 20 steps (test/fixtures/reference/
 * char-lstm, written by scripts/make-char-lstm-fixture.py) are replayed
 * through Eddy's public API — sequential([Embedding, LSTM, Linear]),
 * crossEntropy, Adam, clipGradNorm — and every step's loss must match
 * PyTorch's.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as eddy from '../../lib';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'reference', 'char-lstm');

interface Run {
  vocab: string;
  E: number;
  H: number;
  B: number;
  T: number;
  lr: number;
  clip_norm: number;
  offsets: number[][];
  losses: number[];
}

/**
 * Both sides run in float32 with different summation orders (OpenBLAS vs
 * oneDNN/MKL GEMMs, a different softmax and norm reduction), so each step's
 * weights differ by a few float32 ulps that Adam's normalised update keeps
 * at that size; the loss, a mean over 3200 tokens, moves by far less than
 * 1e-4 of itself over 20 steps unless a formula differs (an epsilon placed
 * inside the square root, a norm without the 1e-6, a sum instead of a mean
 * all show at 1e-3 or more).
 */
const TOL = 1e-4;

describe('character LSTM against PyTorch', function () {
  this.timeout(120000);

  it('matches the first 20 losses of PyTorch on its weights and batches', async () => {
    const run = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'run.json'), 'utf8')) as Run;
    const text = fs.readFileSync(path.join(ROOT, 'examples', 'data', 'austen-northanger-abbey.txt'), 'utf8');
    // Python's sorted(set(text)) orders by code point, as Array.from(vocab) lists them.
    const lookup = new Map(Array.from(run.vocab).map((c, i) => [c, i]));
    const data = Int32Array.from(Array.from(text), (c) => lookup.get(c) ?? -1);
    assert.ok(data.every((id) => id >= 0), 'the text holds a character the vocabulary lacks');
    const V = lookup.size;
    const { E, H, B, T } = run;

    const model = eddy.sequential([
      new eddy.Embedding({ numEmbeddings: V, embeddingDim: E }),
      new eddy.LSTM({ inputSize: E, hiddenSize: H }),
      new eddy.Linear({ inFeatures: H, outFeatures: V }),
    ]);
    await eddy.io.loadWeights(model, path.join(FIXTURE, 'init.safetensors'));
    const optimizer = new eddy.optim.Adam(model.parameters(), { lr: run.lr });

    const losses: number[] = [];
    for (const offsets of run.offsets.slice(0, 20)) {
      const x = new Float32Array(B * T);
      const y = new Int32Array(B * T);
      offsets.forEach((o, b) => {
        for (let t = 0; t < T; t++) {
          x[b * T + t] = data[o + t];
          y[b * T + t] = data[o + t + 1];
        }
      });
      const logits = await model.forwardAsync(eddy.tensor(x, [B, T]), { training: true });
      const loss = eddy.losses.crossEntropy(logits, y);
      optimizer.zeroGrad();
      await eddy.backwardAsync([loss]);
      eddy.clipGradNorm(model.parameters(), run.clip_norm);
      optimizer.step();
      losses.push(loss.item());
    }

    let worst = 0;
    losses.forEach((l, i) => {
      const ref = run.losses[i];
      const rel = Math.abs(l - ref) / Math.abs(ref);
      worst = Math.max(worst, rel);
      assert.ok(rel <= TOL, `step ${i}: loss ${l} vs PyTorch ${ref} (relative difference ${rel.toExponential(2)} > ${TOL})`);
    });
    console.log(`      ${losses.length} losses, ${losses[0].toFixed(4)} → ${losses[losses.length - 1].toFixed(4)}; max relative difference ${worst.toExponential(1)} (tolerance ${TOL})`);
  });
});
