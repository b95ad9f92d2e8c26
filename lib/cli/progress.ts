/**
 * Training progress: a live bar per epoch on a terminal (cli-progress),
 * one plain line per epoch otherwise, so CI logs stay readable.
 */
import { SingleBar, Presets } from 'cli-progress';
import type { Logs } from '../model/callbacks';
import { logLabel } from '../report/report';

export interface ProgressOptions {
  epochs: number;
  /** Epochs already done (when resuming): numbering continues from here. */
  firstEpoch: number;
  batchesPerEpoch: number;
  /** Tokens (time steps × sequences) per batch, for the rate. */
  tokensPerBatch: number;
  /** Name of the rate's unit. */
  unit: string;
  tty: boolean;
}

function fmt(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(4);
}

export class TrainingProgress {
  private bar: SingleBar | null = null;
  private t0 = 0;
  private batches = 0;
  private lossSum = 0;
  private readonly trainStart = performance.now();

  constructor(private readonly o: ProgressOptions) {}

  epochBegin(epoch: number): void {
    this.t0 = performance.now();
    this.batches = 0;
    this.lossSum = 0;
    if (this.o.tty) {
      this.bar = new SingleBar(
        {
          format: `epoch {epoch}/${this.o.epochs} {bar} {value}/{total} | loss {loss} | {rate} ${this.o.unit}/s | ETA {eta_formatted}`,
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 50,
          stream: process.stdout,
        },
        Presets.shades_classic,
      );
      this.bar.start(this.o.batchesPerEpoch, 0, { epoch: this.o.firstEpoch + epoch + 1, loss: '-', rate: '-' });
    }
  }

  batchEnd(logs: Logs): void {
    this.batches++;
    if (Number.isFinite(logs.loss)) this.lossSum += logs.loss;
    if (this.bar) this.bar.update(this.batches, { loss: fmt(this.lossSum / this.batches), rate: Math.round(this.rate()).toLocaleString('en-US') });
  }

  private rate(): number {
    const s = (performance.now() - this.t0) / 1000;
    return s > 0 ? (this.batches * this.o.tokensPerBatch) / s : 0;
  }

  /** Ends the epoch's bar (or prints its line) with the epoch's logs. */
  epochEnd(epoch: number, logs: Logs, extra = ''): void {
    const seconds = (performance.now() - this.t0) / 1000;
    const parts = [`epoch ${this.o.firstEpoch + epoch + 1}/${this.o.epochs}`, `loss ${fmt(logs.loss)}`];
    if (logs.valLoss !== undefined) parts.push(`${logLabel('valLoss')} ${fmt(logs.valLoss)}`);
    if (extra) parts.push(extra);
    parts.push(`${Math.round(this.rate()).toLocaleString('en-US')} ${this.o.unit}/s`, `${seconds.toFixed(1)} s`);
    if (this.bar) {
      this.bar.stop();
      this.bar = null;
      console.log(`  ${parts.slice(1).join(', ')}`);
    } else {
      console.log(parts.join(', '));
    }
  }

  /** Stops a running bar (interrupt or error) without printing a summary. */
  abort(): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = null;
    }
  }

  get elapsedSeconds(): number {
    return (performance.now() - this.trainStart) / 1000;
  }
}
