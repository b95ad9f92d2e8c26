/**
 * Streaming anomaly detection with a recurrent forecaster, after Malhotra
 * et al. ("Long short term memory networks for anomaly detection in time
 * series", ESANN 2015): an LSTM trained on normal data predicts the next
 * `horizon` samples at every step; a sample's score is how far it lies from
 * the predictions made for it, each horizon's squared error divided by that
 * horizon's mean squared error on normal data, averaged over the horizons
 * and over a short trailing window. The alarm threshold is a quantile of
 * the scores of normal data held out from training.
 *
 * Scoring is causal and runs one sample at a time through a serving
 * session, the recurrent state carried from sample to sample, so a monitor
 * can score a live stream as it arrives (`detector.stream()`).
 */
import { noGrad } from '../autograd/grad-mode';
import { ValidationError } from '../errors';
import { Linear } from '../layers/linear';
import { GRU, LSTM } from '../layers/recurrent';
import { Sequential, sequential } from '../model/sequential';
import { Adam } from '../optim/adam';
import { Generator } from '../random';
import { Session, session } from '../serving/session';
import { Tensor } from '../tensor/tensor';
import { checkGenerator, checkInteger, checkNumber, checkOneOf, checkOptions, describe, fail, optionKeys } from '../validate';
import { Alarm, alarms, quantile } from './anomaly-events';

/** One signal (numbers, one per sample) or several. */
export type Signals = Float32Array | Float64Array | readonly number[] | readonly (Float32Array | Float64Array | readonly number[])[];

/** The options of {@link AnomalyDetector}. */
export interface AnomalyDetectorOptions {
  /** The recurrent cell of the forecaster. @default 'lstm' */
  cell?: 'lstm' | 'gru';
  /** Features of its hidden state. @default 32 */
  hiddenSize?: number;
  /** Samples ahead it predicts at every step; each sample is compared with `horizon` predictions made for it. @default 8 */
  horizon?: number;
  /** Trailing samples the per-sample errors are averaged over into a score. @default 16 */
  window?: number;
  /** Samples at the start of a signal or stream that score 0 while the recurrent state settles. @default 256 */
  warmup?: number;
  /** The quantile of the normal scores `threshold()` returns when given none. @default 0.9999 */
  quantile?: number;
  /** Random source for the weights and the training order. @default the global generator */
  generator?: Generator;
}

/** The keys of AnomalyDetectorOptions, for checkOptions. */
export const ANOMALY_DETECTOR_OPTION_KEYS = optionKeys<AnomalyDetectorOptions>({ cell: true, hiddenSize: true, horizon: true, window: true, warmup: true, quantile: true, generator: true });

/** The options of {@link AnomalyDetector.fit}. */
export interface AnomalyFitOptions {
  /** Passes over the training windows. @default 20 */
  epochs?: number;
  /** Windows per batch. @default 16 */
  batchSize?: number;
  /** Samples per training window (windows overlap by half). @default 512 */
  sequenceLength?: number;
  /** Adam's learning rate. @default 0.01 */
  lr?: number;
  /** The fraction at the end of every normal signal held out from training to calibrate the threshold; 0 trains on everything (then `calibrate` before `threshold`). @default 0.25 */
  calibration?: number;
  /** Stops training early when aborted. @default none */
  signal?: AbortSignal;
}

/** The keys of AnomalyFitOptions, for checkOptions. */
export const ANOMALY_FIT_OPTION_KEYS = optionKeys<AnomalyFitOptions>({ epochs: true, batchSize: true, sequenceLength: true, lr: true, calibration: true, signal: true });

/** The options of {@link AnomalyDetector.detect}. */
export interface DetectOptions {
  /** The score above which a sample is anomalous. @default `threshold()` */
  threshold?: number;
  /** Alarms closer than this many samples merge into one. @default the window */
  minGap?: number;
}

/** The keys of DetectOptions, for checkOptions. */
export const DETECT_OPTION_KEYS = optionKeys<DetectOptions>({ threshold: true, minGap: true });

/** What `fit` learns besides the weights. */
interface Fitted {
  model: Sequential;
  /** The training data's mean and standard deviation: samples are standardised with them. */
  mean: number;
  std: number;
  /** Per horizon, the forecaster's mean squared error on the training data (standardised units). */
  errorScale: Float64Array;
  /** Scores of the held-out normal data (after the warm-up). */
  normalScores: Float32Array[];
}

