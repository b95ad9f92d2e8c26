/**
 * Everything a run of `eddy train` needs besides its task: the recurrent
 * layer and optimizer the flags describe, Ctrl-C handling, the progress
 * lines, the checkpoint an interrupt writes and `--resume` reads, the
 * telemetry, and the model file and report.html at the end.
 */
import { existsSync, mkdirSync, writeFileSync } from 'fs';
import * as path from 'path';
import * as eddy from '../index';
import { ValidationError } from '../errors';
import { renderReport, ReportInput } from '../report/report';
import type { Logs } from '../model/callbacks';
import { TrainConfig } from './config';
import { writesFiles } from './distributed';
import { CliMetadata, metadataJson, readMetadata, writeMetadata } from './metadata';
import { TrainingProgress } from './progress';

type Recurrent = eddy.LSTM | eddy.GRU | eddy.RNN;
type Optimizer = eddy.optim.Optimizer<{ lr: number }>;

/** The recurrent layer (or stack) the flags describe, reading `inputSize` features per step. */
export function recurrent(c: TrainConfig, inputSize: number): Recurrent {
  const opts = { inputSize, hiddenSize: c.hidden, numLayers: c.layers, bidirectional: c.bidirectional, dropout: c.layers > 1 ? c.dropout : 0 };
  if (c.cell === 'gru') return new eddy.GRU(opts);
  if (c.cell === 'rnn') return new eddy.RNN(opts);
  return new eddy.LSTM(opts);
}

export function optimizerFor(c: TrainConfig, model: eddy.Module): Optimizer {
  const params = model.parameters();
  switch (c.optimizer) {
    case 'sgd':
      return new eddy.optim.SGD(params, { lr: c.lr, momentum: 0.9 }) as Optimizer;
    case 'adamw':
      return new eddy.optim.AdamW(params, { lr: c.lr }) as Optimizer;
    case 'rmsprop':
      return new eddy.optim.RMSprop(params, { lr: c.lr }) as Optimizer;
    case 'adagrad':
      return new eddy.optim.Adagrad(params, { lr: c.lr }) as Optimizer;
    default:
      return new eddy.optim.Adam(params, { lr: c.lr }) as Optimizer;
  }
}

/** The checkpoint of an interrupted run that `--resume` continues. */
export interface Resumed {
  checkpoint: string;
  metadata: CliMetadata;
}

/** Reads the settings stored in a checkpoint by an interrupted `eddy train`. */
export async function resumeConfig(file: string): Promise<{ config: TrainConfig; resumed: Resumed }> {
  if (!existsSync(file)) throw new ValidationError(`Cannot find the checkpoint ${JSON.stringify(file)} for --resume`);
  const info = await eddy.describeModelFile(file);
  const metadata = readMetadata(info.metadata);
  if (info.kind !== 'checkpoint' || metadata.trainConfig === undefined) throw new ValidationError(`Expected a checkpoint written by an interrupted \`eddy train\` for --resume but ${JSON.stringify(file)} is not one`);
  return { config: metadataJson(metadata, 'trainConfig') as TrainConfig, resumed: { checkpoint: file, metadata } };
}

/** The curves a checkpoint carries so a resumed run's report covers every epoch. */
interface Telemetry {
  history: Record<string, number[]>;
  gradNorm: number[];
  learningRate: number[];
}

/** What a task fits and how its progress reads. */
export interface FitPlan {
  data: eddy.Data;
  validationData?: eddy.Data;
  loss: eddy.LossName;
  metrics?: eddy.MetricName[];
  /** Rows of the training data, for the batches per epoch. */
  rows: number;
  /** Time steps per batch, for the progress rate. */
  tokensPerBatch: number;
  /** Name of the rate's unit. */
  unit: string;
  /** Text added to each epoch's line, from the epoch's logs. @default none */
  epochLine?: (logs: Logs) => string;
  /** Metadata of the checkpoint Ctrl-C writes: the task and what resuming it needs besides the weights. */
  metadata: Record<string, string>;
}

/** The task's part of report.html and the closing lines. */
export interface Outcome {
  title: string;
  /** Rows of the facts table after the settings every run shows. */
  facts: Record<string, string | number>;
  sample?: string;
  forecast?: ReportInput['forecast'];
  /** A command to try next, printed last. @default none */
  next?: string;
}

/** One `eddy train` run: SIGINT handling, telemetry, checkpoint and output paths. */
export class Run {
  readonly controller = new AbortController();
  interrupted = false;
  readonly history: Record<string, number[]> = {};
  readonly gradNorm: number[] = [];
  readonly learningRate: number[] = [];
  /** Epochs completed before this process (from the checkpoint when resuming). */
  firstEpoch = 0;
  private epochsDone = 0;
  private steps = 0;
  private readonly onSigint = (): void => {
    if (this.interrupted) process.exit(130); // a second Ctrl-C does not wait for the checkpoint
    this.interrupted = true;
    this.controller.abort(new Error('interrupted'));
  };

