/** `take` and `skip`: a prefix or everything after one. */

/** The first `count` items; the source is not opened when `count` is 0 and is closed as soon as `count` items are out. */
export async function* takeItems<T>(source: AsyncIterable<T>, count: number): AsyncGenerator<T> {
  if (count <= 0) return;
  let taken = 0;
  for await (const item of source) {
    yield item;
    if (++taken >= count) return;
  }
}

export async function* skipItems<T>(source: AsyncIterable<T>, count: number): AsyncGenerator<T> {
  let seen = 0;
  for await (const item of source) if (seen++ >= count) yield item;
}
