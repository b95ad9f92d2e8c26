/**
 * `eddy train`'s settings: defaults per task, merged with a `--config`
 * JSON file and then the flags given on the command line (flags win).
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import { ValidationError } from '../errors';
import { closestKey, quote } from '../validate';

export type Cell = 'lstm' | 'gru' | 'rnn';
export type OptimizerName = 'adam' | 'adamw' | 'sgd' | 'rmsprop' | 'adagrad';

export interface TrainConfig {
  /** A task of `eddy train` (the TASKS table in train.ts). */
  task: string;
  data: string;
  /** Forecasting: the value column to forecast (name); default the only / first value column. */
  column?: string;
  cell: Cell;
  hidden: number;
  layers: number;
  bidirectional: boolean;
  /** Text: characters per training sequence. Forecast: rows of history per window (0: chosen from the season). */
  seqLen: number;
  /** Sequences (text, classify) or windows (forecast; 0: chosen from the series' length) per batch. */
  batchSize: number;
  epochs: number;
  lr: number;
  optimizer: OptimizerName;
  clipNorm: number;
  dropout: number;
  threads?: number;
  /** Data-parallel training across the ranks of the MPI job this process was started in (mpirun -np N …). */
  distributed?: boolean;
  seed: number;
  out: string;
  /** Text: embedding width. */
  embedding: number;
  /** Text: use only the first N characters of the data (for quick runs and tests). */
  maxChars?: number;
  /** Forecast: rows held out at the end for scoring. */
  testSize: number;
  /** Forecast: seasonal period, for the model's seasonal features and the seasonal-naive baseline (0 = none). */
  season: number;
  /** Forecast: steps the model predicts at once, and the length of the multi-step evaluation. */
  horizon: number;
  /** Text: sample length and prompt printed at the end. */
  sampleLength: number;
  prompt: string;
}

/** The bundled data, found from dist/lib/cli or lib/cli. */
export function bundledData(file: string): string {
  return path.resolve(__dirname, '..', '..', '..', 'examples', 'data', file);
}

/** Where `eddy train` writes when --out is not given. */
export const DEFAULT_OUT = 'eddy-run';

/** The settings every task shares a default for; each task file adds its own (see TrainTask.defaults). */
export const COMMON_DEFAULTS = { bidirectional: false, layers: 1, optimizer: 'adam', seed: 42, out: DEFAULT_OUT, embedding: 64, testSize: 104, season: 52, horizon: 1, sampleLength: 300, prompt: 'It is a truth' } satisfies Partial<TrainConfig>;

/** The settings a task chooses: its data and the size and pace of its model. */
export type TaskDefaults = Pick<TrainConfig, 'data' | 'cell' | 'hidden' | 'seqLen' | 'batchSize' | 'epochs' | 'lr' | 'clipNorm' | 'dropout'>;

/** Every setting with its JSON type: the keys of a --config file, and the flags `eddy train` copies into its config. */
const KEYS: Record<keyof TrainConfig, 'string' | 'number' | 'boolean'> = {
  task: 'string', data: 'string', column: 'string', cell: 'string', hidden: 'number', layers: 'number', bidirectional: 'boolean',
  seqLen: 'number', batchSize: 'number', epochs: 'number', lr: 'number', optimizer: 'string', clipNorm: 'number', dropout: 'number',
  threads: 'number', distributed: 'boolean', seed: 'number', out: 'string', embedding: 'number', maxChars: 'number', testSize: 'number', season: 'number', horizon: 'number',
  sampleLength: 'number', prompt: 'string',
};

/** The names of the settings (commander gives the flags camelCased, so these are also the option names). */
export const TRAIN_KEYS = Object.keys(KEYS) as (keyof TrainConfig)[];

/** Reads a `--config` file: a JSON object with any of the train options (camelCase, as in `--seq-len` → `seqLen`). */
export function readConfigFile(file: string): Partial<TrainConfig> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ValidationError(`Cannot read --config file ${JSON.stringify(file)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ValidationError(`Expected JSON in --config file ${JSON.stringify(file)} but it does not parse: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ValidationError(`Expected a JSON object in --config file ${JSON.stringify(file)}`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) {
    const type = Object.hasOwn(KEYS, k) ? KEYS[k as keyof TrainConfig] : undefined;
    if (type === undefined) {
      const guess = closestKey(k, Object.keys(KEYS));
      const hint = guess !== undefined ? `did you mean ${guess}?` : `expected one of ${Object.keys(KEYS).join(', ')}`;
      throw new ValidationError(`Unknown key ${quote(k)} in --config file ${JSON.stringify(file)}; ${hint}`);
    }
    if (typeof v !== type) throw new ValidationError(`Expected a ${type} for ${k} in --config file ${JSON.stringify(file)} but received ${JSON.stringify(v)}`);
    out[k] = v;
  }
  return out as Partial<TrainConfig>;
}

export function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new ValidationError(`Expected one of ${allowed.join(', ')} for --${name} but received ${quote(value)}`);
  return value as T;
}

function integer(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new ValidationError(`Expected an integer ≥ ${min} for --${name} but received ${value}`);
  return value;
}

function positive(name: string, value: number, allowZero = false): number {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) throw new ValidationError(`Expected a ${allowZero ? 'non-negative' : 'positive'} number for --${name} but received ${value}`);
  return value;
}

/** Checks a merged configuration; every message names the flag. */
export function checkConfig(c: TrainConfig): TrainConfig {
  oneOf('cell', c.cell, ['lstm', 'gru', 'rnn']);
  oneOf('optimizer', c.optimizer, ['adam', 'adamw', 'sgd', 'rmsprop', 'adagrad']);
  integer('hidden', c.hidden, 1);
  integer('layers', c.layers, 1);
  // Forecasting chooses the window and the batch from the series when they are 0.
  integer('seq-len', c.seqLen, c.task === 'forecast' ? 0 : 1);
  integer('batch-size', c.batchSize, c.task === 'forecast' ? 0 : 1);
  integer('epochs', c.epochs, 1);
  integer('seed', c.seed, 0);
  integer('embedding', c.embedding, 1);
  integer('test-size', c.testSize, 1);
  integer('season', c.season, 0);
  integer('horizon', c.horizon, 1);
  integer('sample-length', c.sampleLength, 0);
  if (c.threads !== undefined) integer('threads', c.threads, 1);
  if (c.maxChars !== undefined) integer('max-chars', c.maxChars, 2);
  positive('lr', c.lr);
  positive('clip-norm', c.clipNorm, true);
  positive('dropout', c.dropout, true);
  if (c.dropout >= 1) throw new ValidationError(`Expected a number in [0, 1) for --dropout but received ${c.dropout}`);
  return c;
}

export function parseNumber(flag: string): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new ValidationError(`Expected a number for --${flag} but received ${JSON.stringify(v)}`);
    return n;
  };
}
