/** In-memory and generated sources. */
import { fail } from '../validate';
import { Dataset, DatasetSource } from './dataset';

/** The items of an array, in order, at every iteration (the array is not copied). */
export function fromArray<T>(items: readonly T[]): Dataset<T> {
  if (!Array.isArray(items)) fail('an array', 'items', items);
  return new Dataset<T>(() => items);
}

/**
 * A dataset whose every iteration calls `factory` for a fresh iterable,
 * typically a generator function: `fromGenerator(function* () { … })`.
 */
export function fromGenerator<T>(factory: DatasetSource<T>): Dataset<T> {
  if (typeof factory !== 'function') fail('a function that returns an iterable', 'factory', factory);
  return new Dataset<T>(factory);
}
