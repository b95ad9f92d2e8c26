/**
 * reverseSequences: each sequence of a padded batch reversed within its own
 * length, as the backward direction of a bidirectional RNN needs (TF's
 * `reverse_sequence`). Padded steps stay where they are, unchanged, so the
 * op is its own inverse and its backward is the same permutation.
 */
import { recordSingleOutput } from '../autograd/tape';
import { ShapeError } from '../errors';
import { checkTensor, denseData, Tensor } from '../tensor/tensor';
import { formatShape } from '../validate';
import { checkLengths, Lengths } from './lengths';

/** Moves time step t of sequence b to L_b − 1 − t for t < L_b; contiguous in, contiguous out. */
function permute(src: Float32Array, shape: readonly number[], lengths: Int32Array | null): Float32Array {
  const [B, T] = shape;
  const inner = src.length / Math.max(1, B * T);
  const out = new Float32Array(src.length);
  for (let b = 0; b < B; b++) {
    const L = lengths ? lengths[b] : T;
    for (let t = 0; t < T; t++) {
      const from = t < L ? L - 1 - t : t;
      const s = (b * T + from) * inner;
      out.set(src.subarray(s, s + inner), (b * T + t) * inner);
    }
  }
  return out;
}

/**
 * Reverses the time axis of x [batch, time, ...] within each sequence's
 * length: out[b, t] = x[b, L_b − 1 − t] for t < L_b, and x[b, t] for the
 * padded steps t ≥ L_b.
 * @param x - The sequences, [batch, time, ...].
 * @param lengths - One length per sequence (1 ≤ L_b ≤ time); every sequence has all time steps when omitted.
 * @throws {@link ShapeError} when the lengths do not fit `x`.
 */
export function reverseSequences(x: Tensor, lengths?: Lengths): Tensor {
  checkTensor('x', x);
  if (x.rank < 2) throw new ShapeError(`Expected x of shape [batch, time, ...] for reverseSequences but received ${formatShape(x.shape)}`);
  const lens = checkLengths(lengths, x.shape[0], x.shape[1]);
  const out = new Tensor(permute(denseData(x), x.shape, lens), x.shape);
  recordSingleOutput('reverseSequences', [x], out, (g) => [new Tensor(permute(denseData(g), g.shape, lens), g.shape)]);
  return out;
}
