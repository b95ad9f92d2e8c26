/** In-memory and generated sources. */
import { fail } from '../validate';
import { Dataset, DatasetSource } from './dataset';

/**
 * The items of an array, in order, at every iteration (the array is not copied).
 * @param items - The elements.
 * @throws {@link ValidationError} when `items` is not an array.
 * @example
 * ```ts
 * const ds = eddy.data.fromArray([1, 2, 3, 4]).map((v) => v * 2).batch(2); // [2, 4], [6, 8]
 * ```
 */
export function fromArray<T>(items: readonly T[]): Dataset<T> {
  if (!Array.isArray(items)) fail('an array', 'items', items);
  return new Dataset<T>(() => items);
}

/**
 * A dataset whose every iteration calls `factory` for a fresh iterable,
 * typically a generator function: `fromGenerator(function* () { … })`.
 * @param factory - Returns a fresh sync or async iterable at each call.
 * @throws {@link ValidationError} when `factory` is not a function.
 */
export function fromGenerator<T>(factory: DatasetSource<T>): Dataset<T> {
  if (typeof factory !== 'function') fail('a function that returns an iterable', 'factory', factory);
  return new Dataset<T>(factory);
}
