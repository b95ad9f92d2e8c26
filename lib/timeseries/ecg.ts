/**
 * Synthetic electrocardiograms from the dynamical model of McSharry,
 * Clifford, Tarassenko and Smith ("A dynamical model for generating
 * synthetic electrocardiogram signals", IEEE Trans. Biomed. Eng. 50(3),
 * 2003), with labelled events of fixed sizes for anomaly detection.
 *
 * The model is a trajectory in 3-D: (x, y) runs round the unit circle at
 * the angular speed ω = 2π / RR, and z, the ECG, is pushed by five Gaussian
 * "events" at fixed angles θᵢ (the P, Q, R, S and T waves):
 *
 *   ẋ = αx − ωy,  ẏ = αy + ωx,  α = 1 − √(x² + y²)
 *   ż = −Σᵢ aᵢ Δθᵢ exp(−Δθᵢ² / 2bᵢ²) − (z − z₀),  Δθᵢ = (θ − θᵢ) mod 2π
 *
 * z₀ is baseline wander at the respiratory frequency. As in the authors'
 * `ecgsyn`, the widths bᵢ and the angles of P, Q, S and T scale with the
 * record's mean heart rate and the system is integrated with fourth-order
 * Runge–Kutta at four times the output rate; z is then scaled so that the
 * baseline is 0 mV and a typical R peak 1 mV. Here each RR interval (R peak
 * to R peak) is drawn per beat: the mean, a 0.1 Hz (Mayer wave) and a
 * 0.25 Hz (respiratory) oscillation — the two peaks of the model's RR
 * spectrum — and a little white jitter.
 */
import { Generator } from '../random';
import { checkGenerator, checkInteger, checkNumber, checkOneOf, checkOptions, fail, optionKeys } from '../validate';

/** The kinds of event `syntheticEcg` inserts; sizes are fixed (see `ECG_EVENT_SIZES`). */
export type EcgEventKind = 'ectopic' | 'rateChange' | 'dropout' | 'noise';

/** Every kind of event, in the order the docs list them. */
export const ECG_EVENT_KINDS: readonly EcgEventKind[] = ['ectopic', 'rateChange', 'dropout', 'noise'];

/**
 * The fixed sizes of the events:
 * * `ectopic`: one premature beat whose R peak comes 30 % of an RR interval
 *   early, followed by a full compensatory pause (the next R peak is where
 *   it would have been). Labelled from the R peak before it to the R peak
 *   that ends the pause.
 * * `rateChange`: the heart rate rises by 25 % (RR intervals ÷ 1.25) for
 *   8 s, then returns. Labelled from the last R peak before the change to
 *   the first R peak after the return.
 * * `dropout`: 2 s of lost contact: the signal is 0 mV plus the
 *   measurement noise.
 * * `noise`: 1 s of added white Gaussian noise at a signal-to-noise ratio
 *   of 6 dB (noise power a quarter of the clean record's variance).
 */
export const ECG_EVENT_SIZES = Object.freeze({
  /** How early an ectopic beat's R peak comes, as a fraction of an RR interval. */
  ectopicPrematurity: 0.3,
  /** The relative rise of the heart rate during a rate change. */
  rateChange: 0.25,
  /** How long a rate change lasts, in seconds. */
  rateChangeSeconds: 8,
  /** How long a dropout lasts, in seconds. */
  dropoutSeconds: 2,
  /** How long a noise burst lasts, in seconds. */
  noiseSeconds: 1,
  /** The signal-to-noise ratio of a noise burst, in dB. */
  noiseSnrDb: 6,
});

/** One labelled event: samples [start, end) of the record. */
export interface EcgEvent {
  /** What happened. */
  kind: EcgEventKind;
  /** The first sample of the event. */
  start: number;
  /** One past its last sample. */
  end: number;
}

/** A generated record. */
export interface EcgRecord {
  /** The ECG in millivolts, one value per sample. */
  signal: Float32Array;
  /** The same before dropouts, noise bursts and measurement noise (ectopic beats and rate changes are in it). */
  clean: Float32Array;
  /** Samples per second. */
  sampleRate: number;
  /** The inserted events, in time order. */
  events: EcgEvent[];
  /** The sample index of every R peak. */
  rPeaks: Int32Array;
}

