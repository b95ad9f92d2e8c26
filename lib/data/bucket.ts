/**
 * Bucketing by length (tf.data's `bucket_by_sequence_length`): elements
 * wait in the bucket of their length range until it holds a batch, so each
 * padded batch mixes only similar lengths and wastes few padded steps.
 */
import { ValidationError } from '../errors';
import { checkBoolean, checkInteger, fail, isInteger, optionKeys } from '../validate';
import { PadBatchOptions, PaddedBatch, padElements, ResolvedPadOptions, sequenceLength } from './pad-batch';

/**
 * The options of {@link Dataset.bucketBy}: the padding options of {@link PadBatchOptions} plus how
 * elements pick their bucket.
 */
export interface BucketByOptions extends PadBatchOptions {
  /**
   * The length that chooses an element's bucket. @default the number of steps of its x
   * @param item - One element of the dataset.
   * @returns Its length in steps.
   */
  length?: (item: unknown) => number;
  /** Pad every batch of a bounded bucket to the bucket's longest length (boundary − 1), so batch shapes repeat. @default false */
  padToBucketBoundary?: boolean;
}

/** The keys of BucketByOptions, for checkOptions. */
export const BUCKET_BY_OPTION_KEYS = optionKeys<BucketByOptions>({ length: true, padToBucketBoundary: true, x: true, y: true, padValue: true, sequenceTargets: true, targetPadValue: true, featureAxis: true, sortWithinBatch: true, dropRemainder: true });

export interface Buckets {
  boundaries: number[];
  sizes: number[];
  length?: (item: unknown) => number;
  padToBucketBoundary: boolean;
}

/** Checks `bucketBy`'s arguments: increasing boundaries ≥ 1, and one batch size per bucket (boundaries + 1) or one for all. */
export function resolveBuckets(boundaries: unknown, batchSizes: unknown, opts: BucketByOptions): Buckets {
  if (!Array.isArray(boundaries) || boundaries.length === 0) fail('a non-empty array of increasing positive integers', 'boundaries', boundaries);
  boundaries.forEach((b, i) => {
    if (i === 0) checkInteger('boundaries[0]', b, 1);
    else if (!isInteger(b) || b <= boundaries[i - 1]) fail(`an integer greater than boundaries[${i - 1}] (${boundaries[i - 1]})`, `boundaries[${i}]`, b);
  });
  let sizes: number[];
  if (Array.isArray(batchSizes)) {
    if (batchSizes.length !== boundaries.length + 1) {
      throw new ValidationError(`Expected ${boundaries.length + 1} batch sizes (one per bucket: boundaries.length + 1) for batchSizes but received ${batchSizes.length}`);
    }
    sizes = batchSizes.map((s, i) => checkInteger(`batchSizes[${i}]`, s, 1));
  } else {
    if (!isInteger(batchSizes) || batchSizes < 1) fail('a positive integer or an array of them (one per bucket)', 'batchSizes', batchSizes);
    sizes = new Array<number>(boundaries.length + 1).fill(batchSizes);
  }
  if (opts.length !== undefined && typeof opts.length !== 'function') fail('a function (item) => number', 'length', opts.length);
  return { boundaries: boundaries.slice(), sizes, length: opts.length, padToBucketBoundary: checkBoolean('padToBucketBoundary', opts.padToBucketBoundary ?? false) };
}

export async function* bucketItems(source: AsyncIterable<unknown>, k: Buckets, o: ResolvedPadOptions): AsyncGenerator<PaddedBatch> {
  const items: unknown[][] = k.sizes.map(() => []);
  const indices: number[][] = k.sizes.map(() => []);
  const padTo = (bucket: number): number => (k.padToBucketBoundary && bucket < k.boundaries.length ? k.boundaries[bucket] - 1 : 0);
  let index = 0;
  for await (const item of source) {
    const length = k.length ? k.length(item) : sequenceLength(item, o.x, index);
    if (typeof length !== 'number' || Number.isNaN(length)) fail('a number from the length function', `the length of element ${index}`, length);
    let bucket = 0;
    while (bucket < k.boundaries.length && length >= k.boundaries[bucket]) bucket++;
    items[bucket].push(item);
    indices[bucket].push(index++);
    if (items[bucket].length === k.sizes[bucket]) {
      const batch = padElements(items[bucket], indices[bucket], o, padTo(bucket));
      items[bucket] = [];
      indices[bucket] = [];
      yield batch;
    }
  }
  if (o.dropRemainder) return;
  for (let bucket = 0; bucket < items.length; bucket++) {
    if (items[bucket].length > 0) yield padElements(items[bucket], indices[bucket], o, padTo(bucket));
  }
}
