/**
 * A recurrent–transformer hybrid on the Austen character task: an LSTM
 * under a causal TransformerEncoder layer, beside a plain LSTM with about
 * the same number of parameters, both trained on the same characters of
 * Northanger Abbey (examples/data) and scored in bits per character on
 * held-out text. Run with `npx tsc -p . && node dist/examples/austen-hybrid.js`;
 * `EDDY_AUSTEN_CHARS` (training characters, default 200 000) and
 * `EDDY_AUSTEN_EPOCHS` (default 1) scale it.
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import * as eddy from '../lib';

async function trainAndScore(name: string, model: eddy.Sequential, train: { x: eddy.Tensor; y: eddy.Tensor }, heldOut: { x: eddy.Tensor; y: eddy.Tensor }, epochs: number): Promise<void> {
  const params = model.parameters().reduce((a, p) => a + p.data.size, 0);
  const started = Date.now();
  await model.fit(train, { epochs, batchSize: 32, loss: 'crossEntropy', clipNorm: 1, optimizer: new eddy.optim.Adam(model.parameters(), { lr: 3e-3 }), generator: new eddy.Generator(1) });
  const { bitsPerCharacter } = await model.evaluate(heldOut, { loss: 'crossEntropy', metrics: ['bitsPerCharacter'], batchSize: 256 });
  console.log(`${name.padEnd(34)} ${params.toLocaleString('en-US').padStart(8)} parameters   held-out ${bitsPerCharacter.toFixed(3)} bits/char   (${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

async function main(): Promise<void> {
  const text = readFileSync(path.join(__dirname, '../../examples/data/austen-northanger-abbey.txt'), 'utf8');
  const tokenizer = eddy.text.CharTokenizer.fromTexts(text);
  const ids = tokenizer.encode(text);
  const chars = Number(process.env.EDDY_AUSTEN_CHARS ?? 200_000);
  const epochs = Number(process.env.EDDY_AUSTEN_EPOCHS ?? 1);
  const train = eddy.text.nextTokenData(ids.subarray(0, chars), { sequenceLength: 64 });
  const heldOut = eddy.text.nextTokenData(ids.subarray(ids.length - 20_000), { sequenceLength: 64 });
  const V = tokenizer.vocabSize;
  console.log(`vocabulary ${V}; ${chars} training characters, ${epochs} epoch(s); unigram entropy ${eddy.text.unigramEntropy(ids).toFixed(3)} bits/char`);

  eddy.manualSeed(0);
  const plain = eddy.sequential([
    new eddy.Embedding({ numEmbeddings: V, embeddingDim: 32 }),
    new eddy.LSTM({ inputSize: 32, hiddenSize: 272 }),
    new eddy.Linear({ inFeatures: 272, outFeatures: V }),
  ]);
  await trainAndScore('LSTM 272', plain, train, heldOut, epochs);

  eddy.manualSeed(0);
  const hybrid = eddy.sequential([
    new eddy.Embedding({ numEmbeddings: V, embeddingDim: 32 }),
    new eddy.LSTM({ inputSize: 32, hiddenSize: 160 }),
    new eddy.TransformerEncoder({ dModel: 160, nhead: 4, dimFeedforward: 320, dropout: 0, normFirst: true }, { numLayers: 1, causal: true }),
    new eddy.Linear({ inFeatures: 160, outFeatures: V }),
  ]);
  await trainAndScore('LSTM 160 → causal TransformerEncoder', hybrid, train, heldOut, epochs);
}

void main();
