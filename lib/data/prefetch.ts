/**
 * Preparing the next items while the consumer works on the current one:
 * up to `count` requests to the source are kept in flight. The source is an
 * async generator, which serves queued requests one after another, so the
 * pipeline above stays sequential while overlapping with the consumer (a
 * training step awaiting native work leaves the event loop free for it).
 */
export async function* prefetchItems<T>(source: AsyncIterable<T>, count: number): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  const queue: Promise<IteratorResult<T>>[] = [];
  const request = (): void => {
    const next = it.next();
    next.catch(() => undefined); // a failure is reported when its turn comes, not as an unhandled rejection
    queue.push(next);
  };
  let finished = false;
  try {
    for (let i = 0; i < count; i++) request();
    for (;;) {
      const result = await queue.shift()!;
      if (result.done) {
        finished = true;
        return;
      }
      request();
      yield result.value;
    }
  } catch (err) {
    finished = true; // a generator that threw has closed itself
    throw err;
  } finally {
    // Early exit: the generator finishes the queued requests (at most `count`), then closes its source.
    if (!finished) await it.return?.();
  }
}
