/**
 * Synthetic sequence tasks for the learning tests: each draws its examples
 * from a seeded Generator, so a test sees the same data on every run.
 */
import * as eddy from '../../lib';
import { Tensor } from '../../lib';

function randomInt(g: eddy.Generator, n: number): number {
  return Math.floor(g.next() * n);
}

/**
 * The adding problem (Hochreiter & Schmidhuber, 1997; in the form of Le et
 * al., 2015): x [n, T, 2] holds a value from U(0, 1) and a marker channel
 * with exactly two 1s, one in each half of the sequence; y [n, 1] is the sum
 * of the two marked values. Predicting the mean, 1, gives an MSE of
 * Var(U + U) = 1/6.
 */
export function addingProblem(n: number, T: number, g: eddy.Generator): { x: Tensor; y: Tensor } {
  const x = new Float32Array(n * T * 2);
  const y = new Float32Array(n);
  const half = T >> 1;
  for (let b = 0; b < n; b++) {
    const first = randomInt(g, half);
    const second = half + randomInt(g, T - half);
    for (let t = 0; t < T; t++) x[(b * T + t) * 2] = g.next();
    x[(b * T + first) * 2 + 1] = 1;
    x[(b * T + second) * 2 + 1] = 1;
    y[b] = x[(b * T + first) * 2] + x[(b * T + second) * 2];
  }
  return { x: eddy.tensor(x, [n, T, 2]), y: eddy.tensor(y, [n, 1]) };
}

/** Sequence reversal for an encoder-decoder: symbols 0..vocab-1, `bos` starts the decoder input. */
export interface ReversalData {
  /** [source [n, T], decoder input [n, T]]: token ids; the decoder input is BOS then the target shifted right (teacher forcing). */
  x: [Tensor, Tensor];
  /** [n, T]: the source reversed within its own length; padded steps hold 0 and are masked by `lengths`. */
  y: Tensor;
  lengths: Int32Array;
}

export function reversal(n: number, T: number, minLength: number, vocab: number, g: eddy.Generator): ReversalData {
  const bos = vocab;
  const src = new Float32Array(n * T);
  const dec = new Float32Array(n * T);
  const y = new Float32Array(n * T);
  const lengths = new Int32Array(n);
  for (let b = 0; b < n; b++) {
    const L = (lengths[b] = minLength + randomInt(g, T - minLength + 1));
    for (let t = 0; t < L; t++) src[b * T + t] = randomInt(g, vocab);
    for (let t = 0; t < L; t++) y[b * T + t] = src[b * T + L - 1 - t];
    dec[b * T] = bos;
    for (let t = 1; t < L; t++) dec[b * T + t] = y[b * T + t - 1];
  }
  return { x: [eddy.tensor(src, [n, T]), eddy.tensor(dec, [n, T])], y: eddy.tensor(y, [n, T]), lengths };
}

/**
 * Which of three motifs a sequence contains: the motifs are orderings of
 * the same tokens 1, 2, 3, planted once at a random place among noise
 * tokens 4..9, so a bag of tokens tells nothing; only the order does.
 * Lengths are uniform in [minLength, T]; padded steps hold token 0.
 */
export const MOTIFS = [
  [1, 2, 3],
  [3, 2, 1],
  [2, 3, 1],
] as const;
export const MOTIF_VOCAB = 10;

export function motifClassification(n: number, T: number, minLength: number, g: eddy.Generator): { x: Tensor; y: Tensor; lengths: Int32Array } {
  const x = new Float32Array(n * T);
  const y = new Float32Array(n);
  const lengths = new Int32Array(n);
  for (let b = 0; b < n; b++) {
    const L = (lengths[b] = minLength + randomInt(g, T - minLength + 1));
    const c = (y[b] = randomInt(g, MOTIFS.length));
    const at = randomInt(g, L - 2);
    for (let t = 0; t < L; t++) x[b * T + t] = 4 + randomInt(g, MOTIF_VOCAB - 4);
    for (let k = 0; k < 3; k++) x[b * T + at + k] = MOTIFS[c][k];
  }
  return { x: eddy.tensor(x, [n, T]), y: eddy.tensor(y, [n]), lengths };
}

/** The same batch with every padded step (t ≥ lengths[b]) set to a random token in [0, vocab). */
export function repad(x: Tensor, lengths: Int32Array, vocab: number, g: eddy.Generator): Tensor {
  const [n, T] = x.shape;
  const d = x.toFloat32Array().slice();
  for (let b = 0; b < n; b++) for (let t = lengths[b]; t < T; t++) d[b * T + t] = randomInt(g, vocab);
  return eddy.tensor(d, [n, T]);
}

/** Sequences whose target at each step is 0.3 × the running sum of the first feature. */
export function runningSum(n: number, T: number, seed: number): { x: Tensor; y: Tensor } {
  const g = new eddy.Generator(seed);
  const x = g.uniform(new Float32Array(n * T * 2), -1, 1);
  const y = new Float32Array(n * T);
  for (let b = 0; b < n; b++) {
    let s = 0;
    for (let t = 0; t < T; t++) y[b * T + t] = s += 0.3 * x[(b * T + t) * 2];
  }
  return { x: eddy.tensor(x, [n, T, 2]), y: eddy.tensor(y, [n, T, 1]) };
}