/** The options of {@link syntheticEcg}. */
export interface SyntheticEcgOptions {
  /** Length in seconds. @default 60 */
  duration?: number;
  /** Samples per second. @default 128 */
  sampleRate?: number;
  /** Mean heart rate in beats per minute. @default 70 */
  heartRate?: number;
  /** Standard deviation of the heart rate in beats per minute (the RR oscillations and jitter together). @default 1 */
  heartRateStd?: number;
  /** Standard deviation of white measurement noise in mV, everywhere. @default 0.01 */
  measurementNoise?: number;
  /**
   * Events to insert, in order, at random times: the record after the
   * first `leadIn` seconds is cut into one slot per event (the event's
   * length, 2 s either side and an equal share of the rest) and each event
   * starts at a uniform time inside its own slot.
   * @default none
   */
  events?: readonly EcgEventKind[];
  /** Seconds at the start kept free of events (a detector's state settles there). @default 6 */
  leadIn?: number;
  /** Random source (RR intervals, event times, noise). @default the global generator */
  generator?: Generator;
}

/** The keys of SyntheticEcgOptions, for checkOptions. */
export const SYNTHETIC_ECG_OPTION_KEYS = optionKeys<SyntheticEcgOptions>({
  duration: true,
  sampleRate: true,
  heartRate: true,
  heartRateStd: true,
  measurementNoise: true,
  events: true,
  leadIn: true,
  generator: true,
});

// P, Q, R, S, T: angles (rad), amplitudes and widths from the paper's Table 1.
const THETA = [-Math.PI / 3, -Math.PI / 12, 0, Math.PI / 12, Math.PI / 2];
const A = [1.2, -5.0, 30.0, -7.5, 0.75];
const B = [0.25, 0.1, 0.1, 0.1, 0.4];
const RESPIRATION_HZ = 0.25;
const MAYER_HZ = 0.1;
/** Baseline wander amplitude in model units (ecgsyn's zbase). */
const WANDER = 0.005;
/** Integration steps per output sample. */
const SUBSTEPS = 4;
/** The slot margin: an event starts and ends at least this far (s) from its slot's edges. */
const SLOT_MARGIN = 2;

/** The seconds an event spans (an ectopic beat and its pause: about 3 s at the slowest rates). */
function eventSeconds(kind: EcgEventKind): number {
  if (kind === 'rateChange') return ECG_EVENT_SIZES.rateChangeSeconds + 3;
  if (kind === 'dropout') return ECG_EVENT_SIZES.dropoutSeconds;
  if (kind === 'noise') return ECG_EVENT_SIZES.noiseSeconds;
  return 3;
}

/** What the RR process produces: one interval per beat, with the events' changes applied. */
interface Rhythm {
  rr: number[];
  /** Per event of `rhythmEvents`, the beats it spans [first, last]. */
  spans: { kind: EcgEventKind; beats: [number, number] }[];
}

/**
 * Generates one ECG record (McSharry et al.'s model) with the requested
 * events, labelled by sample range.
 *
 * ```ts
 * const rec = eddy.timeseries.syntheticEcg({ duration: 60, events: ['ectopic', 'dropout'], generator: new eddy.Generator(7) });
 * rec.signal;  // Float32Array of 7680 samples in mV
 * rec.events;  // [{ kind: 'ectopic', start, end }, { kind: 'dropout', start, end }]
 * ```
 * @param options - {@link SyntheticEcgOptions}.
 * @throws {@link ValidationError} when an option is malformed.
 */
