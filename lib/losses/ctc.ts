/**
 * Connectionist temporal classification loss, PyTorch's `F.ctc_loss`:
 * -log p(target | x) summed over all alignments of each target with its
 * input steps, by the alpha recursion forward and alpha-beta backward (see
 * ctc-alignment.ts). Time-major input, as in PyTorch.
 */
import { recordSingleOutput } from '../autograd/tape';
import { ShapeError, ValidationError } from '../errors';
import { Tensor, checkTensor, denseData } from '../tensor/tensor';
import { checkBoolean, checkInteger, checkOptions, describe, fail, formatShape, optionKeys } from '../validate';
import { SequenceLengths, checkLengthArray } from './class-targets';
import { Emissions, ctcAlpha, ctcBeta, ctcGradient, extendLabels } from './ctc-alignment';
import { Reduction, checkReduction, itemGradients, reduceLoss } from './reduction';

/**
 * Target label sequences: padded, one row per sequence (a Tensor [batch,
 * S] or nested arrays, rows at least as long as their target length), or
 * all targets concatenated (a rank-1 Tensor, Int32Array or number[] of
 * length Σ targetLengths).
 */
export type CtcTargets = Tensor | Int32Array | readonly number[] | readonly (readonly number[])[];

/** The options of {@link ctc}. */
export interface CtcOptions {
  /** The blank class. @default 0 */
  blank?: number;
  /**
   * 'mean': each sequence's loss divided by its target length (at least 1),
   * then averaged over the batch; 'sum'; or 'none' (shape [batch]). @default 'mean'
   */
  reduction?: Reduction;
  /**
   * Replace infinite losses (inputs too short for their targets) and their
   * gradients by 0. Otherwise such a loss is Infinity and its gradient NaN,
   * as in PyTorch. @default false
   */
  zeroInfinity?: boolean;
}

/** The keys of CtcOptions, for checkOptions. */
export const CTC_OPTION_KEYS = optionKeys<CtcOptions>({ blank: true, reduction: true, zeroInfinity: true });

/** Labels of every sequence, concatenated, and where each sequence starts. */
interface Labels {
  values: Int32Array;
  starts: Int32Array;
}

function readTargets(value: unknown, lengths: unknown, batch: number, classes: number, blank: number): { labels: Labels; lengths: Int32Array } {
  let rows: ArrayLike<number>[] | null = null;
  let flat: ArrayLike<number> | null = null;
  let rowName = (b: number, i: number): string => `targets[${b}][${i}]`;
  if (value instanceof Tensor) {
    if (value.rank === 1) flat = denseData(value);
    else if (value.rank === 2 && value.shape[0] === batch) {
      const data = denseData(value);
      const S = value.shape[1];
      rows = Array.from({ length: batch }, (_, b) => data.subarray(b * S, (b + 1) * S));
    } else {
      throw new ShapeError(`Expected targets of shape [${batch}, maxTargetLength] (padded) or [sum of targetLengths] (concatenated) for ctc but received ${formatShape(value.shape)}`);
    }
  } else if (Array.isArray(value) && value.length > 0 && Array.isArray(value[0])) {
    if (value.length !== batch) throw new ShapeError(`Expected targets with one row per sequence (${batch}) for ctc but received nested arrays of length ${value.length}`);
    rows = value as ArrayLike<number>[];
    rows.forEach((r, b) => Array.isArray(r) || fail('an array of labels', `targets[${b}]`, r));
  } else if (Array.isArray(value) || value instanceof Int32Array) {
    flat = value as ArrayLike<number>;
    rowName = (_b, i) => `targets[${i}]`;
  } else {
    fail('Tensor, Int32Array or array of labels', 'targets', value);
  }

  let lens: Int32Array;
  if (rows) {
    const widest = Math.max(0, ...rows.map((r) => r.length));
    lens = checkLengthArray(lengths, batch, 'targetLengths', 0, widest, 'the length of the longest row of targets');
    lens.forEach((n, b) => {
      if (n > rows[b].length) {
        throw new ValidationError(`Expected targetLengths between 0 and ${rows[b].length} (the length of targets[${b}]) but received targetLengths[${b}] = ${n}`);
      }
    });
  } else {
    const total = (flat as ArrayLike<number>).length;
    lens = checkLengthArray(lengths, batch, 'targetLengths', 0, total, 'the length of targets');
    const sum = lens.reduce((a, b) => a + b, 0);
    if (sum !== total) throw new ShapeError(`Expected targets of length ${sum} (the sum of targetLengths) for ctc but received ${describe(value)}`);
  }

  const starts = new Int32Array(batch);
  const values = new Int32Array(lens.reduce((a, b) => a + b, 0));
  let k = 0;
  for (let b = 0; b < batch; b++) {
    starts[b] = k;
    for (let i = 0; i < lens[b]; i++, k++) {
      const v = rows ? rows[b][i] : (flat as ArrayLike<number>)[k];
      if (!Number.isInteger(v) || v < 0 || v >= classes || v === blank) {
        const where = rows ? rowName(b, i) : rowName(b, k);
        throw new ValidationError(`Expected target labels (integers between 0 and ${classes - 1} other than blank ${blank}) for targets but received ${where} = ${String(v)}`);
      }
      values[k] = v;
    }
  }
  return { labels: { values, starts }, lengths: lens };
}

