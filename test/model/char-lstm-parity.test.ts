/**
 * The character LSTM end to end against PyTorch: PyTorch's initial weights
 * and the batch offsets of its first 20 steps (test/fixtures/reference/
 * char-lstm, written by scripts/make-char-lstm-fixture.py) are replayed
 * through the step `npm run bench -- train` times — Eddy's public API:
 * sequential([Embedding, LSTM, Linear]), crossEntropy, Adam, clipGradNorm —
 * and every step's loss must match PyTorch's, with the step called
 * synchronously and asynchronously alike (and the two bit for bit equal).
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as eddy from '../../lib';
import { CHAR_LSTM, CHAR_LSTM_TEXT, charLstm, charLstmStep, encodeText, fillBatch, STEP_MODES, StepMode } from '../../lib/bench/train';

const FIXTURE = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'reference', 'char-lstm');

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
 * Both sides run in float32 with different summation orders (OpenBLAS
 * against oneDNN/MKL GEMMs, a different softmax and norm reduction), so
 * the weights part by a few float32 ulps a step, which Adam's normalised
 * update keeps at that size; the loss, a mean over 3200 tokens, moves far
 * less than 1e-4 of itself over 20 steps unless a formula differs (epsilon
 * inside Adam's square root, a clipping norm without its 1e-6, a summed
 * instead of averaged loss each move it by 1e-3 or more).
 */
const TOL = 1e-4;

describe('character LSTM against PyTorch', function () {
  this.timeout(120000);

  const replay = async (run: Run, mode: StepMode): Promise<number[]> => {
    const { data, vocab } = encodeText(fs.readFileSync(CHAR_LSTM_TEXT, 'utf8'));
    assert.strictEqual(vocab.join(''), run.vocab, 'the vocabulary differs from PyTorch’s');
    const model = charLstm(vocab.length);
    await eddy.io.loadWeights(model, path.join(FIXTURE, 'init.safetensors'));
    const optimizer = new eddy.optim.Adam(model.parameters(), { lr: run.lr });
    const x = new Float32Array(run.B * run.T);
    const y = new Int32Array(run.B * run.T);
    const losses: number[] = [];
    for (const offsets of run.offsets.slice(0, 20)) {
      fillBatch(x, y, data, offsets);
      losses.push(await charLstmStep(model, optimizer, x, y, run.clip_norm, mode));
    }
    return losses;
  };

  it('matches the first 20 losses of PyTorch on its weights and batches, the step called either way', async () => {
    const run = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'run.json'), 'utf8')) as Run;
    assert.deepStrictEqual({ E: run.E, H: run.H, B: run.B, T: run.T }, CHAR_LSTM);
    const byMode = new Map<StepMode, number[]>();
    for (const mode of STEP_MODES) {
      const losses = await replay(run, mode);
      byMode.set(mode, losses);
      let worst = 0;
      losses.forEach((l, i) => {
        const ref = run.losses[i];
        const rel = Math.abs(l - ref) / Math.abs(ref);
        worst = Math.max(worst, rel);
        assert.ok(rel <= TOL, `${mode} step ${i}: loss ${l} vs PyTorch ${ref} (relative difference ${rel.toExponential(2)} > ${TOL})`);
      });
      console.log(`      ${mode}: ${losses.length} losses, ${losses[0].toFixed(4)} → ${losses[losses.length - 1].toFixed(4)}; max relative difference ${worst.toExponential(1)} (tolerance ${TOL})`);
    }
    // The same kernels on the same thread count, whichever thread calls them.
    assert.deepStrictEqual(byMode.get('async'), byMode.get('sync'), 'the asynchronous step’s losses differ from the synchronous step’s');
  });
});