/**
 * A recurrent anomaly detector for a univariate signal: `fit` on normal
 * signals, then `score`, `detect` or `stream` new ones.
 *
 * ```ts
 * const detector = new eddy.timeseries.AnomalyDetector({ hiddenSize: 32 });
 * await detector.fit(normalRecords);                   // trains and calibrates the threshold
 * const alarms = detector.detect(record.signal);       // [{ start, end, peak }]
 * const live = detector.stream();
 * for await (const sample of sensor) if (live.push(sample) > detector.threshold()) page();
 * ```
 */
export class AnomalyDetector {
  /** The forecaster's recurrent cell. */
  readonly cell: 'lstm' | 'gru';
  /** Features of its hidden state. */
  readonly hiddenSize: number;
  /** Samples ahead it predicts. */
  readonly horizon: number;
  /** Trailing samples averaged into a score. */
  readonly window: number;
  /** Samples that score 0 at the start of each signal. */
  readonly warmup: number;
  /** The default quantile of `threshold()`. */
  readonly quantile: number;
  private readonly generator: Generator;
  private fitted: Fitted | null = null;

  /**
   * @param options - {@link AnomalyDetectorOptions}.
   * @throws {@link ValidationError} when an option is malformed.
   */
  constructor(options?: AnomalyDetectorOptions) {
    const opts = checkOptions('options', options, ANOMALY_DETECTOR_OPTION_KEYS);
    this.cell = checkOneOf('options.cell', opts.cell ?? 'lstm', ['lstm', 'gru'] as const);
    this.hiddenSize = checkInteger('options.hiddenSize', opts.hiddenSize ?? 32, 1);
    this.horizon = checkInteger('options.horizon', opts.horizon ?? 8, 1);
    this.window = checkInteger('options.window', opts.window ?? 16, 1);
    this.warmup = checkInteger('options.warmup', opts.warmup ?? 256, 0);
    this.quantile = checkNumber('options.quantile', opts.quantile ?? 0.9999, { min: 0, max: 1 });
    this.generator = checkGenerator('options.generator', opts.generator);
  }

  /** The trained forecaster: [batch, time, 1] → [batch, time, horizon] standardised predictions. */
  get model(): Sequential {
    return this.state('model').model;
  }

