/**
 * Speech features: short-time power spectra, log-mel filterbanks and MFCCs,
 * computed in float64 and returned as float32 Tensors [frames, features].
 *
 * Framing follows Kaldi's convention without edge snipping tricks: frame f
 * covers samples [f·hop, f·hop + frameLength), there are
 * 1 + floor((n − frameLength) / hop) frames (one zero-padded frame for a
 * signal shorter than a frame, none for an empty one), each optionally
 * pre-emphasised, multiplied by a periodic window and zero-padded to
 * fftSize. Mel filters are torchaudio's `melscale_fbanks` (triangles on
 * the FFT bin frequencies, HTK or Slaney mel scale, optional Slaney area
 * normalisation); MFCCs are the orthonormal DCT-II of the log-mel energies,
 * as `scipy.fft.dct(norm='ortho')`.
 *
 * The FFT is fft.js (radix-4, float64).
 */
import FFT from 'fft.js';
import { ValidationError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { checkInteger, checkNumber, checkOneOf, checkOptions, fail, optionKeys } from '../validate';

/** Framing and spectrum options of `spectrogram` (and of the mel features built on it). */
export interface SpectrogramOptions {
  /** Samples per second of the signal. @default 16000 */
  sampleRate?: number;
  /** Samples per frame. @default 25 ms: round(0.025 · sampleRate) */
  frameLength?: number;
  /** Samples between frame starts. @default 10 ms: round(0.010 · sampleRate) */
  hopLength?: number;
  /** FFT size, a power of two ≥ frameLength. @default the smallest such power */
  fftSize?: number;
  /** Window applied to each frame (periodic, as torch.hann_window). @default 'hann' */
  window?: 'hann' | 'hamming' | 'rectangular';
  /** Pre-emphasis coefficient a: x[t] − a·x[t−1] within each frame (0 turns it off). @default 0 */
  preEmphasis?: number;
  /** 2 for the power spectrum |X|², 1 for the magnitude |X|. @default 2 */
  power?: 1 | 2;
}

/** Options of `logMel` and `melFilterbank`: the framing plus the mel filters. */
export interface MelOptions extends SpectrogramOptions {
  /** Number of mel bands. @default 40 */
  melBands?: number;
  /** Lowest frequency of the filters in Hz. @default 0 */
  fMin?: number;
  /** Highest frequency of the filters in Hz. @default sampleRate / 2 */
  fMax?: number;
  /** 'htk' (2595·log10(1 + f/700)) or 'slaney' (linear below 1 kHz, logarithmic above). @default 'htk' */
  melScale?: 'htk' | 'slaney';
  /** 'slaney' divides each triangle by its width in Hz (equal area); 'none' keeps peaks at 1. @default 'none' */
  melNorm?: 'none' | 'slaney';
  /** Energies below this are raised to it before the logarithm (natural log). @default 1e-10 */
  logFloor?: number;
}

/** Options of `mfcc`: the log-mel options plus how many coefficients to keep. */
export interface MfccOptions extends MelOptions {
  /** Number of cepstral coefficients kept (the first ones of the DCT). @default 13 */
  coefficients?: number;
}

const SPECTROGRAM_KEYS = { sampleRate: true, frameLength: true, hopLength: true, fftSize: true, window: true, preEmphasis: true, power: true } as const;
const MEL_KEYS = { ...SPECTROGRAM_KEYS, melBands: true, fMin: true, fMax: true, melScale: true, melNorm: true, logFloor: true } as const;
/** The keys of SpectrogramOptions, MelOptions and MfccOptions, for checkOptions. */
export const SPECTROGRAM_OPTION_KEYS = optionKeys<SpectrogramOptions>(SPECTROGRAM_KEYS);
export const MEL_OPTION_KEYS = optionKeys<MelOptions>(MEL_KEYS);
export const MFCC_OPTION_KEYS = optionKeys<MfccOptions>({ ...MEL_KEYS, coefficients: true });

interface Framing {
  sampleRate: number;
  frameLength: number;
  hopLength: number;
  fftSize: number;
  window: Float64Array;
  preEmphasis: number;
  power: 1 | 2;
}

function periodicWindow(kind: 'hann' | 'hamming' | 'rectangular', n: number): Float64Array {
  const w = new Float64Array(n);
  const a = kind === 'hann' ? 0.5 : 0.54;
  for (let i = 0; i < n; i++) w[i] = kind === 'rectangular' ? 1 : a - (1 - a) * Math.cos((2 * Math.PI * i) / n);
  return w;
}

function checkFraming(o: SpectrogramOptions): Framing {
  const sampleRate = o.sampleRate === undefined ? 16000 : checkInteger('opts.sampleRate', o.sampleRate, 1, 768000);
  const frameLength = o.frameLength === undefined ? Math.max(1, Math.round(0.025 * sampleRate)) : checkInteger('opts.frameLength', o.frameLength, 1, 1 << 20);
  const hopLength = o.hopLength === undefined ? Math.max(1, Math.round(0.01 * sampleRate)) : checkInteger('opts.hopLength', o.hopLength, 1, 1 << 20);
  let fftSize = 2;
  while (fftSize < frameLength) fftSize *= 2;
  if (o.fftSize !== undefined) {
    const f = checkInteger('opts.fftSize', o.fftSize, 2, 1 << 20);
    if ((f & (f - 1)) !== 0 || f < frameLength) fail(`a power of two of at least frameLength (${frameLength})`, 'opts.fftSize', f);
    fftSize = f;
  }
  const window = periodicWindow(o.window === undefined ? 'hann' : checkOneOf('opts.window', o.window, ['hann', 'hamming', 'rectangular'] as const), frameLength);
  const preEmphasis = o.preEmphasis === undefined ? 0 : checkNumber('opts.preEmphasis', o.preEmphasis, { min: 0, max: 1 });
  if (o.power !== undefined && o.power !== 1 && o.power !== 2) fail('1 or 2', 'opts.power', o.power);
  return { sampleRate, frameLength, hopLength, fftSize, window, preEmphasis, power: o.power ?? 2 };
}

function checkSignal(signal: unknown): Float32Array {
  if (!(signal instanceof Float32Array)) fail('a Float32Array of samples', 'signal', signal);
  return signal;
}

/**
 * Number of frames for n samples (see the file comment).
 * @param n - Number of samples in the signal.
 * @param frameLength - Samples per frame.
 * @param hopLength - Samples between the starts of consecutive frames.
 */
export function frameCount(n: number, frameLength: number, hopLength: number): number {
  if (n === 0) return 0;
  return n < frameLength ? 1 : 1 + Math.floor((n - frameLength) / hopLength);
}

/** Power (or magnitude) spectra, float64 [frames][fftSize/2 + 1]. */
function spectra(signal: Float32Array, f: Framing): Float64Array[] {
  const frames = frameCount(signal.length, f.frameLength, f.hopLength);
  const bins = f.fftSize / 2 + 1;
  const fft = new FFT(f.fftSize);
  const input = new Float64Array(f.fftSize);
  const out = fft.createComplexArray() as number[];
  const rows: Float64Array[] = [];
  for (let t = 0; t < frames; t++) {
    const start = t * f.hopLength;
    input.fill(0);
    for (let i = 0; i < f.frameLength; i++) {
      const k = start + i;
      const x = k < signal.length ? signal[k] : 0;
      const previous = i > 0 ? (k - 1 < signal.length ? signal[k - 1] : 0) : x; // the first sample is its own predecessor (Kaldi)
      input[i] = (x - f.preEmphasis * previous) * f.window[i];
    }
    fft.realTransform(out, input);
    const row = new Float64Array(bins);
    for (let b = 0; b < bins; b++) {
      const p = out[2 * b] * out[2 * b] + out[2 * b + 1] * out[2 * b + 1];
      row[b] = f.power === 2 ? p : Math.sqrt(p);
    }
    rows.push(row);
  }
  return rows;
}

function toTensor(rows: ArrayLike<number>[], width: number): Tensor {
  const data = new Float32Array(rows.length * width);
  rows.forEach((r, t) => {
    for (let i = 0; i < width; i++) data[t * width + i] = r[i];
  });
  return new Tensor(data, [rows.length, width]);
}

/**
 * The short-time power spectrum of a mono signal: a Tensor [frames,
 * fftSize/2 + 1].
 * @param signal - Mono samples.
 * @param opts - Framing, window and FFT options.
 * @throws ValidationError if `signal` is not a Float32Array or an option is out of range.
 */
export function spectrogram(signal: Float32Array, opts?: SpectrogramOptions): Tensor {
  const f = checkFraming(checkOptions('opts', opts, SPECTROGRAM_OPTION_KEYS));
  const rows = spectra(checkSignal(signal), f);
  return toTensor(rows, f.fftSize / 2 + 1);
}

const hzToMel = {
  htk: (f: number): number => 2595 * Math.log10(1 + f / 700),
  slaney: (f: number): number => (f < 1000 ? (3 * f) / 200 : 15 + (27 * Math.log(f / 1000)) / Math.log(6.4)),
};
const melToHz = {
  htk: (m: number): number => 700 * (10 ** (m / 2595) - 1),
  slaney: (m: number): number => (m < 15 ? (200 * m) / 3 : 1000 * Math.exp(((m - 15) * Math.log(6.4)) / 27)),
};

interface MelSettings {
  bands: number;
  fMin: number;
  fMax: number;
  scale: 'htk' | 'slaney';
  norm: 'none' | 'slaney';
  floor: number;
}

function checkMel(o: MelOptions, sampleRate: number): MelSettings {
  const nyquist = sampleRate / 2;
  const bands = o.melBands === undefined ? 40 : checkInteger('opts.melBands', o.melBands, 1, 1024);
  const fMin = o.fMin === undefined ? 0 : checkNumber('opts.fMin', o.fMin, { min: 0, max: nyquist });
  const fMax = o.fMax === undefined ? nyquist : checkNumber('opts.fMax', o.fMax, { min: 0, max: nyquist });
  if (fMax <= fMin) throw new ValidationError(`Expected fMax above fMin (${fMin} Hz) for opts.fMax but received ${fMax}`);
  const scale = o.melScale === undefined ? 'htk' : checkOneOf('opts.melScale', o.melScale, ['htk', 'slaney'] as const);
  const norm = o.melNorm === undefined ? 'none' : checkOneOf('opts.melNorm', o.melNorm, ['none', 'slaney'] as const);
  const floor = o.logFloor === undefined ? 1e-10 : checkNumber('opts.logFloor', o.logFloor, { min: Number.MIN_VALUE });
  return { bands, fMin, fMax, scale, norm, floor };
}

/** Triangular mel filters, float64 [bands][bins]. */
function melWeights(m: MelSettings, bins: number, sampleRate: number): Float64Array[] {
  const lo = hzToMel[m.scale](m.fMin);
  const hi = hzToMel[m.scale](m.fMax);
  const points = Array.from({ length: m.bands + 2 }, (_, i) => melToHz[m.scale](lo + ((hi - lo) * i) / (m.bands + 1)));
  return Array.from({ length: m.bands }, (_, k) => {
    const row = new Float64Array(bins);
    const [left, centre, right] = [points[k], points[k + 1], points[k + 2]];
    for (let b = 0; b < bins; b++) {
      const freq = ((sampleRate / 2) * b) / (bins - 1);
      const w = Math.max(0, Math.min((freq - left) / (centre - left), (right - freq) / (right - centre)));
      row[b] = m.norm === 'slaney' ? (w * 2) / (right - left) : w;
    }
    return row;
  });
}

/**
 * The mel filterbank matrix, a Tensor [melBands, fftSize/2 + 1]: a power
 * spectrum row times its transpose gives the band energies.
 * @param opts - Sample rate, FFT size and mel band options.
 * @throws ValidationError if an option is out of range.
 */
export function melFilterbank(opts?: MelOptions): Tensor {
  const o = checkOptions('opts', opts, MEL_OPTION_KEYS);
  const f = checkFraming(o);
  const m = checkMel(o, f.sampleRate);
  const bins = f.fftSize / 2 + 1;
  return toTensor(melWeights(m, bins, f.sampleRate), bins);
}

function logMelRows(signal: Float32Array, o: MelOptions): Float64Array[] {
  const f = checkFraming(o);
  const m = checkMel(o, f.sampleRate);
  const weights = melWeights(m, f.fftSize / 2 + 1, f.sampleRate);
  return spectra(checkSignal(signal), f).map((p) => {
    const row = new Float64Array(m.bands);
    weights.forEach((w, k) => {
      let e = 0;
      for (let b = 0; b < w.length; b++) e += w[b] * p[b];
      row[k] = Math.log(Math.max(e, m.floor));
    });
    return row;
  });
}

/**
 * Log-mel filterbank energies of a mono signal: a Tensor [frames, melBands].
 * @param signal - Mono samples.
 * @param opts - Framing, FFT and mel band options.
 * @throws ValidationError if `signal` is not a Float32Array or an option is out of range.
 */
export function logMel(signal: Float32Array, opts?: MelOptions): Tensor {
  const o = checkOptions('opts', opts, MEL_OPTION_KEYS);
  return toTensor(logMelRows(signal, o), o.melBands ?? 40);
}

/**
 * Mel-frequency cepstral coefficients of a mono signal: a Tensor [frames, coefficients].
 * @param signal - Mono samples.
 * @param opts - Framing, FFT, mel band and cepstrum options.
 * @throws ValidationError if `signal` is not a Float32Array or an option is out of range.
 */
export function mfcc(signal: Float32Array, opts?: MfccOptions): Tensor {
  const o = checkOptions('opts', opts, MFCC_OPTION_KEYS);
  const { coefficients: requested, ...mel } = o;
  const bands = mel.melBands ?? 40;
  const kept = requested === undefined ? Math.min(13, bands) : checkInteger('opts.coefficients', requested, 1, bands);
  const rows = logMelRows(signal, mel);
  // Orthonormal DCT-II: c_k = s_k Σ_n x_n cos(π k (2n + 1) / 2N), s_0 = √(1/N), s_k = √(2/N).
  const basis = Array.from({ length: kept }, (_, k) => Float64Array.from({ length: bands }, (_, n) => Math.sqrt((k === 0 ? 1 : 2) / bands) * Math.cos((Math.PI * k * (2 * n + 1)) / (2 * bands))));
  const cepstra = rows.map((x) => basis.map((row) => row.reduce((acc, c, n) => acc + c * x[n], 0)));
  return toTensor(cepstra, kept);
}
