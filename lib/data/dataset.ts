/**
 * Dataset: a lazy, re-iterable async sequence of elements with chainable
 * operators (tf.data's model). Each iteration re-creates the source (reopens
 * the file, re-runs the generator), so one dataset serves every epoch of
 * `fit`; an early `break` closes the source. A dataset of batches
 * `{ x, y, lengths? }` is what `fit`, `evaluate` take as data.
 */
import { ValidationError } from '../errors';
import { Generator, globalGenerator } from '../random';
import { checkBoolean, checkInteger, checkNumber, checkOptions, describe, fail, optionKeys } from '../validate';
import { BATCH_OPTION_KEYS, batchItems, BatchOptions } from './batch';
import { BUCKET_BY_OPTION_KEYS, BucketByOptions, bucketItems, resolveBuckets } from './bucket';
import { filterItems, mapItems, MapFn, Predicate } from './map';
import { PadBatchOptions, padBatchItems, PaddedBatch, resolvePadOptions } from './pad-batch';
import { prefetchItems } from './prefetch';
import { repeatItems } from './repeat';
import { deriveSeed } from './seed-hash';
import { SHUFFLE_OPTION_KEYS, shuffleItems, ShuffleOptions } from './shuffle';
import { skipItems, takeItems } from './slice';
import { inValidation, SPLIT_OPTION_KEYS, SplitOptions } from './split';

/** Makes the elements of one iteration. Called once per iteration. */
export type DatasetSource<T> = () => AsyncIterable<T> | Iterable<T>;

function isAsyncGenerator<T>(it: unknown): it is AsyncGenerator<T> {
  return Object.prototype.toString.call(it) === '[object AsyncGenerator]';
}

async function* wrap<T>(it: AsyncIterable<T> | Iterable<T>): AsyncGenerator<T> {
  if (it === null || typeof it !== 'object' || !(Symbol.asyncIterator in it || Symbol.iterator in it)) {
    throw new ValidationError(`Expected the dataset source to return an iterable or async iterable but received ${describe(it)}`);
  }
  yield* it as AsyncIterable<T>;
}

function checkFunction(name: string, value: unknown): void {
  if (typeof value !== 'function') fail('a function', name, value);
}

/** Options of `new Dataset(source, options)`. */
export interface DatasetOptions<T> {
  /**
   * Makes the elements of one iteration of part `index` of `worldSize`, for
   * a source that can read its part alone (a file read by byte ranges):
   * `shard` then uses it instead of filtering every element. The parts must
   * partition the elements. @default undefined (shard filters)
   * @param index - The part, 0…worldSize-1.
   * @param worldSize - The number of parts.
   */
  shard?: (index: number, worldSize: number) => AsyncIterable<T> | Iterable<T>;
}

/** The keys of DatasetOptions, for checkOptions. */
export const DATASET_OPTION_KEYS = optionKeys<DatasetOptions<unknown>>({ shard: true });

export class Dataset<T> implements AsyncIterable<T> {
  private readonly source: DatasetSource<T>;
  private readonly shardSource: DatasetOptions<T>['shard'];
  /** Iterations may give the elements in different orders (a reshuffling `shuffle` upstream); `split` refuses such a dataset. */
  private orderVaries = false;

  /**
   * A dataset whose iterations each call `source()` for a fresh iterable
   * (an array, a generator object, a stream…).
   * @param source - Called at the start of every iteration; returns a fresh sync or async iterable.
   * @throws {@link ValidationError} when `source` is not a function.
   * @param opts - {@link DatasetOptions}.
   */
  constructor(source: DatasetSource<T>, opts?: DatasetOptions<T>) {
    checkFunction('source', source);
    const o = checkOptions('options', opts, DATASET_OPTION_KEYS) as DatasetOptions<T>;
    if (o.shard !== undefined) checkFunction('shard', o.shard);
    this.source = source;
    this.shardSource = o.shard;
  }

  /**
   * A fresh iteration. It is always an async generator, whose queued
   * `next()` calls run one after another (what `prefetch` relies on).
   */
  [Symbol.asyncIterator](): AsyncGenerator<T> {
    const it = this.source();
    if (isAsyncGenerator<T>(it)) return it; // the operators' own generators: no extra hop per element
    return wrap(it);
  }

