/**
 * `eddy train --task classify`: sequence classification of labelled texts
 * (CSV with text,label columns, or JSON lines { text, label }). Without
 * --data, a labelled set made from the bundled novel: each paragraph's
 * opening, quotation marks removed, labelled dialogue or narration — the
 * model must tell them apart by style alone. `eddy evaluate` scores its
 * accuracy.
 */
import * as path from 'path';
import * as eddy from '../../index';
import { ValidationError } from '../../errors';
import { logLabel } from '../../report/report';
import { bundledData, TrainConfig } from '../config';
import { checkDataFile, readData } from '../inputs';
import { metadataJson, tokenizerOf, writeMetadata } from '../metadata';
import { recurrent, Resumed, Run } from '../run';
import type { TrainTask } from '../task';

const NOVEL = 'austen-northanger-abbey.txt';

/** Paragraphs of the novel, labelled by whether they open with speech, with the quotation marks removed. */
export function dialogueOrNarration(text: string): eddy.text.LabeledExamples {
  const out: eddy.text.LabeledExamples = { texts: [], labels: [] };
  for (const raw of text.split(/\r?\n\s*\r?\n/)) {
    const p = raw.replace(/\s+/g, ' ').trim();
    if (p.length < 20 || /^(CHAPTER|Chapter)\b/.test(p)) continue;
    out.labels.push(p.startsWith('"') ? 'dialogue' : 'narration');
    out.texts.push(p.replace(/["“”]/g, ''));
  }
  return out;
}

/** Labelled texts from `file`, or the bundled dialogue/narration set without one. */
export async function readLabeled(file: string | undefined): Promise<{ examples: eddy.text.LabeledExamples; source: string }> {
  if (file === undefined || file === bundledData(NOVEL)) {
    const source = bundledData(NOVEL);
    return { examples: dialogueOrNarration(readData(source)), source: `${path.basename(source)} (dialogue vs narration)` };
  }
  checkDataFile(file);
  const examples = /\.jsonl?$/i.test(file) ? await eddy.text.readLabeledJsonl(file) : await eddy.text.readLabeledCsv(file);
  if (examples.texts.length < 10) throw new ValidationError(`Expected at least 10 labelled texts in ${file} but received ${examples.texts.length}`);
  return { examples, source: file };
}

/** Shuffles example indices with a seeded generator and splits them 85 / 15. */
function split(n: number, seed: number): { train: number[]; validation: number[] } {
  const order = Array.from(new eddy.Generator(seed).permutation(n));
  const k = Math.max(1, Math.round(n * 0.15));
  return { train: order.slice(k), validation: order.slice(0, k) };
}

export function encodeLabeled(tokenizer: eddy.text.CharTokenizer, labels: eddy.text.LabelMap, ex: eddy.text.LabeledExamples, rows: number[], maxLength: number): { x: eddy.Tensor; y: eddy.Tensor; lengths: Int32Array } {
  const { x, lengths } = tokenizer.encodeBatch(rows.map((i) => ex.texts[i]), { maxLength });
  const y = eddy.tensor(Float32Array.from(labels.encode(rows.map((i) => ex.labels[i]))), [rows.length]);
  return { x, y, lengths };
}

function percent(fraction: number | undefined): string {
  return fraction === undefined ? '-' : (100 * fraction).toFixed(1);
}

async function train(c: TrainConfig, resumed?: Resumed): Promise<void> {
  const { examples, source } = await readLabeled(c.data === bundledData(NOVEL) ? undefined : c.data);
  const tokenizer = resumed ? tokenizerOf(resumed.metadata) : eddy.text.CharTokenizer.fromTexts(examples.texts);
  const labels = resumed ? eddy.text.LabelMap.fromJSON(metadataJson(resumed.metadata, 'labels')) : eddy.text.LabelMap.fromLabels(examples.labels);
  if (labels.size < 2) throw new ValidationError(`Expected at least 2 distinct labels in ${source} but received ${labels.size}`);
  const rows = split(examples.texts.length, c.seed);
  const data = encodeLabeled(tokenizer, labels, examples, rows.train, c.seqLen);
  const validationData = encodeLabeled(tokenizer, labels, examples, rows.validation, c.seqLen);
  const D = c.bidirectional ? 2 : 1;
  const layers: eddy.Module[] = [
    new eddy.Embedding({ numEmbeddings: tokenizer.vocabSize, embeddingDim: c.embedding }),
    recurrent(c, c.embedding),
    new eddy.SequencePooling({ mode: c.bidirectional ? 'mean' : 'last' }),
  ];
  if (c.dropout > 0) layers.push(new eddy.Dropout({ p: c.dropout }));
  layers.push(new eddy.Linear({ inFeatures: c.hidden * D, outFeatures: labels.size }));
  const model = eddy.sequential(layers as never);
  const run = new Run(c, resumed);
  const optimizer = await run.start(model);
  const counts = labels.classes.map((name) => examples.labels.filter((l) => l === name).length);
  const majority = Math.max(...counts) / examples.labels.length;
  console.log(`Classifying ${examples.texts.length} texts from ${source} into ${labels.size} classes (${labels.classes.map((n, i) => `${n} ${counts[i]}`).join(', ')}); first ${c.seqLen} characters of each; ${rows.validation.length} held out`);
  console.log(`(always answering the most common class scores ${(100 * majority).toFixed(1)} % accuracy)`);
  const metadata = writeMetadata({ task: 'classify', tokenizer: JSON.stringify(tokenizer), labels: JSON.stringify(labels), maxLength: String(c.seqLen) });
  const meanLength = data.lengths.reduce((a, b) => a + b, 0) / data.lengths.length;
  const fitted = await run.fit(model, optimizer, {
    data,
    validationData,
    loss: 'crossEntropy',
    metrics: ['accuracy'],
    rows: rows.train.length,
    tokensPerBatch: c.batchSize * meanLength,
    unit: 'tok',
    epochLine: (l) => `${logLabel('valAccuracy')} ${(100 * (l.valAccuracy ?? NaN)).toFixed(1)} %`,
    metadata,
  });
  if (!fitted) return;
  await run.finish(model, metadata, async () => {
    const accuracy = run.history.valAccuracy?.at(-1);
    console.log(`\nValidation accuracy ${percent(accuracy)} % (majority class ${(100 * majority).toFixed(1)} %)`);
    return {
      title: `eddy train: ${c.cell.toUpperCase()} classifier`,
      facts: { texts: examples.texts.length, classes: labels.classes.join(', '), 'majority-class accuracy': `${(100 * majority).toFixed(1)} %`, 'final validation accuracy': accuracy === undefined ? '-' : `${percent(accuracy)} %` },
    };
  });
}

export const task: TrainTask = {
  defaults: { data: bundledData(NOVEL), cell: 'lstm', hidden: 64, seqLen: 200, batchSize: 32, epochs: 10, lr: 0.005, clipNorm: 5, dropout: 0 },
  train,
  /** Accuracy on labelled data (the bundled dialogue/narration set without --data). */
  async evaluate(model, metadata, o) {
    const { examples, source } = await readLabeled(o.data);
    const tokenizer = tokenizerOf(metadata);
    const labels = eddy.text.LabelMap.fromJSON(metadataJson(metadata, 'labels'));
    const unknown = examples.labels.find((l) => !labels.classes.includes(l));
    if (unknown !== undefined) throw new ValidationError(`Expected labels among ${labels.classes.join(', ')} in ${source} but received ${JSON.stringify(unknown)}`);
    const data = encodeLabeled(tokenizer, labels, examples, examples.texts.map((_, i) => i), Number(metadata.maxLength));
    const logs = await model.evaluate(data, { loss: 'crossEntropy', metrics: ['accuracy'], batchSize: 64 });
    console.log(`${examples.texts.length} texts of ${source}: loss ${logs.loss.toFixed(4)}, accuracy ${(100 * logs.accuracy).toFixed(1)} %`);
  },
};
