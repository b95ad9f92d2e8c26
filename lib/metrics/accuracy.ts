/**
 * Classification accuracy over rows ([N] or [batch, time]), with the same
 * target forms, ignoreIndex and lengths masks as `losses.crossEntropy`.
 */
import { ShapeError, ValidationError } from '../errors';
import { ClassIndices, SequenceLengths, checkSequenceLengths, lengthMask, readClassTargets, readIntegerEntries } from '../losses/class-targets';
import { Tensor, denseData } from '../tensor/tensor';
import { checkInteger, checkOptions, fail, formatShape, optionKeys } from '../validate';

/** The options of {@link accuracy}. */
export interface AccuracyOptions {
  /** Rows whose target equals this are not counted (the same default as crossEntropy). @default -100 */
  ignoreIndex?: number;
  /** For [batch, time] rows: each sequence's length; later steps are not counted. @default all steps count */
  lengths?: SequenceLengths;
}

/** The keys of AccuracyOptions, for checkOptions. */
export const ACCURACY_OPTION_KEYS = optionKeys<AccuracyOptions>({ ignoreIndex: true, lengths: true });

/** The shape of class indices as given: a Tensor's shape, [batch, time] for nested arrays, [n] for flat ones. */
function shapeOf(value: unknown): number[] | null {
  if (value instanceof Tensor) return value.shape.slice();
  if (Array.isArray(value) && value.length > 0 && Array.isArray(value[0])) return [value.length, (value[0] as unknown[]).length];
  if (Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView))) return [(value as ArrayLike<number>).length];
  return null;
}

/** Index of the largest element of each row of a [rows, C] layout; the first on ties, NaN counting as largest (like PyTorch's argmax). */
function argmaxRows(values: Float32Array, rows: number, C: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < C; c++) {
      const v = values[r * C + c];
      const b = values[r * C + best];
      if (b !== b) break;
      if (v > b || v !== v) best = c;
    }
    out[r] = best;
  }
  return out;
}

/**
 * The fraction of counted rows whose predicted class equals the target
 * (NaN when no row counts). `predictions` holds predicted classes (an
 * Int32Array or number arrays, or a Tensor shaped like `targets` — with flat
 * targets, any Tensor with one element per target) or else logits or
 * probabilities, a Tensor [N, C] or [batch, time, C] reduced by argmax.
 * @param predictions - Predicted classes, or logits or probabilities with the class axis last.
 * @param targets - The true class indices.
 * @param opts - {@link AccuracyOptions}.
 * @throws {@link ShapeError} when the predictions, targets or lengths do not match.
 * @example
 * ```ts
 * eddy.metrics.accuracy(eddy.tensor([[2, 1], [0, 3]]), [0, 0]); // 0.5 (argmax of each row: 0, 1)
 * ```
 */
export function accuracy(predictions: Tensor | ClassIndices, targets: ClassIndices, opts?: AccuracyOptions): number {
  const options = checkOptions('opts', opts, ACCURACY_OPTION_KEYS);
  const ignoreIndex = options.ignoreIndex === undefined ? -100 : checkInteger('opts.ignoreIndex', options.ignoreIndex);
  const targetShape = shapeOf(targets) ?? fail('Tensor, Int32Array or array of class indices', 'targets', targets);
  const predShape = shapeOf(predictions) ?? fail('Tensor, Int32Array or array of class indices', 'predictions', predictions);
  const flatTargets = !(targets instanceof Tensor) && targetShape.length === 1;
  const count = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
  const isLogits =
    predictions instanceof Tensor && formatShape(predShape) !== formatShape(targetShape) && !(flatTargets && count(predShape) === targetShape[0]);

  let rows: number[];
  let predicted: Float64Array;
  let classes: number | null = null;
  if (isLogits) {
    if ((predShape.length !== 2 && predShape.length !== 3) || predShape[predShape.length - 1] < 1) {
      throw new ShapeError(`Expected predictions shaped like targets ${formatShape(targetShape)} (classes) or [..., classes] (logits) for accuracy but received ${formatShape(predShape)}`);
    }
    rows = predShape.slice(0, -1);
    classes = predShape[predShape.length - 1];
    predicted = argmaxRows(denseData(predictions as Tensor), count(rows), classes);
  } else {
    rows = predShape;
    predicted = readIntegerEntries('predictions', predictions, rows, `of shape ${formatShape(rows)}`, 'accuracy').values;
  }
  let counted: Uint8Array | null = null;
  if (options.lengths !== undefined) {
    if (rows.length !== 2) {
      throw new ValidationError(`Expected predictions with a time axis ([batch, time] classes or [batch, time, classes] logits) with opts.lengths for accuracy but received ${formatShape(predShape)}`);
    }
    counted = lengthMask(checkSequenceLengths(options.lengths, rows[0], rows[1], 'opts.lengths'), rows[1]);
  }
  const context = `accuracy with predictions ${formatShape(predShape)}`;
  const target = readClassTargets(readIntegerEntries('targets', targets, rows, `of shape ${formatShape(rows)}`, context), classes, ignoreIndex, counted);
  let total = 0;
  let correct = 0;
  for (let r = 0; r < target.length; r++) {
    if (target[r] < 0) continue;
    total++;
    if (predicted[r] === target[r]) correct++;
  }
  return correct / total;
}