  /**
   * Trains the forecaster on normal signals (the first part of each) and
   * scores the held-out end of each to calibrate the threshold. Resolves
   * to the detector.
   * @param normal - Signals of normal behaviour (one, or several).
   * @param options - {@link AnomalyFitOptions}.
   * @throws {@link ValidationError} when a signal or an option is malformed.
   * @throws {@link AbortError} when `signal` aborts.
   */
  async fit(normal: Signals, options?: AnomalyFitOptions): Promise<this> {
    const opts = checkOptions('options', options, ANOMALY_FIT_OPTION_KEYS);
    const epochs = checkInteger('options.epochs', opts.epochs ?? 20, 1);
    const batchSize = checkInteger('options.batchSize', opts.batchSize ?? 16, 1);
    const length = checkInteger('options.sequenceLength', opts.sequenceLength ?? 512, 2);
    const lr = checkNumber('options.lr', opts.lr ?? 0.01, { min: 0 });
    const calibration = checkNumber('options.calibration', opts.calibration ?? 0.25, { min: 0, max: 0.9 });
    const signals = readSignals('normal', normal);
    const H = this.horizon;
    const train: Float32Array[] = [];
    const held: Float32Array[] = [];
    for (const s of signals) {
      const cut = Math.round(s.length * (1 - calibration));
      train.push(s.subarray(0, cut));
      if (s.length - cut > this.warmup) held.push(s.subarray(cut));
    }
    if (calibration > 0 && held.length === 0) {
      throw new ValidationError(`Expected normal signals whose held-out ends (options.calibration = ${calibration}) are longer than the warm-up (${this.warmup} samples) but received none`);
    }
    let sum = 0;
    let count = 0;
    for (const s of train) for (const v of s) (sum += v), count++;
    const mean = sum / count;
    let sq = 0;
    for (const s of train) for (const v of s) sq += (v - mean) ** 2;
    const std = Math.sqrt(sq / count) || 1;
    const scaled = train.map((s) => Float32Array.from(s, (v) => (v - mean) / std));

    // Windows of `length` inputs, each step's targets the next H samples.
    const starts: [number, number][] = [];
    scaled.forEach((s, i) => {
      for (let at = 0; at + length + H <= s.length; at += Math.max(1, length >> 1)) starts.push([i, at]);
    });
    if (starts.length === 0) throw new ValidationError(`Expected normal signals of at least ${Math.ceil((length + H) / (1 - calibration))} samples (a training window of options.sequenceLength + horizon before the held-out end) but received none that long`);
    const x = new Float32Array(starts.length * length);
    const y = new Float32Array(starts.length * length * H);
    starts.forEach(([i, at], w) => {
      const s = scaled[i];
      x.set(s.subarray(at, at + length), w * length);
      for (let t = 0; t < length; t++) y.set(s.subarray(at + t + 1, at + t + 1 + H), (w * length + t) * H);
    });
    const Cell = this.cell === 'gru' ? GRU : LSTM;
    const model = sequential([new Cell({ inputSize: 1, hiddenSize: this.hiddenSize, generator: this.generator }), new Linear({ inFeatures: this.hiddenSize, outFeatures: H, generator: this.generator })]);
    await model.fit(
      { x: new Tensor(x, [starts.length, length, 1]), y: new Tensor(y, [starts.length, length, H]) },
      { epochs, batchSize, loss: 'mse', optimizer: new Adam(model.parameters(), { lr }), clipNorm: 1, generator: this.generator, signal: opts.signal },
    );

    // Each horizon's error on the training signals, past the warm-up: the scale of its normal error.
    const errorScale = new Float64Array(H);
    let counted = 0;
    for (const s of scaled) {
      const pred = noGrad(() => model.forward(new Tensor(s, [1, s.length, 1]), { training: false })).toFloat32Array();
      for (let t = this.warmup; t + H < s.length; t++) {
        for (let h = 0; h < H; h++) errorScale[h] += (s[t + 1 + h] - pred[t * H + h]) ** 2;
        counted++;
      }
    }
    if (counted === 0) throw new ValidationError(`Expected training parts of the normal signals longer than the warm-up (${this.warmup} samples) but received none`);
    for (let h = 0; h < H; h++) errorScale[h] = Math.max(errorScale[h] / counted, 1e-12);
    this.fitted = { model, mean, std, errorScale, normalScores: [] };
    this.fitted.normalScores = held.map((s) => this.score(s).subarray(this.warmup));
    return this;
  }

  /**
   * Replaces the normal scores the threshold comes from with the scores of
   * these normal signals (past each one's warm-up). Returns the detector.
   * @param normal - Held-out signals of normal behaviour.
   */
  calibrate(normal: Signals): this {
    const fitted = this.state('calibrate');
    const scores = readSignals('normal', normal)
      .filter((s) => s.length > this.warmup)
      .map((s) => this.score(s).subarray(this.warmup));
    if (scores.length === 0) throw new ValidationError(`Expected normal signals longer than the warm-up (${this.warmup} samples) for normal but received none`);
    fitted.normalScores = scores;
    return this;
  }

  /**
   * The `q` quantile of the normal scores: the score above which a sample is anomalous.
   * @param q - The quantile, in [0, 1]; the detector's `quantile` when omitted.
   * @throws {@link ValidationError} when there are no normal scores (fit with `calibration` 0 and no
   *   `calibrate` since).
   */
  threshold(q: number = this.quantile): number {
    const { normalScores } = this.state('threshold');
    if (normalScores.length === 0) throw new ValidationError('Expected normal scores for threshold but received none (fit with options.calibration > 0, or call calibrate(signals))');
    return quantile(normalScores, q);
  }

  /**
   * One score per sample of `signal` (0 during the warm-up), computed as a stream would.
   * @param signal - One signal, one number per sample.
   */
  score(signal: Float32Array | Float64Array | readonly number[]): Float32Array {
    const [s] = readSignals('signal', signal, false);
    const live = this.stream();
    const out = new Float32Array(s.length);
    for (let t = 0; t < s.length; t++) out[t] = live.push(s[t]);
    return out;
  }

