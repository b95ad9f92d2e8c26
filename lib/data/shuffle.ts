/**
 * Buffered shuffling for streams (tf.data's `shuffle`): a buffer of
 * `bufferSize` items; each new item replaces a uniformly chosen one, which
 * is emitted. A buffer as large as the dataset gives a uniform permutation;
 * smaller buffers trade randomness for memory.
 */
import { Generator } from '../random';
import { optionKeys } from '../validate';

/** The options of {@link Dataset.shuffle}. */
export interface ShuffleOptions {
  /** Seed of the order: the same seed gives the same sequence of orders. @default a seed drawn from the global generator (`eddy.manualSeed`) at each iteration */
  seed?: number;
  /** A new order at every iteration (epoch), derived from the seed and the iteration number; false repeats the first order. @default true */
  reshuffleEachIteration?: boolean;
}

/** The keys of ShuffleOptions, for checkOptions. */
export const SHUFFLE_OPTION_KEYS = optionKeys<ShuffleOptions>({ seed: true, reshuffleEachIteration: true });

export async function* shuffleItems<T>(source: AsyncIterable<T>, bufferSize: number, generator: Generator): AsyncGenerator<T> {
  const buffer: T[] = [];
  for await (const item of source) {
    if (buffer.length < bufferSize) {
      buffer.push(item);
      continue;
    }
    const j = Math.floor(generator.next() * bufferSize);
    const out = buffer[j];
    buffer[j] = item;
    yield out;
  }
  while (buffer.length > 0) {
    const j = Math.floor(generator.next() * buffer.length);
    const out = buffer[j];
    buffer[j] = buffer[buffer.length - 1];
    buffer.pop();
    yield out;
  }
}
