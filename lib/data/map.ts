/** Element-wise operators: `map` and `filter`, with sync or async functions. */

/**
 * The function of {@link Dataset.map}: one element to its replacement (or a promise of it).
 * @param item - The element.
 * @param index - Its position in this iteration, from 0.
 */
export type MapFn<T, U> = (item: T, index: number) => U | Promise<U>;
/**
 * The function of {@link Dataset.filter}: whether to keep an element (or a promise of it).
 * @param item - The element.
 * @param index - Its position in this iteration, from 0.
 */
export type Predicate<T> = (item: T, index: number) => boolean | Promise<boolean>;

/** `fn(item, index)` for every item, in order; `index` counts from 0 in each iteration. */
export async function* mapItems<T, U>(source: AsyncIterable<T>, fn: MapFn<T, U>): AsyncGenerator<U> {
  let index = 0;
  for await (const item of source) yield fn(item, index++); // `yield` awaits a promise
}

/** The items for which `predicate(item, index)` is truthy; `index` is the position in the source. */
export async function* filterItems<T>(source: AsyncIterable<T>, predicate: Predicate<T>): AsyncGenerator<T> {
  let index = 0;
  for await (const item of source) if (await predicate(item, index++)) yield item;
}
