/**
 * Labeled texts from JSON lines or CSV files, with the line of every bad
 * record in the error. Whole files are read at once; for files larger than
 * memory use the streaming `eddy.data` sources.
 */
import { readText } from '../data/file-source';
import { FormatError } from '../errors';
import { checkOptions, describe, fail, optionKeys, quote } from '../validate';
import { parseCsv } from '../data/csv-text';

/** What the labeled-text readers return: one text and one label per example. */
export interface LabeledExamples {
  /** The texts. */
  texts: string[];
  /** Labels as strings (numbers and booleans in JSON are converted), ready for `LabelMap.fromLabels`. */
  labels: string[];
}

/** The options of {@link parseLabeledJsonl} and {@link readLabeledJsonl}. */
export interface JsonlLabelOptions {
  /** The key holding each record's text. @default 'text' */
  textField?: string;
  /** The key holding each record's label. @default 'label' */
  labelField?: string;
  /** Names the text in error messages. @default 'the JSONL text' */
  source?: string;
}

/** The keys of JsonlLabelOptions, for checkOptions. */
export const JSONL_LABEL_OPTION_KEYS = optionKeys<JsonlLabelOptions>({ textField: true, labelField: true, source: true });

/** The options of {@link parseLabeledCsv} and {@link readLabeledCsv}. */
export interface CsvLabelOptions {
  /** Header name of the text column. @default 'text' */
  textColumn?: string;
  /** Header name of the label column. @default 'label' */
  labelColumn?: string;
  /** The field separator. @default ',' */
  delimiter?: string;
  /** Names the text in error messages. @default 'the CSV text' */
  source?: string;
}

/** The keys of CsvLabelOptions, for checkOptions. */
export const CSV_LABEL_OPTION_KEYS = optionKeys<CsvLabelOptions>({ textColumn: true, labelColumn: true, delimiter: true, source: true });

function fieldName(value: unknown, name: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') fail('string', name, value);
  return value;
}

/**
 * Parses JSON lines, one `{ text, label }` object per line (blank lines skipped).
 * @param text - The JSON lines.
 * @param opts - {@link JsonlLabelOptions}.
 * @throws {@link FormatError} at a bad line, naming it.
 */
export function parseLabeledJsonl(text: string, opts: JsonlLabelOptions = {}): LabeledExamples {
  if (typeof text !== 'string') fail('string', 'text', text);
  const o = checkOptions('options', opts, JSONL_LABEL_OPTION_KEYS);
  const textField = fieldName(o.textField, 'textField', 'text');
  const labelField = fieldName(o.labelField, 'labelField', 'label');
  const source = fieldName(o.source, 'source', 'the JSONL text');
  const out: LabeledExamples = { texts: [], labels: [] };
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (e) {
      throw new FormatError(`Expected a JSON object at line ${i + 1} of ${source} but received invalid JSON (${(e as Error).message})`);
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new FormatError(`Expected a JSON object at line ${i + 1} of ${source} but received ${describe(record)}`);
    const r = record as Record<string, unknown>;
    if (typeof r[textField] !== 'string') throw new FormatError(`Expected a string for "${textField}" at line ${i + 1} of ${source} but received ${describe(r[textField])}`);
    const label = r[labelField];
    if (typeof label !== 'string' && typeof label !== 'number' && typeof label !== 'boolean') {
      throw new FormatError(`Expected a string, number or boolean for "${labelField}" at line ${i + 1} of ${source} but received ${describe(label)}`);
    }
    out.texts.push(r[textField] as string);
    out.labels.push(String(label));
  });
  return out;
}

/**
 * Parses CSV with a header naming the text and label columns.
 * @param text - The CSV, header first.
 * @param opts - {@link CsvLabelOptions}.
 * @throws {@link FormatError} at a bad record or a missing column, naming it.
 */
export function parseLabeledCsv(text: string, opts: CsvLabelOptions = {}): LabeledExamples {
  if (typeof text !== 'string') fail('string', 'text', text);
  const o = checkOptions('options', opts, CSV_LABEL_OPTION_KEYS);
  const textColumn = fieldName(o.textColumn, 'textColumn', 'text');
  const labelColumn = fieldName(o.labelColumn, 'labelColumn', 'label');
  const source = fieldName(o.source, 'source', 'the CSV text');
  const delimiter = fieldName(o.delimiter, 'delimiter', ',');
  if (delimiter.length !== 1) fail('a single character', 'delimiter', delimiter);
  const records = parseCsv(text, delimiter, source);
  if (records.length === 0) throw new FormatError(`Expected a header naming "${textColumn}" and "${labelColumn}" in ${source} but received an empty text`);
  const header = records[0].fields;
  const [ti, li] = [textColumn, labelColumn].map((name) => {
    const k = header.indexOf(name);
    if (k < 0) throw new FormatError(`Expected a column named ${quote(name)} in the header of ${source} but received ${header.map((h) => quote(h)).join(', ')}`);
    return k;
  });
  const out: LabeledExamples = { texts: [], labels: [] };
  for (const { fields, line } of records.slice(1)) {
    if (fields.length !== header.length) throw new FormatError(`Expected ${header.length} fields (like the header) at line ${line} of ${source} but received ${fields.length}`);
    out.texts.push(fields[ti]);
    out.labels.push(fields[li]);
  }
  return out;
}

/**
 * Reads labeled examples from a JSON-lines file (see `parseLabeledJsonl`).
 * @param path - The file.
 * @param opts - {@link JsonlLabelOptions}.
 * @throws {@link FormatError} at a bad line, naming it.
 * @throws {@link FileError} when the file cannot be read.
 */
export async function readLabeledJsonl(path: string, opts: JsonlLabelOptions = {}): Promise<LabeledExamples> {
  if (typeof path !== 'string') fail('file path string', 'path', path);
  const o = checkOptions('options', opts, JSONL_LABEL_OPTION_KEYS);
  return parseLabeledJsonl(await readText(path), { ...o, source: o.source ?? path });
}

/**
 * Reads labeled examples from a CSV file (see `parseLabeledCsv`).
 * @param path - The file.
 * @param opts - {@link CsvLabelOptions}.
 * @throws {@link FormatError} at a bad record or a missing column, naming it.
 * @throws {@link FileError} when the file cannot be read.
 */
export async function readLabeledCsv(path: string, opts: CsvLabelOptions = {}): Promise<LabeledExamples> {
  if (typeof path !== 'string') fail('file path string', 'path', path);
  const o = checkOptions('options', opts, CSV_LABEL_OPTION_KEYS);
  return parseLabeledCsv(await readText(path), { ...o, source: o.source ?? path });
}
