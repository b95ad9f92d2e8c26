/** Grouping consecutive items into arrays. */
import { optionKeys } from '../validate';

/** The options of {@link Dataset.batch}. */
export interface BatchOptions {
  /** Drop a last batch that has fewer than `size` items. @default false */
  dropRemainder?: boolean;
}

/** The keys of BatchOptions, for checkOptions. */
export const BATCH_OPTION_KEYS = optionKeys<BatchOptions>({ dropRemainder: true });

export async function* batchItems<T>(source: AsyncIterable<T>, size: number, dropRemainder: boolean): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const item of source) {
    batch.push(item);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0 && !dropRemainder) yield batch;
}
