/**
 * Proof that Eddy learns: three classic sequence tasks, each trained from a
 * fixed seed (weights, data and shuffling), asserting the loss or accuracy
 * reached on held-out data — never time. Models are tiny and batches large
 * so the whole file runs in seconds.
 */
import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';
import { addingProblem, MOTIF_VOCAB, motifClassification, repad, reversal } from './tasks';

/** `count` fresh batches from `make` every time it is iterated: an endless training stream cut into epochs. */
function stream<T>(count: number, make: () => T): Iterable<T> {
  return {
    *[Symbol.iterator]() {
      for (let i = 0; i < count; i++) yield make();
    },
  };
}

describe('learning (seeded, thresholds on held-out data)', () => {
  describe('adding problem, T = 50', () => {
    const T = 50;
    const THRESHOLD = 0.01;
    /** MSE of always predicting 1 (the mean of the target). */
    const trivial = (y: Tensor): number => {
      const d = y.toFloat32Array();
      return d.reduce((s, v) => s + (v - 1) * (v - 1), 0) / d.length;
    };

    for (const [name, Cell, steps] of [
      ['an LSTM', eddy.LSTM, 600],
      ['a GRU', eddy.GRU, 300],
    ] as const) {
      it(`is solved by ${name} (test MSE < ${THRESHOLD})`, async () => {
        eddy.manualSeed(11);
        const H = 32;
        const model = eddy.sequential([
          new Cell({ inputSize: 2, hiddenSize: H }),
          new eddy.SequencePooling({ mode: 'last' }),
          new eddy.Linear({ inFeatures: H, outFeatures: 1 }),
        ]);
        // The usual forget-gate bias of 1 shortens the LSTM's initial plateau.
        if (Cell === eddy.LSTM) eddy.init.lstmForgetBias(model, 1);
        const data = new eddy.Generator(12);
        const test = addingProblem(1000, T, new eddy.Generator(13));
        const stepsPerEpoch = 50;
        const history = await model.fit(
          stream(stepsPerEpoch, () => addingProblem(128, T, data)),
          { epochs: steps / stepsPerEpoch, loss: 'mse', clipNorm: 1, optimizer: new eddy.optim.Adam(model.parameters(), { lr: 0.01 }) },
        );
        const { loss } = await model.evaluate(test, { loss: 'mse', batchSize: 1000 });
        const train = history.history.loss;
        console.log(
          `      ${steps} steps of 128 fresh sequences: train MSE ${train[0].toFixed(3)} → ${train[train.length - 1].toFixed(4)}; ` +
            `test MSE ${loss.toFixed(4)} (threshold ${THRESHOLD}; predicting 1.0 gives ${trivial(test.y).toFixed(3)})`,
        );
        assert.ok(loss < THRESHOLD, `test MSE ${loss} is not below ${THRESHOLD}`);
      });
    }
  });

  describe('sequence reversal', () => {
    it('is learned by an attention encoder-decoder (held-out token accuracy ≥ 0.9)', async () => {
      // Functional API: a bidirectional GRU encodes the source; a GRU decoder
      // reads the target shifted right (teacher forcing) and attends over the
      // encoder outputs, masked by the source lengths; [decoder; context] →
      // Linear → logits per step. The model's lengths apply to every layer:
      // encoder, decoder, attention keys and the loss (source and target have
      // the same length).
      const V = 8, T = 8, MIN = 5, E = 16, H = 32;
      eddy.manualSeed(21);
      const src = eddy.input({ shape: [null], name: 'source' });
      const decIn = eddy.input({ shape: [null], name: 'decoder input' });
      const keys = new eddy.GRU({ inputSize: E, hiddenSize: H, bidirectional: true }).apply(new eddy.Embedding({ numEmbeddings: V, embeddingDim: E }).apply(src));
      const queries = new eddy.GRU({ inputSize: E, hiddenSize: H }).apply(new eddy.Embedding({ numEmbeddings: V + 1, embeddingDim: E }).apply(decIn));
      const attention = new eddy.AdditiveAttention({ querySize: H, keySize: 2 * H, hiddenSize: H }).apply([queries, keys]);
      const logits = new eddy.Linear({ inFeatures: 3 * H, outFeatures: V }).apply(new eddy.Concatenate().apply([queries, attention]));
      const model = eddy.model({ inputs: [src, decIn], outputs: logits });
      const weightsOf = eddy.model({ inputs: [src, decIn], outputs: attention.get('weights') });

      const train = reversal(2048, T, MIN, V, new eddy.Generator(22));
      const test = reversal(1000, T, MIN, V, new eddy.Generator(23));
      const history = await model.fit(train, {
        epochs: 7,
        batchSize: 128,
        loss: 'crossEntropy',
        metrics: ['accuracy'],
        optimizer: new eddy.optim.Adam(model.parameters(), { lr: 0.01 }),
        generator: new eddy.Generator(24),
      });
      const forced = await model.evaluate(test, { loss: 'crossEntropy', metrics: ['accuracy'], batchSize: 1000 });

      // Free-running (greedy) decoding: the decoder is causal, so step j's
      // output depends only on decoder inputs 0..j; feed back the argmax.
      const n = test.lengths.length;
      const argmax = (o: Float32Array, row: number): number => {
        let best = 0;
        for (let c = 1; c < V; c++) if (o[row * V + c] > o[row * V + best]) best = c;
        return best;
      };
      const fed = new Float32Array(n * T);
      for (let b = 0; b < n; b++) fed[b * T] = V;
      const decode = (): Promise<Tensor> => model.predict([test.x[0], eddy.tensor(fed.slice(), [n, T])], { lengths: test.lengths, batchSize: n });
      for (let j = 0; j + 1 < T; j++) {
        const o = (await decode()).toFloat32Array();
        for (let b = 0; b < n; b++) fed[b * T + j + 1] = argmax(o, b * T + j);
      }
      const out = await decode();
      const greedy = eddy.metrics.accuracy(out, test.y, { lengths: test.lengths });
      const o = out.toFloat32Array(), y = test.y.toFloat32Array();
      let sequences = 0;
      for (let b = 0; b < n; b++) {
        let t = 0;
        while (t < test.lengths[b] && argmax(o, b * T + t) === y[b * T + t]) t++;
        if (t === test.lengths[b]) sequences++;
      }

      // Where the attention looks: output step j should read source step L−1−j.
      const w = eddy.noGrad(() => weightsOf.forward(test.x, { lengths: test.lengths }) as Tensor).toFloat32Array();
      let mirrored = 0, steps = 0;
      for (let b = 0; b < n; b++) {
        const L = test.lengths[b];
        for (let j = 0; j < L; j++, steps++) mirrored += w[(b * T + j) * T + (L - 1 - j)];
      }

      const acc = history.history.accuracy;
      console.log(`      7 epochs of 2048 sequences (vocabulary ${V}, lengths ${MIN}–${T}): train token accuracy ${acc[0].toFixed(3)} → ${acc[acc.length - 1].toFixed(3)}`);
      console.log(`      held-out token accuracy ${forced.accuracy.toFixed(3)} teacher-forced, ${greedy.toFixed(3)} greedy (threshold 0.9); whole sequences right (greedy) ${(sequences / n).toFixed(3)}`);
      console.log(`      mean attention weight on the mirrored source step ${(mirrored / steps).toFixed(3)}`);
      assert.ok(forced.accuracy >= 0.9, `teacher-forced token accuracy ${forced.accuracy} < 0.9`);
      assert.ok(greedy >= 0.9, `greedy token accuracy ${greedy} < 0.9`);
      assert.ok(mirrored / steps > 0.5, `mean attention on the mirrored step ${mirrored / steps} ≤ 0.5`);
    });
  });

  describe('classification of variable-length sequences', () => {
    it('is learned by a bidirectional LSTM with max pooling (held-out accuracy ≥ 0.9), and padding does not matter', async () => {
      const T = 20, MIN = 3, E = 8, H = 16;
      eddy.manualSeed(31);
      const model = eddy.sequential([
        new eddy.Embedding({ numEmbeddings: MOTIF_VOCAB, embeddingDim: E }),
        new eddy.LSTM({ inputSize: E, hiddenSize: H, bidirectional: true }),
        new eddy.SequencePooling({ mode: 'max' }),
        new eddy.Linear({ inFeatures: 2 * H, outFeatures: 3 }),
      ]);
      const train = motifClassification(2048, T, MIN, new eddy.Generator(32));
      const test = motifClassification(1000, T, MIN, new eddy.Generator(33));
      const history = await model.fit(train, {
        epochs: 5,
        batchSize: 128,
        loss: 'crossEntropy',
        metrics: ['accuracy'],
        optimizer: new eddy.optim.Adam(model.parameters(), { lr: 0.01 }),
        generator: new eddy.Generator(34),
      });
      const held = await model.evaluate(test, { loss: 'crossEntropy', metrics: ['accuracy'], batchSize: 1000 });

      // Padded steps must not matter: other tokens there, the same outputs.
      const before = (await model.predict(test.x, { lengths: test.lengths, batchSize: 1000 })).toFloat32Array();
      const after = (await model.predict(repad(test.x, test.lengths, MOTIF_VOCAB, new eddy.Generator(35)), { lengths: test.lengths, batchSize: 1000 })).toFloat32Array();
      let diff = 0;
      for (let i = 0; i < before.length; i++) diff = Math.max(diff, Math.abs(before[i] - after[i]));

      const acc = history.history.accuracy;
      console.log(`      5 epochs of 2048 sequences (lengths ${MIN}–${T}, 3 motifs): train accuracy ${acc[0].toFixed(3)} → ${acc[acc.length - 1].toFixed(3)}`);
      console.log(`      held-out accuracy ${held.accuracy.toFixed(3)} (threshold 0.9), loss ${held.loss.toFixed(4)}; max |Δ logit| after changing the padding ${diff}`);
      assert.ok(held.accuracy >= 0.9, `held-out accuracy ${held.accuracy} < 0.9`);
      assert.strictEqual(diff, 0, 'changing padded steps changed the predictions');
    });
  });
});
