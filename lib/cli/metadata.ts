/**
 * The metadata keys `eddy train` writes into model files and checkpoints,
 * in one place. Keys the library owns are `eddy.`-prefixed snake_case
 * (`eddy.format_version`); the CLI's keys are ordinary user metadata,
 * camelCase like the API options they hold (`inputSteps` is the
 * Forecaster's option, `maxLength` encodeBatch's). Files from earlier
 * versions used `cli_config` and `cli_history`; they are still read.
 */
import * as eddy from '../index';
import { FormatError } from '../errors';

/** What a file made by `eddy train` carries besides its weights (every value a string, JSON where structured). */
export interface CliMetadata {
  /** The task that made the model: 'text', 'forecast', 'classify'. */
  task?: string;
  /** Text and classify: the CharTokenizer, as JSON. */
  tokenizer?: string;
  /** Classify: the LabelMap, as JSON. */
  labels?: string;
  /** Classify: characters of each text the model reads. */
  maxLength?: string;
  /** Forecast: the fitted scaler, as JSON. */
  scaler?: string;
  /** Forecast: rows of history per window. */
  inputSteps?: string;
  /** Forecast: the column the model was trained on. */
  column?: string;
  /** Forecast: the SeriesForecaster around the network (lags, season, horizon, scaling, intervals), as JSON. */
  forecaster?: string;
  /** Checkpoints: the run's settings, as JSON, for `--resume`. */
  trainConfig?: string;
  /** Checkpoints: the curves so far (history, gradient norms, learning rates), as JSON. */
  trainHistory?: string;
}

/** Earlier spellings, still read. */
const OLD_KEYS: Partial<Record<keyof CliMetadata, string>> = { trainConfig: 'cli_config', trainHistory: 'cli_history' };

const KEYS: (keyof CliMetadata)[] = ['task', 'tokenizer', 'labels', 'maxLength', 'scaler', 'inputSteps', 'column', 'forecaster', 'trainConfig', 'trainHistory'];

/** The CLI's fields of a file's metadata, under their current or earlier keys. */
export function readMetadata(metadata: Record<string, string>): CliMetadata {
  const out: CliMetadata = {};
  for (const k of KEYS) {
    const old = OLD_KEYS[k];
    const value = Object.hasOwn(metadata, k) ? metadata[k] : old !== undefined && Object.hasOwn(metadata, old) ? metadata[old] : undefined;
    if (value !== undefined) out[k] = value;
  }
  return out;
}

/** The metadata to write for `fields` (fields left undefined are left out). */
export function writeMetadata(fields: CliMetadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of KEYS) if (fields[k] !== undefined) out[k] = fields[k];
  return out;
}

/**
 * The task a model is for: its `task` metadata, or for a model saved from
 * the API without that key, what its metadata holds — labels and a
 * tokenizer (classify), a tokenizer (text), inputSteps (forecast). The
 * command then checks the layers fit (generate refuses a model it cannot
 * step, before printing anything).
 */
export function taskOfMetadata(m: CliMetadata): string | undefined {
  if (m.task !== undefined) return m.task;
  if (m.tokenizer !== undefined) return m.labels !== undefined && m.maxLength !== undefined ? 'classify' : 'text';
  if (m.inputSteps !== undefined || m.forecaster !== undefined) return 'forecast';
  return undefined;
}

/** The JSON under `key`; a FormatError naming the key when it is missing or does not parse (a file edited by hand, or written by another program). */
export function metadataJson(m: CliMetadata, key: keyof CliMetadata): unknown {
  const text = m[key];
  if (text === undefined) throw new FormatError(`Expected the metadata key ${JSON.stringify(key)} in the model file but it has none`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FormatError(`Expected JSON in the metadata key ${JSON.stringify(key)} of the model file but it does not parse: ${(e as Error).message}`);
  }
}

/** The character tokenizer a text or classify model was trained with. */
export function tokenizerOf(m: CliMetadata): eddy.text.CharTokenizer {
  return eddy.text.CharTokenizer.fromJSON(metadataJson(m, 'tokenizer'));
}
