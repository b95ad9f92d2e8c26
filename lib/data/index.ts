/**
 * `eddy.data`: datasets (lazy, re-iterable async sequences with chainable
 * operators), streaming file sources, and variable-length batching.
 */
export { Dataset } from './dataset';
export type { DatasetOptions, DatasetSource } from './dataset';
export type { MapFn, Predicate } from './map';
export type { BatchOptions } from './batch';
export type { ShuffleOptions } from './shuffle';
export type { SplitOptions } from './split';
export type { PadBatchOptions, PaddedBatch } from './pad-batch';
export type { BucketByOptions } from './bucket';
export { fromArray, fromGenerator } from './from-array';
export { fromText } from './from-text';
export type { FromTextOptions } from './from-text';
export { fromJsonl } from './from-jsonl';
export type { FromJsonlOptions } from './from-jsonl';
export { fromCsv } from './from-csv';
export type { FromCsvOptions, CsvRecord, CsvValue } from './from-csv';
export type { FileSourceOptions } from './file-source';
export { ParseError } from '../errors';