/**
 * CTC loss of `logProbs` ([time, batch, classes], already log-softmaxed)
 * against `targets`; `inputLengths` (each 0..time) and `targetLengths`
 * give one length per sequence. Differentiable in logProbs.
 * @param logProbs - Log-probabilities, [time, batch, classes].
 * @param targets - The label sequences, padded or concatenated (see {@link CtcTargets}).
 * @param inputLengths - Steps of each input sequence.
 * @param targetLengths - Labels of each target sequence.
 * @param opts - {@link CtcOptions}.
 * @throws {@link ShapeError} when the lengths or targets do not match `logProbs`.
 * @throws {@link ValidationError} when a label is out of range or equals `blank`, or an option is
 *   malformed.
 */
export function ctc(
  logProbs: Tensor,
  targets: CtcTargets,
  inputLengths: SequenceLengths,
  targetLengths: SequenceLengths,
  opts?: CtcOptions,
): Tensor {
  const x = checkTensor('logProbs', logProbs);
  if (x.rank !== 3 || x.shape[2] < 1) throw new ShapeError(`Expected logProbs of shape [time, batch, classes] for ctc but received ${formatShape(x.shape)}`);
  const [T, B, C] = x.shape;
  const options = checkOptions('opts', opts, CTC_OPTION_KEYS);
  const blank = options.blank === undefined ? 0 : checkInteger('opts.blank', options.blank, 0, C - 1);
  const reduction = checkReduction(options.reduction);
  const zeroInfinity = options.zeroInfinity === undefined ? false : checkBoolean('opts.zeroInfinity', options.zeroInfinity);
  const steps = checkLengthArray(inputLengths, B, 'inputLengths', 0, T, 'the number of time steps');
  const { labels, lengths } = readTargets(targets, targetLengths, B, C, blank);

  const data = denseData(x);
  const emissions = (b: number): Emissions => ({ data, offset: b * C, stride: B * C, steps: steps[b] });
  const extended = Array.from({ length: B }, (_, b) => extendLabels(labels.values.subarray(labels.starts[b], labels.starts[b] + lengths[b]), blank));
  const workspace = new Float64Array(Math.max(0, ...extended.map((ext, b) => ext.length * steps[b])));

  const logLikelihood = new Float64Array(B);
  const losses = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    logLikelihood[b] = ctcAlpha(workspace, emissions(b), extended[b]);
    const nll = zeroInfinity && logLikelihood[b] === -Infinity ? 0 : -logLikelihood[b];
    losses[b] = reduction === 'mean' ? nll / Math.max(1, lengths[b]) : nll;
  }
  const out = reduceLoss(losses, [B], reduction, B);

  recordSingleOutput('ctc', [x], out, (g) => {
    const scale = itemGradients(g, B, reduction, B);
    const grad = new Float32Array(x.size);
    const alpha = workspace;
    const beta = new Float64Array(workspace.length);
    const sums = new Float64Array(C);
    for (let b = 0; b < B; b++) {
      if (zeroInfinity && logLikelihood[b] === -Infinity) continue;
      const e = emissions(b);
      ctcAlpha(alpha, e, extended[b]);
      ctcBeta(beta, e, extended[b]);
      const perSequence = reduction === 'mean' ? scale[b] / Math.max(1, lengths[b]) : scale[b];
      ctcGradient(grad, alpha, beta, e, extended[b], logLikelihood[b], perSequence, sums);
    }
    return [new Tensor(grad, x.shape)];
  });
  return out;
}
