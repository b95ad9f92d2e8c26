/**
 * Stateless seeded hashing of (seed, index) pairs: what lets `split` assign
 * each element by its position alone (so it streams) and `shuffle` derive a
 * fresh, reproducible order for every iteration.
 */

/** murmur3's 32-bit finalizer: every input bit flips about half the output bits. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A 32-bit hash of two integers in [0, 2^53). */
export function hash32(seed: number, index: number): number {
  let h = fmix32((seed >>> 0) ^ 0x9e3779b9);
  h = fmix32(h ^ Math.floor(seed / 2 ** 32));
  h = fmix32(h ^ (index >>> 0));
  return fmix32(h ^ Math.floor(index / 2 ** 32) ^ 0x7f4a7c15);
}

/** A uniform number in [0, 1) determined by (seed, index). */
export function hashUniform(seed: number, index: number): number {
  return hash32(seed, index) / 4294967296;
}

/** A seed in [0, 2^53) derived from (seed, index), for a Generator. */
export function deriveSeed(seed: number, index: number): number {
  const high = hash32(seed, index);
  return high * 2097152 + (fmix32(high ^ 0x5bd1e995) >>> 11);
}