export function syntheticEcg(options?: SyntheticEcgOptions): EcgRecord {
  const opts = checkOptions('options', options, SYNTHETIC_ECG_OPTION_KEYS);
  const duration = checkNumber('options.duration', opts.duration ?? 60, { min: 1 });
  const fs = checkInteger('options.sampleRate', opts.sampleRate ?? 128, 32, 4096);
  const heartRate = checkNumber('options.heartRate', opts.heartRate ?? 70, { min: 30, max: 200 });
  const hrStd = checkNumber('options.heartRateStd', opts.heartRateStd ?? 1, { min: 0, max: heartRate / 4 });
  const measurementNoise = checkNumber('options.measurementNoise', opts.measurementNoise ?? 0.01, { min: 0 });
  const leadIn = checkNumber('options.leadIn', opts.leadIn ?? 6, { min: 0 });
  const generator = checkGenerator('options.generator', opts.generator);
  const kinds = opts.events ?? [];
  if (!Array.isArray(kinds)) fail('an array of event kinds', 'options.events', kinds);
  kinds.forEach((k, i) => checkOneOf(`options.events[${i}]`, k, ECG_EVENT_KINDS));
  // Each event's start time (s): every event gets a slot of its own length plus margins plus an
  // equal share of the free time, and starts uniformly within that share.
  const lengths = kinds.map(eventSeconds);
  const free = duration - leadIn - lengths.reduce((sum, l) => sum + l + 2 * SLOT_MARGIN, 0);
  if (kinds.length > 0 && free < 0) fail(`a duration of at least ${duration - free} s (leadIn plus each event with ${SLOT_MARGIN} s either side) for ${kinds.length} events`, 'options.duration', duration);
  const share = kinds.length > 0 ? free / kinds.length : 0;
  const times: number[] = [];
  let slotStart = leadIn;
  for (const l of lengths) {
    times.push(slotStart + SLOT_MARGIN + generator.next() * share);
    slotStart += l + 2 * SLOT_MARGIN + share;
  }

  const rhythm = rrIntervals(duration, heartRate, hrStd, kinds, times, generator);
  const { z, rPeaks } = integrate(rhythm.rr, duration, fs, heartRate);
  scaleToMillivolts(z, rPeaks);
  const n = z.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += z[i];
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (z[i] - mean) ** 2;
  variance /= n;

  const events: EcgEvent[] = [];
  for (const s of rhythm.spans) {
    const [first, last] = s.beats;
    const start = first > 0 ? rPeaks[first - 1] : 0;
    // An ectopic beat ends with its pause (R peak `last`); a rate change when the first slower beat lands (R peak last + 1).
    const closing = s.kind === 'ectopic' ? last : last + 1;
    const end = closing < rPeaks.length ? rPeaks[closing] : n;
    events.push({ kind: s.kind, start, end: Math.max(end, start + 1) });
  }
  const clean = Float32Array.from(z);
  const signal = clean.slice();
  kinds.forEach((kind, i) => {
    if (kind !== 'dropout' && kind !== 'noise') return;
    const seconds = kind === 'dropout' ? ECG_EVENT_SIZES.dropoutSeconds : ECG_EVENT_SIZES.noiseSeconds;
    const start = Math.round(times[i] * fs);
    const end = Math.min(n, start + Math.round(seconds * fs));
    if (kind === 'dropout') signal.fill(0, start, end);
    else {
      const noise = generator.normal(new Float32Array(end - start), 0, Math.sqrt(variance / 10 ** (ECG_EVENT_SIZES.noiseSnrDb / 10)));
      for (let t = start; t < end; t++) signal[t] += noise[t - start];
    }
    events.push({ kind, start, end });
  });
  if (measurementNoise > 0) {
    const noise = generator.normal(new Float32Array(n), 0, measurementNoise);
    for (let t = 0; t < n; t++) signal[t] += noise[t];
  }
  events.sort((a, b) => a.start - b.start);
  return { signal, clean, sampleRate: fs, events, rPeaks: Int32Array.from(rPeaks) };
}

/**
 * One RR interval per beat until `duration` is covered, with the rhythm
 * events (ectopic beats, rate changes) applied at their times.
 */
function rrIntervals(duration: number, heartRate: number, hrStd: number, kinds: readonly EcgEventKind[], times: number[], g: Generator): Rhythm {
  const rrMean = 60 / heartRate;
  // The heart-rate std maps to an RR std of about rrMean · hrStd / heartRate, split between the
  // two oscillations (each sin contributes amplitude²/2 of variance) and the jitter.
  const rrStd = (rrMean * hrStd) / heartRate;
  const amp = rrStd * Math.sqrt(2 * 0.4);
  const jitter = rrStd * Math.sqrt(0.2);
  const phaseResp = 2 * Math.PI * g.next();
  const phaseMayer = 2 * Math.PI * g.next();
  const rr: number[] = [];
  const spans: Rhythm['spans'] = [];
  const pending = kinds.map((kind, i) => ({ kind, at: times[i] })).filter((e) => e.kind === 'ectopic' || e.kind === 'rateChange');
  let t = 0;
  let fastUntil = -1;
  let fastSpan: Rhythm['spans'][number] | null = null;
  while (t < duration + 2) {
    let base = rrMean + amp * Math.sin(2 * Math.PI * RESPIRATION_HZ * t + phaseResp) + amp * Math.sin(2 * Math.PI * MAYER_HZ * t + phaseMayer) + jitter * gaussian(g);
    const next = pending[0];
    if (next && t >= next.at) {
      pending.shift();
      if (next.kind === 'ectopic') {
        // The premature beat, then the compensatory pause: the two intervals sum to two normal ones.
        const early = base * (1 - ECG_EVENT_SIZES.ectopicPrematurity);
        const pause = 2 * base - early;
        spans.push({ kind: 'ectopic', beats: [rr.length, rr.length + 1] });
        rr.push(early, pause);
        t += early + pause;
        continue;
      }
      fastUntil = t + ECG_EVENT_SIZES.rateChangeSeconds;
      fastSpan = { kind: 'rateChange', beats: [rr.length, rr.length] };
      spans.push(fastSpan);
    }
    if (t < fastUntil) {
      base /= 1 + ECG_EVENT_SIZES.rateChange;
      fastSpan!.beats[1] = rr.length;
    }
    rr.push(base);
    t += base;
  }
  return { rr, spans };
}

