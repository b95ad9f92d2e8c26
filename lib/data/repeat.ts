/** Iterating a dataset again and again. */

/**
 * The items of `count` iterations of `source`, each a fresh one (so a
 * shuffled source gives a new order each time). Stops early when an
 * iteration yields nothing, rather than spinning forever on an empty source.
 */
export async function* repeatItems<T>(source: AsyncIterable<T>, count: number): AsyncGenerator<T> {
  for (let k = 0; k < count; k++) {
    let any = false;
    for await (const item of source) {
      any = true;
      yield item;
    }
    if (!any) return;
  }
}