  private derive<U>(make: (source: Dataset<T>) => AsyncIterable<U>, orderVaries = this.orderVaries): Dataset<U> {
    const derived = new Dataset<U>(() => make(this));
    derived.orderVaries = orderVaries;
    return derived;
  }

  /**
   * `fn(item, index)` on every element; `fn` may be async.
   * @param fn - Maps an element and its index (from 0 in each iteration) to the new element.
   */
  map<U>(fn: MapFn<T, U>): Dataset<U> {
    checkFunction('fn', fn);
    return this.derive((d) => mapItems(d, fn));
  }

  /**
   * The elements for which `predicate(item, index)` holds; it may be async.
   * @param predicate - A type guard on the element and its index.
   */
  filter<S extends T>(predicate: (item: T, index: number) => item is S): Dataset<S>;
  /**
   * The elements for which `predicate(item, index)` holds; it may be async.
   * @param predicate - Whether to keep the element, given it and its index.
   */
  filter(predicate: Predicate<T>): Dataset<T>;
  filter(predicate: Predicate<T>): Dataset<T> {
    checkFunction('predicate', predicate);
    return this.derive((d) => filterItems(d, predicate));
  }

  /**
   * Consecutive elements in arrays of `size` (the last one shorter unless `dropRemainder`).
   * @param size - Elements per batch, from 1.
   * @param opts - {@link BatchOptions}.
   */
  batch(size: number, opts?: BatchOptions): Dataset<T[]> {
    checkInteger('size', size, 1);
    const o = checkOptions('options', opts, BATCH_OPTION_KEYS) as BatchOptions;
    const drop = checkBoolean('dropRemainder', o.dropRemainder ?? false);
    return this.derive((d) => batchItems(d, size, drop));
  }

  /**
   * Elements in random order through a buffer of `bufferSize` (tf.data's
   * shuffle: a buffer as large as the dataset gives a uniform permutation).
   * Each iteration gets a new order derived from the seed and the iteration
   * number, so a run is reproducible.
   * @param bufferSize - Elements held in the shuffle buffer, from 1.
   * @param opts - {@link ShuffleOptions}.
   */
  shuffle(bufferSize: number, opts?: ShuffleOptions): Dataset<T> {
    checkInteger('bufferSize', bufferSize, 1);
    const o = checkOptions('options', opts, SHUFFLE_OPTION_KEYS) as ShuffleOptions;
    const seed = o.seed === undefined ? undefined : checkInteger('seed', o.seed, 0, Number.MAX_SAFE_INTEGER);
    const reshuffle = checkBoolean('reshuffleEachIteration', o.reshuffleEachIteration ?? true);
    let iteration = 0;
    let firstSeed: number | undefined;
    return this.derive(
      (d) => {
        let s: number;
        if (!reshuffle) s = (firstSeed ??= seed ?? globalGenerator.nextSeed());
        else s = seed === undefined ? globalGenerator.nextSeed() : deriveSeed(seed, iteration);
        iteration++;
        return shuffleItems(d, bufferSize, new Generator(s));
      },
      this.orderVaries || reshuffle,
    );
  }

  /**
   * The first `count` elements; the source closes once they are out.
   * @param count - How many elements to keep, from 0.
   */
  take(count: number): Dataset<T> {
    checkInteger('count', count, 0);
    return this.derive((d) => takeItems(d, count));
  }

  /**
   * Everything after the first `count` elements.
   * @param count - How many elements to drop, from 0.
   */
  skip(count: number): Dataset<T> {
    checkInteger('count', count, 0);
    return this.derive((d) => skipItems(d, count));
  }

  /**
   * This process's part of the elements when `worldSize` processes share
   * the dataset (data-parallel training), so the parts of 0…worldSize-1
   * partition the dataset: every `worldSize`-th element from the `index`-th;
   * or, called directly on a source that reads its part alone
   * (`fromText` by line, `fromJsonl`), a contiguous block of lines cut by
   * byte ranges, so each process reads only its own bytes of the file.
   * Shard before shuffling and batching.
   * @param index - This process's rank, 0…worldSize-1.
   * @param worldSize - The number of processes sharing the dataset.
   */
  shard(index: number, worldSize: number): Dataset<T> {
    checkInteger('worldSize', worldSize, 1);
    checkInteger('index', index, 0, worldSize - 1);
    const part = this.shardSource;
    if (part) return new Dataset(() => part(index, worldSize));
    return this.derive((d) => filterItems(d, (_, i) => i % worldSize === index));
  }

