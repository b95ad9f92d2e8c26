/**
 * Sequence classification on a small labelled set made from the bundled
 * novel: the opening of every paragraph, quotation marks removed, labelled
 * dialogue or narration. Texts of different lengths are padded and their
 * lengths passed along, so the LSTM's last real step feeds the classifier.
 * Run with `npx tsc -p . && node dist/examples/classify.js [epochs]`
 * (`eddy train --task classify` does the same from the command line).
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import * as eddy from '../lib';

async function main(): Promise<void> {
  const epochs = Number(process.argv[2] ?? 8);
  eddy.manualSeed(0);
  const novel = readFileSync(path.join(__dirname, '../../examples/data/austen-northanger-abbey.txt'), 'utf8');
  const texts: string[] = [];
  const labels: string[] = [];
  for (const raw of novel.split(/\n\s*\n/)) {
    const p = raw.replace(/\s+/g, ' ').trim();
    if (p.length < 20 || p.startsWith('CHAPTER')) continue;
    labels.push(p.startsWith('"') ? 'dialogue' : 'narration');
    texts.push(p.replace(/"/g, '')); // the model must hear the difference, not see the quotes
  }

  const tokenizer = eddy.text.CharTokenizer.fromTexts(texts);
  const labelMap = eddy.text.LabelMap.fromLabels(labels);
  // Every 7th paragraph is held out.
  const rows = (keep: (i: number) => boolean) => texts.map((_, i) => i).filter(keep);
  const encode = (idx: number[]) => ({
    ...tokenizer.encodeBatch(idx.map((i) => texts[i]), { maxLength: 200 }), // x [N, T] padded with 0, lengths [N]
    y: eddy.tensor(Float32Array.from(labelMap.encode(idx.map((i) => labels[i]))), [idx.length]),
  });
  const train = encode(rows((i) => i % 7 !== 0));
  const validation = encode(rows((i) => i % 7 === 0));

  const model = eddy.sequential([
    new eddy.Embedding({ numEmbeddings: tokenizer.vocabSize, embeddingDim: 32 }),
    new eddy.LSTM({ inputSize: 32, hiddenSize: 64 }),
    new eddy.SequencePooling({ mode: 'last' }), // each text's own last step, from the lengths
    new eddy.Linear({ inFeatures: 64, outFeatures: labelMap.size }),
  ]);
  const majority = Math.max(...labelMap.classes.map((c) => labels.filter((l) => l === c).length)) / labels.length;
  console.log(`${texts.length} paragraphs, classes ${labelMap.classes.join(' / ')}; the majority class alone scores ${(100 * majority).toFixed(1)} %`);
  await model.fit(train, {
    epochs,
    batchSize: 32,
    loss: 'crossEntropy',
    metrics: ['accuracy'],
    validationData: validation,
    clipNorm: 5,
    optimizer: new eddy.optim.Adam(model.parameters(), { lr: 0.005 }),
    callbacks: { onEpochEnd: (epoch, logs) => console.log(`epoch ${epoch + 1}: loss ${logs.loss.toFixed(3)}, validation accuracy ${(100 * logs.valAccuracy).toFixed(1)} %`) },
  });

  // Classifying new text: encode, predict logits, take the most likely class.
  const samples = ['I am sure I never said any such thing, and you know it very well', 'The morning passed away without any further event of consequence'];
  const logits = await model.predict(tokenizer.encodeBatch(samples).x, { lengths: tokenizer.encodeBatch(samples).lengths });
  const probs = eddy.softmax(logits, -1).toFloat32Array();
  samples.forEach((s, i) => {
    const p = Array.from(probs.subarray(i * labelMap.size, (i + 1) * labelMap.size));
    const best = p.indexOf(Math.max(...p));
    console.log(`${labelMap.classes[best].padEnd(9)} ${(100 * p[best]).toFixed(0)} %  ${s}`);
  });
}

void main();