function gaussian(g: Generator): number {
  return Math.sqrt(-2 * Math.log(1 - g.next())) * Math.cos(2 * Math.PI * g.next());
}

/**
 * Integrates the model with RK4 at SUBSTEPS × fs and keeps every
 * SUBSTEPS-th value. RR interval k holds from R peak k − 1 to R peak k
 * (the angle crossing 0), so an event changes exactly the beats it names.
 */
function integrate(rr: number[], duration: number, fs: number, heartRate: number): { z: Float64Array; rPeaks: number[] } {
  const hrFact = Math.sqrt(heartRate / 60);
  const hrFact2 = Math.sqrt(hrFact);
  const theta = THETA.map((th, i) => th * [hrFact2, hrFact, 1, hrFact, hrFact2][i]);
  const b = B.map((w) => w * hrFact);
  const n = Math.round(duration * fs);
  const h = 1 / (fs * SUBSTEPS);
  const z = new Float64Array(n);
  const rPeaks: number[] = [];
  let beat = 0;
  let omega = (2 * Math.PI) / rr[0];
  const deriv = (t: number, s: number[]): number[] => {
    const [x, y, zz] = s;
    const alpha = 1 - Math.sqrt(x * x + y * y);
    const th = Math.atan2(y, x);
    let dz = 0;
    for (let i = 0; i < 5; i++) {
      let d = th - theta[i];
      d -= 2 * Math.PI * Math.round(d / (2 * Math.PI)); // into [−π, π]
      dz -= A[i] * d * Math.exp((-0.5 * d * d) / (b[i] * b[i]));
    }
    const z0 = WANDER * Math.sin(2 * Math.PI * RESPIRATION_HZ * t);
    return [alpha * x - omega * y, alpha * y + omega * x, dz - (zz - z0)];
  };
  // Start on the unit circle half a beat before the first R peak (angle −π).
  let s = [-1, 0, 0];
  let t = 0;
  for (let i = 0; i < n * SUBSTEPS; i++) {
    if (i % SUBSTEPS === 0) z[i / SUBSTEPS] = s[2];
    const before = Math.atan2(s[1], s[0]);
    const k1 = deriv(t, s);
    const k2 = deriv(t + h / 2, s.map((v, j) => v + (h / 2) * k1[j]));
    const k3 = deriv(t + h / 2, s.map((v, j) => v + (h / 2) * k2[j]));
    const k4 = deriv(t + h, s.map((v, j) => v + h * k3[j]));
    s = s.map((v, j) => v + (h / 6) * (k1[j] + 2 * k2[j] + 2 * k3[j] + k4[j]));
    t += h;
    const after = Math.atan2(s[1], s[0]);
    if (before < 0 && after >= 0) {
      rPeaks.push(Math.min(n - 1, Math.round(t * fs)));
      beat = Math.min(beat + 1, rr.length - 1);
      omega = (2 * Math.PI) / rr[beat];
    }
  }
  return { z, rPeaks };
}

/**
 * Scales z to millivolts: the median sample (the isoelectric baseline) to
 * 0 mV and the median R peak to 1 mV. ecgsyn maps the record's range onto
 * −0.4…1.2 mV instead; medians keep one unusual beat from rescaling the
 * whole record.
 */
function scaleToMillivolts(z: Float64Array, rPeaks: readonly number[]): void {
  const median = (v: number[]): number => {
    const sorted = v.slice().sort((a, b) => a - b);
    return sorted[sorted.length >> 1];
  };
  const baseline = median(Array.from(z));
  const k = 1 / (median(rPeaks.map((i) => z[i])) - baseline || 1);
  for (let i = 0; i < z.length; i++) z[i] = (z[i] - baseline) * k;
}
