/**
 * An encoder-decoder with attention on a synthetic task: reverse sequences
 * of symbols. A bidirectional GRU encodes the source; a GRU decoder reads
 * the target shifted right (teacher forcing) and attends over the encoder
 * outputs, masked by the source lengths. Then greedy decoding, and where
 * the attention looks. Run with `npx tsc -p . && node dist/examples/seq2seq-attention.js`.
 */
import * as eddy from '../lib';

const V = 8; // symbols 0..7; V itself starts the decoder input
const T = 8; // longest sequence
const MIN = 5; // shortest sequence

/** n random sequences, their reversals, and the decoder inputs (BOS, then the target shifted right). */
function reversal(n: number, g: eddy.Generator): { x: [eddy.Tensor, eddy.Tensor]; y: eddy.Tensor; lengths: Int32Array } {
  const src = new Float32Array(n * T), dec = new Float32Array(n * T), y = new Float32Array(n * T);
  const lengths = new Int32Array(n);
  for (let b = 0; b < n; b++) {
    const L = (lengths[b] = MIN + Math.floor(g.next() * (T - MIN + 1)));
    for (let t = 0; t < L; t++) src[b * T + t] = Math.floor(g.next() * V);
    for (let t = 0; t < L; t++) y[b * T + t] = src[b * T + L - 1 - t];
    dec[b * T] = V;
    for (let t = 1; t < L; t++) dec[b * T + t] = y[b * T + t - 1];
  }
  return { x: [eddy.tensor(src, [n, T]), eddy.tensor(dec, [n, T])], y: eddy.tensor(y, [n, T]), lengths };
}

async function main(): Promise<void> {
  eddy.manualSeed(21);
  const E = 16, H = 32;
  const source = eddy.input({ shape: [null], name: 'source' });
  const decoderInput = eddy.input({ shape: [null], name: 'decoder input' });
  const keys = new eddy.GRU({ inputSize: E, hiddenSize: H, bidirectional: true }).apply(new eddy.Embedding({ numEmbeddings: V, embeddingDim: E }).apply(source));
  const queries = new eddy.GRU({ inputSize: E, hiddenSize: H }).apply(new eddy.Embedding({ numEmbeddings: V + 1, embeddingDim: E }).apply(decoderInput));
  const attended = new eddy.AdditiveAttention({ querySize: H, keySize: 2 * H, hiddenSize: H }).apply([queries, keys]);
  const logits = new eddy.Linear({ inFeatures: 3 * H, outFeatures: V }).apply(new eddy.Concatenate().apply([queries, attended]));
  const model = eddy.model({ inputs: [source, decoderInput], outputs: logits });
  const attentionOf = eddy.model({ inputs: [source, decoderInput], outputs: attended.get('weights') });
  console.log(model.summary([[T], [T]]));

  const train = reversal(2048, new eddy.Generator(22));
  const test = reversal(500, new eddy.Generator(23));
  await model.fit(train, {
    epochs: 7, batchSize: 128, loss: 'crossEntropy', metrics: ['accuracy'],
    optimizer: new eddy.optim.Adam(model.parameters(), { lr: 0.01 }),
    callbacks: { onEpochEnd: (e, logs) => console.log(`epoch ${e + 1}: loss ${logs.loss.toFixed(3)}, token accuracy ${logs.accuracy.toFixed(3)}`) },
  });

  // Greedy decoding: the decoder is causal, so feed back the argmax one step at a time.
  const n = test.lengths.length;
  const fed = new Float32Array(n * T);
  for (let b = 0; b < n; b++) fed[b * T] = V;
  const argmax = (o: Float32Array, row: number): number => {
    let best = 0;
    for (let c = 1; c < V; c++) if (o[row * V + c] > o[row * V + best]) best = c;
    return best;
  };
  let out = await model.predict([test.x[0], eddy.tensor(fed, [n, T])], { lengths: test.lengths, batchSize: n });
  for (let j = 0; j + 1 < T; j++) {
    const o = out.toFloat32Array();
    for (let b = 0; b < n; b++) fed[b * T + j + 1] = argmax(o, b * T + j);
    out = await model.predict([test.x[0], eddy.tensor(fed, [n, T])], { lengths: test.lengths, batchSize: n });
  }
  console.log(`held-out token accuracy, greedy: ${eddy.metrics.accuracy(out, test.y, { lengths: test.lengths }).toFixed(3)}`);

  // Output step j should attend to source step L − 1 − j: print one example's weights.
  const w = eddy.noGrad(() => attentionOf.forward(test.x, { lengths: test.lengths }) as eddy.Tensor);
  const L = test.lengths[0];
  console.log(`attention of the first test sequence (length ${L}), rows = output steps:`);
  for (let j = 0; j < L; j++) console.log('  ' + Array.from({ length: L }, (_, t) => w.get(0, j, t).toFixed(2)).join(' '));
}

void main();
