/**
 * Argument checks with one message shape:
 * `Expected <what> for <name> but received <value> of type <type>`.
 */
import { EddyError, UnknownOptionError, ValidationError } from './errors';
import { Generator, globalGenerator } from './random';

/**
 * Quotes a string for an error message, cut to `max` characters: a longer
 * one ends in an ellipsis and says how long it was, so a message never
 * embeds a huge field.
 */
export function quote(value: unknown, max = 40): string {
  if (typeof value !== 'string') return String(JSON.stringify(value));
  return value.length > max ? `${JSON.stringify(value.slice(0, max) + '…')} (${value.length} characters)` : JSON.stringify(value);
}

/** Renders a received value for an error message, short and unambiguous. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `${quote(value)} of type string`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${String(value)} of type ${typeof value}`;
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) {
    const len = 'length' in value ? (value as unknown as { length: number }).length : value.byteLength;
    return `${value.constructor.name} of length ${len}`;
  }
  if (typeof value === 'function') return 'a function';
  const ctor = (value as object).constructor;
  return ctor && ctor !== Object ? `an instance of ${ctor.name}` : 'an object';
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Throws `Expected <expected> for <name> but received <value>`, a
 * ValidationError unless `Err` names another class (a FormatError for a
 * field of a file).
 */
export function fail(expected: string, name: string, value: unknown, Err: new (message: string) => EddyError = ValidationError): never {
  throw new Err(`Expected ${expected} for ${name} but received ${describe(value)}`);
}

export function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}

export function checkInteger(name: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (!isInteger(value) || value < min || value > max) {
    let expected = 'integer';
    if (min === 0 && max === Infinity) expected = 'non-negative integer';
    else if (min === 1 && max === Infinity) expected = 'positive integer';
    else if (max !== Infinity) expected = `integer between ${min} and ${max}`;
    fail(expected, name, value);
  }
  return value;
}

export function checkNumber(name: string, value: unknown, opts: { min?: number; max?: number } = {}): number {
  const { min = -Infinity, max = Infinity } = opts;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    let expected = 'finite number';
    if (min !== -Infinity && max !== Infinity) expected = `number between ${min} and ${max}`;
    else if (min !== -Infinity) expected = `number >= ${min}`;
    else if (max !== Infinity) expected = `number <= ${max}`;
    fail(expected, name, value);
  }
  return value;
}

export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail('boolean', name, value);
  return value;
}

export function checkOneOf<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    fail(`one of ${choices.map((c) => `'${c}'`).join(', ')}`, name, value);
  }
  return value as T;
}

/**
 * Checks a dimension of a tensor of rank `rank` (negative values count from
 * the end) and returns it as a non-negative index. `what` names the tensor
 * in the message.
 */
export function checkDim(name: string, dim: unknown, rank: number, what = `a tensor of rank ${rank}`): number {
  const i = checkInteger(name, dim);
  const d = i < 0 ? i + rank : i;
  if (d < 0 || d >= rank) throw new ValidationError(`Expected ${name} between ${-rank} and ${rank - 1} for ${what} but received ${i}`);
  return d;
}

/** Checks a shape: an array of non-negative integers. */
export function checkShape(name: string, value: unknown): number[] {
  if (!Array.isArray(value) || !value.every((d) => isInteger(d) && d >= 0)) {
    fail('an array of non-negative integers', name, value);
  }
  return value.slice();
}

/** Checks an optional `generator` option: an eddy Generator, or undefined for the global one. */
export function checkGenerator(name: string, value: unknown): Generator {
  if (value === undefined) return globalGenerator;
  if (!(value instanceof Generator)) fail('an eddy Generator', name, value);
  return value;
}

/**
 * Every key of an options interface, each set to `true`: written as
 * `optionKeys<LSTMOptions>({ inputSize: true, … })` next to the interface,
 * so the compiler refuses a list that misses a key or names one the
 * interface lacks.
 */
export type KeyList<T> = { readonly [K in keyof Required<T>]-?: true };

/** The known keys of an options interface, for `checkOptions`. */
export function optionKeys<T>(keys: KeyList<T>): readonly string[] {
  return Object.freeze(Object.keys(keys));
}

/** Common spellings from other libraries (lowercased, without `_`) and the option they mean. */
const ALIASES: Record<string, readonly string[]> = {
  learningrate: ['lr'],
  lr: ['learningRate'],
  nbepoch: ['epochs'],
  numepochs: ['epochs'],
  units: ['hiddenSize', 'units'],
  inputdim: ['inputSize', 'numEmbeddings'],
  outputdim: ['embeddingDim', 'outFeatures'],
  returnsequences: ['returnSequences'],
  seed: ['generator'],
  shuffle: ['shuffle'],
};

/** Optimal string alignment distance (Levenshtein plus adjacent swaps), capped at `limit + 1`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2] + 1);
      row.push(d);
    }
    prev2 = prev;
    prev = row;
  }
  return prev[b.length];
}

/**
 * The known key a misspelled one most likely meant: the same letters in
 * another case or with underscores (`num_layers`, `numlayers` →
 * `numLayers`), a known alias (`learning_rate` → `lr`), or the nearest key
 * within two edits (a third of the key's length at most).
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const fold = (k: string): string => k.replace(/[_\-\s]/g, '').toLowerCase();
  const folded = fold(key);
  const same = known.find((k) => fold(k) === folded);
  if (same !== undefined) return same;
  const alias = ALIASES[folded]?.find((k) => known.includes(k));
  if (alias !== undefined) return alias;
  const limit = Math.min(2, Math.floor(folded.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const k of known) {
    const d = editDistance(folded, fold(k), limit);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

/**
 * Checks that an options argument is a plain object (or undefined) whose
 * own keys are all in `known`. An unknown key is a ValidationError that
 * names it and suggests the closest known key:
 * `Expected a known option for options.numlayers but received 3 of type number; did you mean numLayers?`
 */
export function checkOptions<T extends object>(name: string, value: T | undefined, known: readonly string[]): T | Record<string, never> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('an options object', name, value);
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const guess = closestKey(key, known);
    const hint = guess !== undefined ? `did you mean ${guess}?` : `known options are ${known.join(', ')}`;
    const path = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${name}.${key}` : `${name}[${quote(key)}]`;
    throw new UnknownOptionError(`Expected a known option for ${path} but received ${describe((value as Record<string, unknown>)[key])}; ${hint}`, key, guess);
  }
  return value;
}

/** Checks that an argument is a plain object (or undefined) without restricting its keys. */
export function checkObject<T extends object>(name: string, value: T | undefined): T | Record<string, never> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('an options object', name, value);
  return value;
}
