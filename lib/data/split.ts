/**
 * Train/validation split of a stream: each element goes to validation when
 * a seeded hash of its position falls below the fraction, so the split is
 * the same at every iteration, needs no buffering and no length.
 */
import { hashUniform } from './seed-hash';
import { optionKeys } from '../validate';

/** The options of {@link Dataset.split}. */
export interface SplitOptions {
  /** Fraction of the elements (in expectation) that go to validation. @default 0.1 */
  validation?: number;
  /** Seed of the assignment. @default a seed drawn once from the global generator (`eddy.manualSeed`) when `split` is called */
  seed?: number;
}

/** The keys of SplitOptions, for checkOptions. */
export const SPLIT_OPTION_KEYS = optionKeys<SplitOptions>({ validation: true, seed: true });

/** Whether the element at `index` belongs to the validation part. */
export function inValidation(seed: number, fraction: number, index: number): boolean {
  return hashUniform(seed, index) < fraction;
}
