/**
 * Polyphase resampling with a windowed-sinc low-pass filter: the same
 * filter, alignment and zero padding as SciPy's
 * `scipy.signal.resample_poly(x, up, down)` with its default Kaiser window
 * (β = 5), so results match it to float rounding.
 *
 * With up/down the rate ratio in lowest terms and M = max(up, down), the
 * filter h has 2·10·M + 1 taps, cut-off 1/M of the Nyquist rate, unit DC
 * gain times `up`; output sample m is
 *   y[m] = Σ_k x[k] · h[10·M + m·down − k·up],
 * and there are ceil(n·up/down) of them.
 */
import { ValidationError } from '../errors';
import { checkInteger, fail } from '../validate';

const MAX_RATE = 768000;
/** Kaiser window shape of SciPy's default, ('kaiser', 5.0). */
const KAISER_BETA = 5;
/** Half the filter length in units of the larger rate factor (SciPy's choice: a good cut-off for a sinc). */
const HALF_LENGTH_PER_RATE = 10;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** The modified Bessel function of the first kind of order 0, by its power series. */
function besselI0(x: number): number {
  const q = (x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; term > sum * 1e-17; k++) {
    term *= q / (k * k);
    sum += term;
  }
  return sum;
}

/** SciPy's firwin(taps, cutoff, window=('kaiser', β)) for a low pass, scaled to unit DC gain. */
export function kaiserLowPass(taps: number, cutoff: number, beta = KAISER_BETA): Float64Array {
  const h = new Float64Array(taps);
  const centre = (taps - 1) / 2;
  const norm = besselI0(beta);
  let sum = 0;
  for (let i = 0; i < taps; i++) {
    const m = i - centre;
    const x = cutoff * m;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    const r = taps > 1 ? (2 * i) / (taps - 1) - 1 : 0;
    h[i] = cutoff * sinc * (besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / norm);
    sum += h[i];
  }
  for (let i = 0; i < taps; i++) h[i] /= sum;
  return h;
}

/**
 * Resamples a signal from `fromRate` to `toRate` (integer rates in Hz up to
 * 768 kHz). Returns a new array of ceil(n·toRate/fromRate) samples; the
 * same rate gives a copy.
 * @param signal - Mono samples at `fromRate`.
 * @param fromRate - Sample rate of `signal` in Hz.
 * @param toRate - Sample rate of the result in Hz.
 * @throws ValidationError if a rate is not an integer in 1..768000 or `signal` is not a Float32Array.
 */
export function resample(signal: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (!(signal instanceof Float32Array)) fail('a Float32Array', 'signal', signal);
  checkInteger('fromRate', fromRate, 1, MAX_RATE);
  checkInteger('toRate', toRate, 1, MAX_RATE);
  const g = gcd(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;
  if (up === down) return signal.slice();
  const maxRate = Math.max(up, down);
  const half = HALF_LENGTH_PER_RATE * maxRate;
  if (2 * half + 1 > 2 ** 26) throw new ValidationError(`Expected rates whose ratio reduces to smaller terms for resample but received ${fromRate} → ${toRate} Hz (${down}:${up})`);
  const h = kaiserLowPass(2 * half + 1, 1 / maxRate);
  const n = signal.length;
  const outLength = Math.ceil((n * up) / down);
  const out = new Float32Array(outLength);
  for (let m = 0; m < outLength; m++) {
    // Taps j = half + m·down − k·up within [0, 2·half] select the k that contribute.
    const centre = half + m * down;
    const kMin = Math.max(0, Math.ceil((centre - 2 * half) / up));
    const kMax = Math.min(n - 1, Math.floor(centre / up));
    let acc = 0;
    for (let k = kMin, j = centre - kMin * up; k <= kMax; k++, j -= up) acc += signal[k] * h[j];
    out[m] = acc * up;
  }
  return out;
}
