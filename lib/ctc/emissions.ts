/**
 * The emissions both CTC decoders read: log-probabilities [batch, time,
 * classes] (or [time, batch, classes] with batchFirst false, the layout
 * `losses.ctc` takes), with an optional length per sequence.
 */
import { ShapeError } from '../errors';
import { Tensor, checkTensor, denseData } from '../tensor/tensor';
import { checkBoolean, checkInteger, fail, formatShape } from '../validate';

/** How the decoders read their input: layout, lengths and the blank class. */
export interface EmissionOptions {
  /** Input is [batch, time, classes]; false for time-major [time, batch, classes]. @default true */
  batchFirst?: boolean;
  /** Steps of each sequence (the rest is padding). @default every sequence uses all steps */
  lengths?: Int32Array | readonly number[];
  /** The blank class. @default 0 */
  blank?: number;
}

/** Read access to one batch's emissions. */
export interface Emissions {
  batch: number;
  classes: number;
  blank: number;
  /** Real steps of sequence b. */
  steps: Int32Array;
  /** Row of sequence b at step t: index of class 0 in data. */
  row(b: number, t: number): number;
  data: Float32Array;
}

export function readEmissions(name: string, logProbs: unknown, o: EmissionOptions): Emissions {
  const x = checkTensor(name, logProbs as Tensor);
  if (x.rank !== 3 || x.shape[2] < 1) {
    throw new ShapeError(`Expected ${name} of shape ${o.batchFirst === false ? '[time, batch, classes]' : '[batch, time, classes]'} but received ${formatShape(x.shape)}`);
  }
  const batchFirst = o.batchFirst === undefined ? true : checkBoolean('opts.batchFirst', o.batchFirst);
  const [B, T, C] = batchFirst ? x.shape : [x.shape[1], x.shape[0], x.shape[2]];
  const blank = o.blank === undefined ? 0 : checkInteger('opts.blank', o.blank, 0, C - 1);
  let steps = new Int32Array(B).fill(T);
  if (o.lengths !== undefined) {
    if (!(o.lengths instanceof Int32Array) && !Array.isArray(o.lengths)) fail('an Int32Array or array of lengths', 'opts.lengths', o.lengths);
    if (o.lengths.length !== B) fail(`${B} lengths (one per sequence)`, 'opts.lengths', o.lengths);
    steps = Int32Array.from(o.lengths, (n, b) => checkInteger(`opts.lengths[${b}]`, n, 0, T));
  }
  const data = denseData(x);
  const row = batchFirst ? (b: number, t: number) => (b * T + t) * C : (b: number, t: number) => (t * B + b) * C;
  return { batch: B, classes: C, blank, steps, row, data };
}
