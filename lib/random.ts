/**
 * Seeded random numbers. Everything random in Eddy (initialization, dropout
 * masks, shuffling) draws from a Generator, by default the global one, so
 * `eddy.manualSeed(n)` makes a whole run reproducible.
 */
import { ValidationError } from './errors';
import { checkInteger } from './validate';

/** xoshiro128** — small state, fast, and good statistical quality. */
export class Generator {
  private s = new Uint32Array(4);

  /**
   * @param seed - An integer in [0, 2^53).
   */
  constructor(seed = 0x5eed) {
    this.seed(seed);
  }

  /**
   * Resets the state from an integer seed in [0, 2^53): both 32-bit halves
   * feed a splitmix32 expansion, so distinct seeds give distinct streams.
   * @param seed - An integer in [0, 2^53).
   * @throws {@link ValidationError} when the seed is not such an integer.
   */
  seed(seed: number): this {
    checkInteger('seed', seed, 0, Number.MAX_SAFE_INTEGER);
    const halves = [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0];
    let x = 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9 + halves[i % 2]) >>> 0;
      if (i === 1) x = (x ^ Math.imul(halves[1], 0x27d4eb2f)) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
    return this;
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A uniform number in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /**
   * Fills `out` with U(low, high).
   * @param out - The array to fill.
   * @param low - The lower bound.
   * @param high - The upper bound.
   * @returns `out`.
   */
  uniform(out: Float32Array, low: number, high: number): Float32Array {
    const span = high - low;
    for (let i = 0; i < out.length; i++) out[i] = low + span * this.next();
    return out;
  }

  /**
   * Fills `out` with N(mean, std²) (Box–Muller, both values of each pair used).
   * @param out - The array to fill.
   * @param mean - The mean.
   * @param std - The standard deviation.
   * @returns `out`.
   */
  normal(out: Float32Array, mean = 0, std = 1): Float32Array {
    for (let i = 0; i < out.length; i += 2) {
      const u = 1 - this.next(); // (0, 1]: log(u) is finite
      const r = Math.sqrt(-2 * Math.log(u));
      const theta = 2 * Math.PI * this.next();
      out[i] = mean + std * r * Math.cos(theta);
      if (i + 1 < out.length) out[i + 1] = mean + std * r * Math.sin(theta);
    }
    return out;
  }

  /**
   * Shuffles `items` in place (Fisher–Yates, from the last element down:
   * item i swaps with one of 0..i) and returns it.
   * @param items - An array or typed array.
   */
  shuffle<A extends { length: number; [i: number]: unknown }>(items: A): A {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }

  /**
   * 0, 1, …, n − 1 in a random order (`shuffle` of the identity).
   * @param n - How many numbers.
   */
  permutation(n: number): Int32Array {
    return this.shuffle(Int32Array.from({ length: n }, (_, i) => i));
  }

  /** An integer seed for native code that generates its own random numbers (dropout masks). */
  nextSeed(): number {
    return this.nextUint32() * 2097152 + (this.nextUint32() >>> 11);
  }

  /** The state, to save in checkpoints. */
  getState(): number[] {
    return Array.from(this.s);
  }

  /**
   * Restores a state from `getState()`.
   * @param state - Four 32-bit words.
   * @throws {@link ValidationError} when the state is malformed.
   */
  setState(state: readonly number[]): this {
    if (!Array.isArray(state) || state.length !== 4 || !state.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32) || state.every((v) => v === 0)) {
      throw new ValidationError(`Expected four unsigned 32-bit integers, not all zero, for state but received ${JSON.stringify(state)}`);
    }
    this.s.set(state);
    return this;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The generator used when none is given. */
export const globalGenerator = new Generator();

/**
 * Seeds the global generator, like `torch.manual_seed`.
 * @param seed - An integer in [0, 2^53).
 * @throws {@link ValidationError} when the seed is not such an integer.
 * @example
 * ```ts
 * eddy.manualSeed(42); // same weights, dropout masks and shuffles at every run
 * ```
 */
export function manualSeed(seed: number): void {
  globalGenerator.seed(seed);
}