  /**
   * The alarms in `signal`: runs of scores above the threshold.
   * @param signal - One signal, one number per sample.
   * @param options - {@link DetectOptions}.
   */
  detect(signal: Float32Array | Float64Array | readonly number[], options?: DetectOptions): Alarm[] {
    const opts = checkOptions('options', options, DETECT_OPTION_KEYS);
    const threshold = opts.threshold === undefined ? this.threshold() : checkNumber('options.threshold', opts.threshold);
    return alarms(this.score(signal), threshold, { minGap: opts.minGap ?? this.window });
  }

  /** A live stream: `push(sample)` returns that sample's score. */
  stream(): AnomalyStream {
    return new AnomalyStream(this.state('stream'), this.horizon, this.window, this.warmup);
  }

  private state(what: string): Fitted {
    if (!this.fitted) throw new ValidationError(`Expected a fitted detector for ${what} but received one that has not been fitted (call fit first)`);
    return this.fitted;
  }
}

/** One signal's scoring state: the session, the last `horizon` predictions and the last `window` errors. */
export class AnomalyStream {
  private readonly session: Session;
  /** Ring of the last H prediction vectors: row t mod H holds the predictions made at step t. */
  private readonly predictions: Float32Array;
  private readonly errors: Float64Array;
  private errorSum = 0;
  private t = 0;
  private readonly input = new Float32Array(1);

  /** @internal */
  constructor(
    private readonly fitted: Fitted,
    private readonly horizon: number,
    private readonly window: number,
    private readonly warmup: number,
  ) {
    this.session = session(fitted.model);
    this.predictions = new Float32Array(horizon * horizon);
    this.errors = new Float64Array(window);
  }

  /**
   * Scores the next sample (0 during the warm-up) and advances the state.
   * @param sample - The next sample of the signal.
   */
  push(sample: number): number {
    if (typeof sample !== 'number' || !Number.isFinite(sample)) fail('a finite number', 'sample', sample);
    const { mean, std, errorScale } = this.fitted;
    const H = this.horizon;
    const u = (sample - mean) / std;
    // The predictions made for this sample: at step t − 1 − h, horizon h.
    let e = 0;
    let n = 0;
    for (let h = 0; h < H && h < this.t; h++) {
      const from = (this.t - 1 - h) % H;
      e += (u - this.predictions[from * H + h]) ** 2 / errorScale[h];
      n++;
    }
    e = n > 0 ? e / n : 0;
    const slot = this.t % this.window;
    this.errorSum += e - this.errors[slot];
    this.errors[slot] = e;
    this.input[0] = u;
    this.predictions.set(this.session.step(this.input).toFloat32Array(), (this.t % H) * H);
    this.t++;
    return this.t <= this.warmup ? 0 : this.errorSum / Math.min(this.t, this.window);
  }

  /** Starts over: the next sample is the first of a new signal. */
  reset(): void {
    this.session.reset();
    this.predictions.fill(0);
    this.errors.fill(0);
    this.errorSum = 0;
    this.t = 0;
  }
}

/** Reads one signal or a list of them as Float32Arrays of finite numbers. */
function readSignals(name: string, value: unknown, many = true): Float32Array[] {
  const isSignal = (v: unknown): boolean => v instanceof Float32Array || v instanceof Float64Array || (Array.isArray(v) && (v.length === 0 || typeof v[0] === 'number'));
  const list = isSignal(value) ? [value] : many && Array.isArray(value) && value.length > 0 && value.every(isSignal) ? value : null;
  if (list === null) fail(many ? 'a signal (Float32Array or array of numbers) or a non-empty array of signals' : 'a signal (Float32Array or array of numbers)', name, value);
  return list.map((s: Float32Array | Float64Array | number[], i: number) => {
    const where = list.length > 1 || value !== s ? `${name}[${i}]` : name;
    for (let t = 0; t < s.length; t++) if (typeof s[t] !== 'number' || !Number.isFinite(s[t])) fail('a finite number', `${where}[${t}]`, s[t]);
    if (s.length === 0) throw new ValidationError(`Expected a non-empty signal for ${where} but received ${describe(s)}`);
    return s instanceof Float32Array ? s : Float32Array.from(s);
  });
}
