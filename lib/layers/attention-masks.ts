/**
 * The masks of multi-head attention in PyTorch's forms (a float mask added
 * to the scores, or a boolean mask where true hides a key), reduced to what
 * the fused kernel takes: per-sequence key lengths when the padding is
 * trailing (no mask stored at all) and otherwise one additive mask.
 */
import { ShapeError, ValidationError } from '../errors';
import { checkLengths, Lengths } from '../ops/lengths';
import { checkTensor, Tensor } from '../tensor/tensor';
import { describe, formatShape } from '../validate';

/** A float tensor added to the scores, or nested booleans (true = masked). */
export type AttentionMaskValue = Tensor | readonly (readonly boolean[])[] | readonly (readonly (readonly boolean[])[])[];

export interface AttentionMaskInputs {
  B: number;
  H: number;
  Tq: number;
  Tk: number;
  lengths?: Lengths | null;
  keyPaddingMask?: AttentionMaskValue | null;
  attnMask?: AttentionMaskValue | null;
}

/** Nested booleans as a flat −∞/0 array, checking the shape is `shape`. */
function booleanMask(name: string, value: unknown, shape: number[]): Float32Array {
  const out = new Float32Array(shape.reduce((a, d) => a * d, 1));
  let k = 0;
  const walk = (v: unknown, dim: number, path: string): void => {
    if (dim === shape.length) {
      if (typeof v !== 'boolean') throw new ValidationError(`Expected a boolean for ${path} but received ${describe(v)}`);
      out[k++] = v ? -Infinity : 0;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim]) {
      throw new ShapeError(`Expected ${name} of shape ${formatShape(shape)} but ${path} is ${Array.isArray(v) ? `an array of ${v.length}` : describe(v)}`);
    }
    v.forEach((item, i) => walk(item, dim + 1, `${path}[${i}]`));
  };
  walk(value, 0, name);
  return out;
}

/** The depth of nested arrays (2 for boolean[][]). */
function depth(value: unknown): number {
  let d = 0;
  for (let v = value; Array.isArray(v); v = v[0]) d++;
  return d;
}

/** A mask of one of the allowed shapes, as flat additive values. */
function additive(name: string, value: AttentionMaskValue, shapes: number[][]): { data: Float32Array; shape: number[] } {
  const want = shapes.map(formatShape).join(' or ');
  if (value instanceof Tensor) {
    const t = checkTensor(name, value);
    const shape = shapes.find((s) => s.length === t.rank && s.every((d, i) => d === t.shape[i]));
    if (!shape) throw new ShapeError(`Expected ${name} of shape ${want} but received ${formatShape(t.shape)}`);
    return { data: t.toFloat32Array(), shape };
  }
  if (!Array.isArray(value)) throw new ValidationError(`Expected a float tensor or nested booleans for ${name} but received ${describe(value)}`);
  const shape = shapes.find((s) => s.length === depth(value)) ?? shapes[0];
  return { data: booleanMask(name, value, shape), shape };
}

/** Per-sequence lengths when every row of a [B, Tk] mask is valid keys followed by masked ones, else null. */
function trailingLengths(rows: Float32Array, B: number, Tk: number): Int32Array | null {
  const lengths = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let n = 0;
    while (n < Tk && rows[b * Tk + n] === 0) n++;
    for (let j = n; j < Tk; j++) if (rows[b * Tk + j] !== -Infinity) return null;
    if (n === 0) return null;
    lengths[b] = n;
  }
  return lengths;
}

/** `keyLengths` and `attnMask` for scaledDotProductAttention. */
export function attentionMasks(m: AttentionMaskInputs): { keyLengths: Int32Array | null; attnMask: Tensor | null } {
  const { B, H, Tq, Tk } = m;
  const given = (v: unknown): boolean => v !== undefined && v !== null;
  if (given(m.lengths) && given(m.keyPaddingMask)) {
    throw new ValidationError('Expected lengths or keyPaddingMask for the keys, not both');
  }
  let keyLengths = checkLengths(m.lengths, B, Tk);
  let rows: Float32Array | null = null;
  if (given(m.keyPaddingMask)) {
    rows = additive('keyPaddingMask', m.keyPaddingMask!, [[B, Tk]]).data;
    keyLengths = trailingLengths(rows, B, Tk);
    if (keyLengths) rows = null;
  }
  const attn = given(m.attnMask) ? additive('attnMask', m.attnMask!, [[Tq, Tk], [B * H, Tq, Tk]]) : null;
  if (!rows) return { keyLengths, attnMask: attn && new Tensor(attn.data, attn.shape) };
  // Padding in the middle of a sequence: one [B·H, Tq, Tk] mask holds both.
  const TT = Tq * Tk;
  const merged = new Float32Array(B * H * TT);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const base = (b * H + h) * TT;
      const src = attn ? (attn.shape.length === 3 ? (b * H + h) * TT : 0) : -1;
      for (let i = 0; i < Tq; i++) {
        for (let j = 0; j < Tk; j++) merged[base + i * Tk + j] = rows[b * Tk + j] + (src >= 0 ? attn!.data[src + i * Tk + j] : 0);
      }
    }
  }
  return { keyLengths: null, attnMask: new Tensor(merged, [B * H, Tq, Tk]) };
}