  /**
   * `count` passes over the dataset in one iteration (each pass a fresh iteration: reshuffled,
   * reopened).
   * @param count - The number of passes, from 1; endless when omitted.
   */
  repeat(count = Infinity): Dataset<T> {
    if (count !== Infinity) checkInteger('count', count, 1);
    return this.derive((d) => repeatItems(d, count));
  }

  /**
   * Prepares up to `count` next elements while the consumer works on the
   * current one (reading and parsing overlap a training step).
   * @param count - How many elements to prepare ahead, from 1.
   */
  prefetch(count: number): Dataset<T> {
    checkInteger('count', count, 1);
    return this.derive((d) => prefetchItems(d, count));
  }

  /**
   * Splits the elements by a seeded hash of their position: the same split
   * at every iteration, streamed, with about `validation` of the elements in
   * `validation`. Split before shuffling (a reshuffled order would move
   * elements between the parts).
   * @param opts - {@link SplitOptions}.
   * @throws {@link ValidationError} when the dataset reshuffles at every iteration.
   * @example
   * ```ts
   * const reviews = eddy.data.fromJsonl('reviews.jsonl');
   * const { train, validation } = reviews.split({ validation: 0.2, seed: 1 });
   * ```
   */
  split(opts?: SplitOptions): {
    /** The elements outside the validation part. */
    train: Dataset<T>;
    /** About `validation` of the elements. */
    validation: Dataset<T>;
  } {
    const o = checkOptions('options', opts, SPLIT_OPTION_KEYS) as SplitOptions;
    const fraction = checkNumber('validation', o.validation ?? 0.1, { min: 0, max: 1 });
    const seed = o.seed === undefined ? globalGenerator.nextSeed() : checkInteger('seed', o.seed, 0, Number.MAX_SAFE_INTEGER);
    if (this.orderVaries) {
      throw new ValidationError(
        'Expected split() on a dataset whose order is the same at every iteration but received one that reshuffles; split first, then shuffle the training part (or shuffle with reshuffleEachIteration: false)',
      );
    }
    return {
      train: this.derive((d) => filterItems(d, (_, i) => !inValidation(seed, fraction, i))),
      validation: this.derive((d) => filterItems(d, (_, i) => inValidation(seed, fraction, i))),
    };
  }

  /**
   * Batches of `size` sequences padded to the longest, as
   * `{ x: [batch, maxSteps, features], lengths, y }` for `fit` and the
   * recurrent layers.
   * @param size - Sequences per batch, from 1.
   * @param opts - {@link PadBatchOptions}.
   * @example
   * ```ts
   * const batches = eddy.data.fromArray([{ x: [1, 2, 3], y: 0 }, { x: [4, 5], y: 1 }]).padBatch(2);
   * // { x: [2, 3, 1], lengths: [3, 2], y: [2] }
   * ```
   */
  padBatch(size: number, opts?: PadBatchOptions): Dataset<PaddedBatch> {
    checkInteger('size', size, 1);
    const o = resolvePadOptions(opts);
    return this.derive((d) => padBatchItems(d, size, o));
  }

  /**
   * Padded batches of elements of similar length: bucket i holds lengths in
   * [boundaries[i-1], boundaries[i]) (the first from 0, the last unbounded)
   * and emits a batch when it has `batchSizes[i]` elements (or `batchSizes`
   * for all); the partly filled buckets follow at the end.
   * @param boundaries - Increasing length boundaries between the buckets.
   * @param batchSizes - The batch size of every bucket, or one per bucket (boundaries.length + 1).
   * @param opts - {@link BucketByOptions}.
   */
  bucketBy(boundaries: readonly number[], batchSizes: number | readonly number[], opts?: BucketByOptions): Dataset<PaddedBatch> {
    const o = checkOptions('options', opts, BUCKET_BY_OPTION_KEYS) as BucketByOptions;
    const buckets = resolveBuckets(boundaries, batchSizes, o);
    const pad = resolvePadOptions(o, BUCKET_BY_OPTION_KEYS);
    return this.derive((d) => bucketItems(d, buckets, pad));
  }

  /** All the elements of one iteration. */
  async toArray(): Promise<T[]> {
    const out: T[] = [];
    for await (const item of this) out.push(item);
    return out;
  }
}
