/**
 * Argument checks with one message shape:
 * `Expected <what> for <name> but received <value> of type <type>`.
 */
import { ValidationError } from './errors';

/** Renders a received value for an error message, short and unambiguous. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)} of type string`;
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

export function fail(expected: string, name: string, value: unknown): never {
  throw new ValidationError(`Expected ${expected} for ${name} but received ${describe(value)}`);
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

/** Checks that an options argument is a plain object (or undefined). */
export function checkOptions<T extends object>(name: string, value: T | undefined): T | Record<string, never> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('an options object', name, value);
  return value;
}
