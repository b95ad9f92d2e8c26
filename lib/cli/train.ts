/**
 * `eddy train`: a character-level language model (default, on the bundled
 * Austen text) or a forecaster (`--task forecast`), with progress, a
 * checkpoint on Ctrl-C, `--resume`, the model file and report.html.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import * as path from 'path';
import * as eddy from '../index';
import { fileError, FormatError, ValidationError } from '../errors';
import { renderReport, ReportInput } from '../report/report';
import type { Logs } from '../model/callbacks';
import { checkConfig, TrainConfig } from './config';
import { TrainingProgress } from './progress';

const META_CONFIG = 'cli_config';
const META_HISTORY = 'cli_history';

type Recurrent = eddy.LSTM | eddy.GRU | eddy.RNN;

export function recurrent(c: TrainConfig, inputSize: number): Recurrent {
  const opts = { inputSize, hiddenSize: c.hidden, numLayers: c.layers, bidirectional: c.bidirectional, dropout: c.layers > 1 ? c.dropout : 0 };
  if (c.cell === 'gru') return new eddy.GRU(opts);
  if (c.cell === 'rnn') return new eddy.RNN(opts);
  return new eddy.LSTM(opts);
}

export function optimizerFor(c: TrainConfig, model: eddy.Module): eddy.optim.Optimizer<{ lr: number }> {
  const params = model.parameters();
  switch (c.optimizer) {
    case 'sgd':
      return new eddy.optim.SGD(params, { lr: c.lr, momentum: 0.9 }) as eddy.optim.Optimizer<{ lr: number }>;
    case 'adamw':
      return new eddy.optim.AdamW(params, { lr: c.lr }) as eddy.optim.Optimizer<{ lr: number }>;
    case 'rmsprop':
      return new eddy.optim.RMSprop(params, { lr: c.lr }) as eddy.optim.Optimizer<{ lr: number }>;
    case 'adagrad':
      return new eddy.optim.Adagrad(params, { lr: c.lr }) as eddy.optim.Optimizer<{ lr: number }>;
    default:
      return new eddy.optim.Adam(params, { lr: c.lr }) as eddy.optim.Optimizer<{ lr: number }>;
  }
}

/** The --data file as text; a binary file (a NUL byte, or bytes that are not UTF-8) is refused rather than trained on. */
export function readData(file: string): string {
  if (!existsSync(file)) throw new ValidationError(`Cannot find the --data file ${JSON.stringify(file)}`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw fileError(err, file);
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new FormatError(`Expected a text file for --data but ${JSON.stringify(file)} is binary (a NUL byte at offset ${nul})`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FormatError(`Expected a UTF-8 text file for --data but ${JSON.stringify(file)} is not valid UTF-8`);
  }
}

/** Everything a run needs besides its task: SIGINT handling, history, checkpoint paths. */
export class Run {
  readonly controller = new AbortController();
  interrupted = false;
  readonly history: Record<string, number[]> = {};
  readonly gradNorm: number[] = [];
  readonly learningRate: number[] = [];
  epochsDone = 0;
  steps = 0;
  private readonly onSigint = (): void => {
    if (this.interrupted) process.exit(130); // a second Ctrl-C does not wait for the checkpoint
    this.interrupted = true;
    this.controller.abort(new Error('interrupted'));
  };

  constructor(readonly c: TrainConfig) {
    mkdirSync(c.out, { recursive: true });
    process.on('SIGINT', this.onSigint);
  }

  get modelPath(): string {
    return path.join(this.c.out, 'model.safetensors');
  }
  get checkpointPath(): string {
    return path.join(this.c.out, 'checkpoint.safetensors');
  }
  get reportPath(): string {
    return path.join(this.c.out, 'report.html');
  }

  done(): void {
    process.off('SIGINT', this.onSigint);
  }

  /**
   * The weights, optimizer state and telemetry at the last epoch boundary:
   * what Ctrl-C saves, so a resumed run repeats no batch.
   */
  private boundary: { weights: Map<eddy.Parameter, Float32Array>; optimizer: eddy.optim.OptimizerStateDict; steps: number; gradNorm: number; learningRate: number } | null = null;

  private markBoundary(model: eddy.Model, optimizer: eddy.optim.Optimizer<{ lr: number }>): void {
    this.boundary = {
      weights: new Map(model.parameters().map((p) => [p, p.data.data.slice()])),
      optimizer: optimizer.stateDict(),
      steps: this.steps,
      gradNorm: this.gradNorm.length,
      learningRate: this.learningRate.length,
    };
  }

  callbacks(progress: TrainingProgress, optimizer: eddy.optim.Optimizer<{ lr: number }>, extra?: (logs: Logs) => string): eddy.Callback {
    return {
      onTrainBegin: (model) => this.markBoundary(model, optimizer),
      onEpochBegin: (epoch) => progress.epochBegin(epoch),
      onBatchEnd: (_b, logs) => {
        progress.batchEnd(logs);
        if (logs.gradNorm !== undefined) this.gradNorm.push(logs.gradNorm);
        this.learningRate.push(optimizer.paramGroups[0].lr);
        this.steps++;
      },
      onEpochEnd: (epoch, logs, model) => {
        progress.epochEnd(epoch, logs, extra ? extra(logs) : '');
        for (const [k, v] of Object.entries(logs)) (this.history[k] ??= []).push(v);
        this.epochsDone++;
        this.markBoundary(model, optimizer);
      },
    };
  }

  /** Runs fit; on Ctrl-C saves a checkpoint and returns false. */
  async fit(model: eddy.Model, optimizer: eddy.optim.Optimizer<{ lr: number }>, progress: TrainingProgress, fitIt: () => Promise<unknown>, metadata: Record<string, string>, firstEpoch: number): Promise<boolean> {
    try {
      await fitIt();
      return true;
    } catch (e) {
      progress.abort();
      if (!(e instanceof eddy.AbortError) || !this.interrupted) throw e;
      // Back to the last epoch boundary: the checkpoint's epoch count, its
      // weights and its curves then describe the same moment.
      const b = this.boundary;
      if (b) {
        for (const [p, w] of b.weights) p.data.data.set(w);
        optimizer.loadStateDict(b.optimizer);
        this.steps = b.steps;
        this.gradNorm.length = b.gradNorm;
        this.learningRate.length = b.learningRate;
      }
      await eddy.saveCheckpoint(this.checkpointPath, {
        model,
        optimizer,
        epoch: firstEpoch + this.epochsDone,
        step: this.steps,
        metadata: { ...metadata, [META_CONFIG]: JSON.stringify(this.c), [META_HISTORY]: JSON.stringify({ history: this.history, gradNorm: this.gradNorm, learningRate: this.learningRate }) },
      });
      console.log(`\nInterrupted after ${firstEpoch + this.epochsDone} complete epoch(s): checkpoint saved to ${this.checkpointPath}`);
      console.log(`Continue with: eddy train --resume ${this.checkpointPath}`);
      process.exitCode = 130;
      return false;
    }
  }
}

export interface Resumed {
  checkpoint: string;
  epoch: number;
  metadata: Record<string, string>;
}

/** Reads the settings stored in a checkpoint by an interrupted `eddy train`. */
export async function resumeConfig(file: string): Promise<{ config: TrainConfig; resumed: Resumed }> {
  if (!existsSync(file)) throw new ValidationError(`Cannot find the checkpoint ${JSON.stringify(file)} for --resume`);
  const info = await eddy.describeModelFile(file);
  if (info.kind !== 'checkpoint' || info.metadata[META_CONFIG] === undefined) throw new ValidationError(`Expected a checkpoint written by an interrupted \`eddy train\` for --resume but ${JSON.stringify(file)} is not one`);
  const config = JSON.parse(info.metadata[META_CONFIG]) as TrainConfig;
  return { config, resumed: { checkpoint: file, epoch: 0, metadata: info.metadata } };
}

function restoreHistory(run: Run, metadata: Record<string, string>): void {
  const h = metadata[META_HISTORY];
  if (!h) return;
  const saved = JSON.parse(h) as { history: Record<string, number[]>; gradNorm: number[]; learningRate: number[] };
  Object.assign(run.history, saved.history);
  run.gradNorm.push(...saved.gradNorm);
  run.learningRate.push(...saved.learningRate);
}

export async function restore(resumed: Resumed | undefined, model: eddy.Model, optimizer: eddy.optim.Optimizer<{ lr: number }>, run: Run): Promise<number> {
  if (!resumed) return 0;
  const ck = await eddy.loadCheckpoint(resumed.checkpoint, { model, optimizer });
  restoreHistory(run, ck.metadata);
  console.log(`Resuming from ${resumed.checkpoint} after epoch ${ck.epoch}`);
  return ck.epoch;
}

/** The learning-rate curve when it changes (a constant rate is in the facts table; renderReport draws a flat series at the wrong height). */
export function varying(values: number[]): number[] | undefined {
  return values.some((v) => v !== values[0]) ? values : undefined;
}

export function facts(c: TrainConfig, extra: Record<string, string | number>): Record<string, string | number> {
  return {
    task: c.task,
    data: c.data,
    model: `${c.cell.toUpperCase()} hidden ${c.hidden} × ${c.layers} layer(s)${c.bidirectional ? ', bidirectional' : ''}`,
    optimizer: `${c.optimizer}, lr ${c.lr}, clip-norm ${c.clipNorm || 'off'}`,
    'batch × sequence': `${c.batchSize} × ${c.seqLen}`,
    threads: eddy.getNumThreads(),
    ...extra,
  };
}

// ---------------------------------------------------------------- text

export async function trainText(c: TrainConfig, resumed?: Resumed): Promise<void> {
  if (c.bidirectional) throw new ValidationError('Expected no --bidirectional for --task text: a language model reads left to right (generation needs a unidirectional model)');
  let text = readData(c.data);
  if (c.maxChars !== undefined) text = text.slice(0, c.maxChars);
  const tokenizer = resumed ? eddy.text.CharTokenizer.fromJSON(JSON.parse(resumed.metadata.tokenizer)) : eddy.text.CharTokenizer.fromTexts(text);
  const ids = tokenizer.encode(text);
  const split = Math.floor(ids.length * 0.9);
  if (split < c.seqLen + 1 || ids.length - split < c.seqLen + 1) {
    throw new ValidationError(`Expected at least ${Math.ceil((c.seqLen + 1) / 0.1)} characters in --data for --seq-len ${c.seqLen} but received ${ids.length}`);
  }
  const train = eddy.text.nextTokenData(ids.subarray(0, split), { sequenceLength: c.seqLen });
  const validation = eddy.text.nextTokenData(ids.subarray(split), { sequenceLength: c.seqLen });
  const V = tokenizer.vocabSize;
  const layers: eddy.Module[] = [new eddy.Embedding({ numEmbeddings: V, embeddingDim: c.embedding }), recurrent(c, c.embedding)];
  if (c.dropout > 0) layers.push(new eddy.Dropout({ p: c.dropout }));
  layers.push(new eddy.Linear({ inFeatures: c.hidden, outFeatures: V }));
  const model = eddy.sequential(layers as never);
  const optimizer = optimizerFor(c, model);
  const run = new Run(c);
  const firstEpoch = await restore(resumed, model, optimizer, run);
  const epochs = c.epochs - firstEpoch;
  const entropy = eddy.text.unigramEntropy(ids);
  console.log(`Training a character-level ${c.cell.toUpperCase()} on ${path.basename(c.data)}: ${ids.length.toLocaleString('en-US')} characters, vocabulary ${V}, ${model.parameters().reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0).toLocaleString('en-US')} parameters, ${eddy.getNumThreads()} threads`);
  console.log(`(unigram entropy ${entropy.toFixed(3)} bits/char: a model that has learned something scores below it)`);
  const metadata = { task: 'text', tokenizer: JSON.stringify(tokenizer) };
  if (epochs > 0) {
    const progress = new TrainingProgress({ epochs: c.epochs, firstEpoch, batchesPerEpoch: Math.ceil(train.x.shape[0] / c.batchSize), tokensPerBatch: c.batchSize * c.seqLen, unit: 'tok', tty: process.stdout.isTTY === true });
    const ok = await run.fit(model, optimizer, progress, () =>
      model.fit(train, {
        epochs,
        batchSize: c.batchSize,
        loss: 'crossEntropy',
        metrics: ['bitsPerCharacter'],
        validationData: validation,
        clipNorm: c.clipNorm > 0 ? c.clipNorm : undefined,
        optimizer,
        signal: run.controller.signal,
        callbacks: run.callbacks(progress, optimizer, (l) => `${l.valBitsPerCharacter?.toFixed(3) ?? '-'} bits/char`),
      }), metadata, firstEpoch);
    if (!ok) return run.done();
  }
  run.done();
  await eddy.save(model, run.modelPath, { metadata });

  let sample = c.prompt;
  console.log(`\nSample (temperature 0.8):\n`);
  process.stdout.write(c.prompt);
  for await (const piece of eddy.text.generate(model, { tokenizer, prompt: c.prompt, length: c.sampleLength, temperature: 0.8, seed: c.seed })) {
    process.stdout.write(piece);
    sample += piece;
  }
  process.stdout.write('\n\n');
  const report: ReportInput = {
    title: `eddy train: ${c.cell.toUpperCase()} language model`,
    facts: facts(c, { characters: ids.length, vocabulary: V, 'unigram entropy (bits/char)': entropy.toFixed(3), 'final validation bits/char': run.history.valBitsPerCharacter?.at(-1)?.toFixed(3) ?? '-' }),
    history: run.history,
    learningRate: varying(run.learningRate),
    gradNorm: run.gradNorm,
    sample,
  };
  writeFileSync(run.reportPath, renderReport(report));
  console.log(`Model saved to ${run.modelPath}`);
  console.log(`Report saved to ${run.reportPath}`);
  console.log(`Try: eddy generate ${run.modelPath} --prompt "Catherine" --length 300`);
}

// ---------------------------------------------------------------- forecast

/** Linear interpolation of NaNs (ends held), for plotting. */
function filled(values: readonly number[]): number[] {
  const out = values.slice();
  let last = -1;
  for (let i = 0; i <= out.length; i++) {
    if (i < out.length && Number.isNaN(out[i])) continue;
    for (let j = last + 1; j < i; j++) {
      if (last < 0) out[j] = out[i];
      else if (i >= out.length) out[j] = out[last];
      else out[j] = out[last] + ((out[i] - out[last]) * (j - last)) / (i - last);
    }
    last = i;
  }
  return out;
}

export async function readColumn(file: string, column: string | undefined): Promise<{ values: number[]; name: string; time: string[] | null }> {
  if (!existsSync(file)) throw new ValidationError(`Cannot find the --data file ${JSON.stringify(file)}`);
  const table = await eddy.timeseries.readSeriesCsv(file, { missing: 'keep' });
  const name = column ?? table.columns[0];
  if (!table.columns.includes(name)) throw new ValidationError(`Expected --column to be one of ${table.columns.map((n) => JSON.stringify(n)).join(', ')} in ${file} but received ${JSON.stringify(name)}`);
  return { values: table.column(name), name, time: table.time };
}

export async function trainForecast(c: TrainConfig, resumed?: Resumed): Promise<void> {
  const { values, name } = await readColumn(c.data, c.column);
  const inputSteps = c.seqLen;
  if (values.length < inputSteps + c.testSize + 10) throw new ValidationError(`Expected more than ${inputSteps + c.testSize + 10} rows in ${c.data} for --seq-len ${inputSteps} and --test-size ${c.testSize} but received ${values.length}`);
  const missing = values.filter(Number.isNaN).length;
  console.log(`Forecasting ${JSON.stringify(name)} from ${path.basename(c.data)}: ${values.length} rows (${missing} missing, interpolated), last ${c.testSize} held out, ${inputSteps} steps of history per window`);
  const run = new Run(c);
  let interrupted = false;
  let firstEpoch = 0;
  const makeModel = (): eddy.Sequential =>
    eddy.sequential([recurrent(c, 1), new eddy.SequencePooling({ mode: 'last' }), new eddy.Linear({ inFeatures: c.hidden * (c.bidirectional ? 2 : 1), outFeatures: 1 })] as never);
  let optimizerRef: eddy.optim.Optimizer<{ lr: number }> | null = null;
  let scalerJson = '';
  const result = await eddy.timeseries.evaluateForecast({
    series: values,
    inputSteps,
    horizon: 1,
    testSize: c.testSize,
    season: c.season > 0 ? c.season : undefined,
    missing: 'interpolate',
    scaler: new eddy.timeseries.StandardScaler(),
    fitModel: async ({ x, y }) => {
      const model = makeModel();
      const optimizer = optimizerFor(c, model);
      optimizerRef = optimizer;
      firstEpoch = await restore(resumed, model, optimizer, run);
      const epochs = c.epochs - firstEpoch;
      if (epochs <= 0) return model;
      const progress = new TrainingProgress({ epochs: c.epochs, firstEpoch, batchesPerEpoch: Math.ceil(x.shape[0] / c.batchSize), tokensPerBatch: c.batchSize * inputSteps, unit: 'steps', tty: process.stdout.isTTY === true });
      const ok = await run.fit(model, optimizer, progress, () =>
        model.fit({ x, y: y.reshape([y.shape[0], 1]) }, {
          epochs,
          batchSize: c.batchSize,
          loss: 'mse',
          clipNorm: c.clipNorm > 0 ? c.clipNorm : undefined,
          optimizer,
          signal: run.controller.signal,
          callbacks: run.callbacks(progress, optimizer),
        }), { task: 'forecast' }, firstEpoch);
      if (!ok) {
        interrupted = true;
        throw new eddy.AbortError('interrupted');
      }
      return model;
    },
  }).catch((e: unknown) => {
    if (interrupted) return null;
    throw e;
  });
  run.done();
  if (!result) return;
  void optimizerRef;
  const model = result.fittedModel as eddy.Sequential;
  scalerJson = JSON.stringify(result.scaler);
  const metadata = { task: 'forecast', scaler: scalerJson, inputSteps: String(inputSteps), column: name };
  await eddy.save(model, run.modelPath, { metadata });

  console.log(`\nOne step ahead over the last ${c.testSize} rows (walk-forward, ${result.scored} values scored):`);
  console.log(result.report);

  // The held-out tail for the report: one-step forecasts from the actual history before each row.
  const forecaster = new eddy.timeseries.Forecaster(model, { inputSteps, scaler: result.scaler ?? undefined, missing: 'interpolate' });
  const start = values.length - c.testSize;
  const smooth = filled(values);
  const predicted: number[] = [];
  for (let t = start; t < values.length; t++) predicted.push(((await forecaster.forecast(values.slice(0, t), 1)) as number[])[0]);
  const baselines: Record<string, number[]> = { naive: smooth.slice(start - 1, values.length - 1) };
  if (c.season > 0) baselines['seasonal naive'] = smooth.slice(start - c.season, values.length - c.season);
  const report: ReportInput = {
    title: `eddy train: ${c.cell.toUpperCase()} forecaster for ${name}`,
    facts: facts(c, {
      rows: values.length,
      'missing values (interpolated)': missing,
      'held-out rows': c.testSize,
      'model MAE': result.model.mae.toPrecision(4),
      'naive MAE': result.naive.mae.toPrecision(4),
      ...(result.seasonalNaive ? { 'seasonal-naive MAE': result.seasonalNaive.mae.toPrecision(4) } : {}),
    }),
    history: run.history,
    learningRate: varying(run.learningRate),
    gradNorm: run.gradNorm,
    forecast: { x: predicted.map((_, i) => start + i), actual: smooth.slice(start), predicted, baselines },
  };
  writeFileSync(run.reportPath, renderReport(report));
  console.log(`\nModel saved to ${run.modelPath}`);
  console.log(`Report saved to ${run.reportPath}`);
  console.log(`Try: eddy forecast ${run.modelPath} --data ${c.data} --steps 52`);
}

export async function train(config: TrainConfig, resumed?: Resumed): Promise<void> {
  const c = checkConfig(config);
  if (c.threads !== undefined) eddy.setNumThreads(c.threads);
  eddy.manualSeed(c.seed);
  if (c.task === 'classify') return (await import('./classify')).trainClassify(c, resumed);
  if (c.task === 'forecast') return trainForecast(c, resumed);
  return trainText(c, resumed);
}
