/**
 * `eddy train --task text` (the default): a character-level language model,
 * on the bundled Austen text unless --data says otherwise, and a sample at
 * the end. `eddy evaluate` scores it in bits per character.
 */
import * as path from 'path';
import * as eddy from '../../index';
import { ValidationError } from '../../errors';
import { bundledData, TrainConfig } from '../config';
import { readData } from '../inputs';
import { tokenizerOf, writeMetadata } from '../metadata';
import { recurrent, Resumed, Run } from '../run';
import type { TrainTask } from '../task';

async function train(c: TrainConfig, resumed?: Resumed): Promise<void> {
  if (c.bidirectional) throw new ValidationError('Expected no --bidirectional for --task text: a language model reads left to right (generation needs a unidirectional model)');
  let text = readData(c.data);
  if (c.maxChars !== undefined) text = text.slice(0, c.maxChars);
  const tokenizer = resumed ? tokenizerOf(resumed.metadata) : eddy.text.CharTokenizer.fromTexts(text);
  const ids = tokenizer.encode(text);
  const split = Math.floor(ids.length * 0.9);
  if (split < c.seqLen + 1 || ids.length - split < c.seqLen + 1) {
    throw new ValidationError(`Expected at least ${Math.ceil((c.seqLen + 1) / 0.1)} characters in --data for --seq-len ${c.seqLen} but received ${ids.length}`);
  }
  const data = eddy.text.nextTokenData(ids.subarray(0, split), { sequenceLength: c.seqLen });
  const validationData = eddy.text.nextTokenData(ids.subarray(split), { sequenceLength: c.seqLen });
  const V = tokenizer.vocabSize;
  const layers: eddy.Module[] = [new eddy.Embedding({ numEmbeddings: V, embeddingDim: c.embedding }), recurrent(c, c.embedding)];
  if (c.dropout > 0) layers.push(new eddy.Dropout({ p: c.dropout }));
  layers.push(new eddy.Linear({ inFeatures: c.hidden, outFeatures: V }));
  const model = eddy.sequential(layers as never);
  const run = new Run(c, resumed);
  const optimizer = await run.start(model);
  const entropy = eddy.text.unigramEntropy(ids);
  console.log(`Training a character-level ${c.cell.toUpperCase()} on ${path.basename(c.data)}: ${ids.length.toLocaleString('en-US')} characters, vocabulary ${V}, ${model.parameters().reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0).toLocaleString('en-US')} parameters, ${eddy.getNumThreads()} threads`);
  console.log(`(unigram entropy ${entropy.toFixed(3)} bits/char: a model that has learned something scores below it)`);
  const metadata = writeMetadata({ task: 'text', tokenizer: JSON.stringify(tokenizer) });
  const fitted = await run.fit(model, optimizer, {
    data,
    validationData,
    loss: 'crossEntropy',
    metrics: ['bitsPerCharacter'],
    rows: data.x.shape[0],
    tokensPerBatch: c.batchSize * c.seqLen,
    unit: 'tok',
    epochLine: (l) => `${l.valBitsPerCharacter?.toFixed(3) ?? '-'} bits/char`,
    metadata,
  });
  if (!fitted) return;
  await run.finish(model, metadata, async () => {
    let sample = c.prompt;
    console.log(`\nSample (temperature 0.8):\n`);
    process.stdout.write(c.prompt);
    for await (const piece of eddy.text.generate(model, { tokenizer, prompt: c.prompt, length: c.sampleLength, temperature: 0.8, seed: c.seed })) {
      process.stdout.write(piece);
      sample += piece;
    }
    process.stdout.write('\n\n');
    return {
      title: `eddy train: ${c.cell.toUpperCase()} language model`,
      facts: { characters: ids.length, vocabulary: V, 'unigram entropy (bits/char)': entropy.toFixed(3), 'final validation bits/char': run.history.valBitsPerCharacter?.at(-1)?.toFixed(3) ?? '-' },
      sample,
      next: `eddy generate ${run.modelPath} --prompt "Catherine" --length 300`,
    };
  });
}

export const task: TrainTask = {
  // Sized for about 90 s on 2 unloaded cores (see README).
  defaults: { data: bundledData('austen-northanger-abbey.txt'), cell: 'lstm', hidden: 256, seqLen: 100, batchSize: 32, epochs: 7, lr: 0.005, clipNorm: 5, dropout: 0 },
  train,
  async evaluate(model, metadata, o) {
    if (!o.data) throw new ValidationError('Expected --data <file.txt> for `eddy evaluate` of a text model');
    let text = readData(o.data);
    if (o.maxChars !== undefined) text = text.slice(0, o.maxChars);
    const tokenizer = tokenizerOf(metadata);
    const ids = tokenizer.encode(text);
    const data = eddy.text.nextTokenData(ids, { sequenceLength: o.seqLen });
    const logs = await model.evaluate(data, { loss: 'crossEntropy', metrics: ['bitsPerCharacter', 'accuracy'], batchSize: 64 });
    console.log(`${ids.length.toLocaleString('en-US')} characters of ${o.data}`);
    console.log(`loss ${logs.loss.toFixed(4)}, ${logs.bitsPerCharacter.toFixed(3)} bits/char (unigram entropy ${eddy.text.unigramEntropy(ids).toFixed(3)}), next-character accuracy ${(100 * logs.accuracy).toFixed(1)} %`);
  },
};
