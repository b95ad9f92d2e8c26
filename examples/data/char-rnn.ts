/**
 * A character-level language model on Jane Austen's Northanger Abbey: build
 * the vocabulary, train a GRU for a few epochs, report bits per character
 * against the unigram entropy, and stream generated text token by token.
 * Run with `npx tsc -p . && node dist/examples/data/char-rnn.js [epochs]`.
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import * as eddy from '../../lib';

async function main(): Promise<void> {
  const epochs = Number(process.argv[2] ?? 3);
  eddy.manualSeed(0);
  const text = readFileSync(path.join(__dirname, '../../../examples/data/austen-northanger-abbey.txt'), 'utf8');
  const tokenizer = eddy.text.CharTokenizer.fromTexts(text);
  const ids = tokenizer.encode(text);
  const split = Math.floor(ids.length * 0.9);
  const train = eddy.text.nextTokenData(ids.subarray(0, split), { sequenceLength: 100 });
  const validation = eddy.text.nextTokenData(ids.subarray(split), { sequenceLength: 100 });
  console.log(`${ids.length} characters, vocabulary ${tokenizer.vocabSize}, unigram entropy ${eddy.text.unigramEntropy(ids).toFixed(3)} bits/char`);

  const V = tokenizer.vocabSize;
  // The shape eddy.text.generate understands: Embedding → recurrent layers → per-step layers → logits.
  const model = eddy.sequential([
    new eddy.Embedding({ numEmbeddings: V, embeddingDim: 64 }),
    new eddy.LSTM({ inputSize: 64, hiddenSize: 256 }),
    new eddy.Linear({ inFeatures: 256, outFeatures: V }),
  ]);
  await model.fit(train, {
    epochs,
    batchSize: 32,
    loss: 'crossEntropy',
    metrics: ['bitsPerCharacter'],
    validationData: validation,
    clipNorm: 5,
    optimizer: new eddy.optim.Adam(model.parameters(), { lr: 0.005 }),
    callbacks: { onEpochEnd: (epoch, logs) => console.log(`epoch ${epoch}: train ${logs.bitsPerCharacter.toFixed(3)}, validation ${logs.valBitsPerCharacter.toFixed(3)} bits/char`) },
  });

  // Store the vocabulary with the model: JSON.stringify(tokenizer) and CharTokenizer.fromJSON.
  const prompt = 'Catherine ';
  process.stdout.write(prompt);
  for await (const piece of eddy.text.generate(model, { tokenizer, prompt, length: 400, temperature: 0.7, topP: 0.95, seed: 1 })) {
    process.stdout.write(piece);
  }
  process.stdout.write('\n');
}

void main();
