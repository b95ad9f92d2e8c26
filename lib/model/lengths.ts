/**
 * Sequence lengths per model input, propagated through a graph the way
 * Keras propagates masks. Each input of a functional model carries its own
 * lengths (or none): `lengths: [sourceLengths, targetLengths]`, or
 * `[sourceLengths, null]` for an input without padding. Every layer call
 * masks with the lengths its registration's `lengths` rule picks (by
 * default its first input's) and hands its result's lengths on; the
 * lengths that reach a model output mask the loss and metrics in `fit` and
 * `evaluate`.
 *
 * One array of numbers (or an Int32Array) is the older form: the same
 * lengths for every input, as Sequential takes them.
 */
import { ShapeError, ValidationError } from '../errors';
import type { Lengths } from '../ops/lengths';
import { checkLengths } from '../ops/lengths';
import { Tensor } from '../tensor/tensor';
import { describe } from '../validate';

/** The `lengths` of a model call: one array for every input, or one entry per input (null where an input has none). */
export type ModelLengths = Lengths | readonly (Lengths | null | undefined)[];

/** Whether `lengths` gives one entry per input (an array whose entries are arrays or null) rather than one length per row. */
export function isPerInput(lengths: unknown): lengths is readonly (Lengths | null | undefined)[] {
  return Array.isArray(lengths) && lengths.length > 0 && lengths.some((l) => l === null || l === undefined || typeof l === 'object');
}

/**
 * The lengths of each of `inputs`, checked against its batch and time
 * axes; undefined where it has none. `what` names the model in messages.
 */
export function lengthsOfInputs(lengths: unknown, inputs: readonly Tensor[], what: string): (Int32Array | undefined)[] {
  if (lengths === undefined || lengths === null) return inputs.map(() => undefined);
  const perInput = isPerInput(lengths);
  if (perInput && lengths.length !== inputs.length) {
    throw new ValidationError(`Expected lengths with one entry per input of ${what} (${inputs.length}) but received ${lengths.length}`);
  }
  if (!perInput) {
    // The shared form reaches every layer unchanged, as it always has: each layer checks it against its own input.
    const shared = Array.isArray(lengths) || lengths instanceof Int32Array ? Int32Array.from(lengths as ArrayLike<number>) : checkLengths(lengths, 0, 0);
    return inputs.map(() => shared ?? undefined);
  }
  return inputs.map((t, i) => {
    const given = (lengths as readonly unknown[])[i];
    if (given === null || given === undefined) return undefined;
    if (t.rank < 2) throw new ShapeError(`Expected inputs[${i}] of ${what} to have a time axis for its lengths but received a tensor of rank ${t.rank}`);
    try {
      return checkLengths(given, t.shape[0], t.shape[1]) ?? undefined;
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      throw new ValidationError(`${e.message.replace(/^Expected lengths/, `Expected lengths[${i}]`)} (for inputs[${i}] of ${what})`);
    }
  });
}

/** The rows `idx` of each entry of `lengths` (one shared array or one per input). */
export function lengthsRows(lengths: ModelLengths, idx: readonly number[]): ModelLengths {
  const rows = (l: Lengths): Int32Array => Int32Array.from(idx, (i) => l[i]);
  return isPerInput(lengths) ? lengths.map((l) => (l === null || l === undefined ? null : rows(l))) : rows(lengths as Lengths);
}

/** Checks that every entry of `lengths` has `n` rows; `name` is where the lengths sit (`data.lengths`). */
export function checkLengthsRows(lengths: unknown, n: number, inputs: number, name: string): void {
  if (lengths === undefined) return;
  const entries: [unknown, string][] = isPerInput(lengths) ? lengths.map((l, i) => [l, `${name}[${i}]`]) : [[lengths, name]];
  if (isPerInput(lengths) && lengths.length !== inputs) {
    throw new ShapeError(`Expected ${name} to have one entry per input (${inputs}) or one per row but received ${lengths.length} entries`);
  }
  for (const [l, where] of entries) {
    if (l === null || l === undefined) continue;
    if (!(Array.isArray(l) || l instanceof Int32Array)) throw new ValidationError(`Expected an Int32Array or array of lengths for ${where} but received ${describe(l)}`);
    if (l.length !== n) throw new ShapeError(`Expected ${where} to have one entry per row (${n}) but received ${l.length}`);
  }
}

/**
 * The lengths a model output carries (Keras keeps a tensor's mask on the
 * tensor): set by a graph's forward for each output with a time axis, read
 * by `fit` and `evaluate` to mask the loss.
 */
const outputLengths = new WeakMap<Tensor, Int32Array>();

export function setOutputLengths(t: Tensor, lengths: Int32Array | undefined): void {
  if (lengths !== undefined) outputLengths.set(t, lengths);
}

/**
 * The lengths a graph's forward propagated to this output, if any.
 * @param t - A model's output.
 */
export function lengthsOfOutput(t: Tensor): Int32Array | undefined {
  return outputLengths.get(t);
}

/** The lengths of a one-input model (Sequential): one array, or a per-input form with one entry. */
export function lengthsOfOneInput(lengths: ModelLengths | undefined, what: string): Lengths | undefined {
  if (!isPerInput(lengths)) return lengths as Lengths | undefined;
  if (lengths.length !== 1) throw new ValidationError(`Expected one lengths array for ${what}, which has one input, but received ${lengths.length} entries`);
  return lengths[0] ?? undefined;
}