  constructor(
    readonly c: TrainConfig,
    private readonly resumed?: Resumed,
  ) {
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

  /** Stops listening for Ctrl-C. */
  done(): void {
    process.off('SIGINT', this.onSigint);
  }

  /**
   * The optimizer for `model` as the flags say; when resuming, the
   * checkpoint's weights, optimizer state and curves are loaded and
   * `firstEpoch` set.
   */
  async start(model: eddy.Model): Promise<Optimizer> {
    const optimizer = optimizerFor(this.c, model);
    if (this.resumed) {
      const ck = await eddy.loadCheckpoint(this.resumed.checkpoint, { model, optimizer });
      const saved = readMetadata(ck.metadata);
      if (saved.trainHistory !== undefined) {
        const t = metadataJson(saved, 'trainHistory') as Telemetry;
        Object.assign(this.history, t.history);
        this.gradNorm.push(...t.gradNorm);
        this.learningRate.push(...t.learningRate);
      }
      console.log(`Resuming from ${this.resumed.checkpoint} after epoch ${ck.epoch}`);
      this.firstEpoch = ck.epoch;
    }
    return optimizer;
  }

  /**
   * Fits the epochs left with a progress line per epoch. On Ctrl-C, saves a
   * checkpoint at the last epoch boundary, stops listening and returns
   * false; the caller then stops.
   */
  async fit(model: eddy.Model, optimizer: Optimizer, plan: FitPlan): Promise<boolean> {
    const c = this.c;
    const epochs = c.epochs - this.firstEpoch;
    if (epochs <= 0) return true;
    const progress = new TrainingProgress({
      epochs: c.epochs,
      firstEpoch: this.firstEpoch,
      batchesPerEpoch: Math.ceil(plan.rows / c.batchSize),
      tokensPerBatch: plan.tokensPerBatch,
      unit: plan.unit,
      tty: process.stdout.isTTY === true,
    });
    try {
      await model.fit(plan.data, {
        epochs,
        batchSize: c.batchSize,
        loss: plan.loss,
        metrics: plan.metrics,
        validationData: plan.validationData,
        clipNorm: c.clipNorm > 0 ? c.clipNorm : undefined,
        optimizer,
        signal: this.controller.signal,
        callbacks: this.callbacks(progress, optimizer, plan.epochLine),
        distributed: this.c.distributed === true,
      });
      return true;
    } catch (e) {
      progress.abort();
      if (!(e instanceof eddy.AbortError) || !this.interrupted) throw e;
      await this.saveCheckpoint(model, optimizer, plan.metadata);
      this.done();
      return false;
    }
  }

  /**
   * Stops listening for Ctrl-C, saves the model with `metadata`, runs the
   * task's closing part (which may print) and writes report.html from what
   * it returns, then prints where everything went.
   */
  async finish(model: eddy.Model, metadata: Record<string, string>, outcome: () => Promise<Outcome>): Promise<void> {
    this.done();
    if (!writesFiles(this.c.distributed)) return;
    await eddy.save(model, this.modelPath, { metadata });
    const o = await outcome();
    writeFileSync(
      this.reportPath,
      renderReport({
        title: o.title,
        facts: this.facts(o.facts),
        history: this.history,
        learningRate: varying(this.learningRate),
        gradNorm: this.gradNorm,
        ...(o.sample !== undefined ? { sample: o.sample } : {}),
        ...(o.forecast !== undefined ? { forecast: o.forecast } : {}),
      }),
    );
    console.log(`Model saved to ${this.modelPath}`);
    console.log(`Report saved to ${this.reportPath}`);
    if (o.next) console.log(`Try: ${o.next}`);
  }

  /** The settings every report shows, then the task's own rows. */
  private facts(extra: Record<string, string | number>): Record<string, string | number> {
    const c = this.c;
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

  /**
   * The weights, optimizer state and telemetry at the last epoch boundary:
   * what Ctrl-C saves, so a resumed run repeats no batch.
   */
  private boundary: { weights: Map<eddy.Parameter, Float32Array>; optimizer: eddy.optim.OptimizerStateDict; steps: number; gradNorm: number; learningRate: number } | null = null;

  private markBoundary(model: eddy.Model, optimizer: Optimizer): void {
    this.boundary = {
      weights: new Map(model.parameters().map((p) => [p, p.data.data.slice()])),
      optimizer: optimizer.stateDict(),
      steps: this.steps,
      gradNorm: this.gradNorm.length,
      learningRate: this.learningRate.length,
    };
  }

  private callbacks(progress: TrainingProgress, optimizer: Optimizer, epochLine?: (logs: Logs) => string): eddy.Callback {
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
        progress.epochEnd(epoch, logs, epochLine ? epochLine(logs) : '');
        for (const [k, v] of Object.entries(logs)) (this.history[k] ??= []).push(v);
        this.epochsDone++;
        this.markBoundary(model, optimizer);
      },
    };
  }

  private async saveCheckpoint(model: eddy.Model, optimizer: Optimizer, metadata: Record<string, string>): Promise<void> {
    if (!writesFiles(this.c.distributed)) return;
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
    const epoch = this.firstEpoch + this.epochsDone;
    const telemetry: Telemetry = { history: this.history, gradNorm: this.gradNorm, learningRate: this.learningRate };
    await eddy.saveCheckpoint(this.checkpointPath, {
      model,
      optimizer,
      epoch,
      step: this.steps,
      metadata: { ...metadata, ...writeMetadata({ trainConfig: JSON.stringify(this.c), trainHistory: JSON.stringify(telemetry) }) },
    });
    console.log(`\nInterrupted after ${epoch} complete epoch(s): checkpoint saved to ${this.checkpointPath}`);
    console.log(`Continue with: eddy train --resume ${this.checkpointPath}`);
    process.exitCode = 130;
  }
}

/** The learning-rate curve when it changes (a constant rate is in the facts table; renderReport draws a flat series at the wrong height). */
function varying(values: number[]): number[] | undefined {
  return values.some((v) => v !== values[0]) ? values : undefined;
}
