/**
 * CSV files streamed through csv-parse (RFC 4180 quoting, any record
 * delimiter), with numbers cast, missing values as null, records as arrays
 * or as objects keyed by the header, and every error a ParseError at its
 * line and field.
 */
import { Parser, Options as CsvParseOptions } from 'csv-parse';
import { Readable, pipeline } from 'stream';
import { checkBoolean, checkInteger, checkOptions, fail, optionKeys, quote } from '../validate';
import { csvParseError, CsvErrorContext, isCsvError } from './csv-errors';
import { Dataset } from './dataset';
import { checkPath, fileChunks, FileReading, FileSourceOptions, resolveFileOptions } from './file-source';
import { ParseError } from '../errors';

/**
 * One field of a CSV record: a string, a number when `cast` reads one, or null for a `nullValues`
 * field.
 */
export type CsvValue = string | number | null;
/**
 * One CSV record: an array of fields, or an object keyed by the column names when `columns` is set.
 */
export type CsvRecord = CsvValue[] | Record<string, CsvValue>;

/** The options of {@link fromCsv}: how to parse the records, plus how to read the file. */
export interface FromCsvOptions extends FileSourceOptions {
  /**
   * true: the first record is a header, and records are objects keyed by its
   * names. An array: the names of a file without a header. false: records
   * are arrays. @default false
   */
  columns?: boolean | readonly string[];
  /** Field separator, one or more characters. @default ',' */
  delimiter?: string;
  /** Quote character around fields that hold delimiters, quotes (doubled) or line breaks; null reads quotes as text. @default '"' */
  quote?: string | null;
  /** Lines starting with this are skipped. @default null (no comments) */
  comment?: string | null;
  /** Fields that look like numbers become numbers, and `nullValues` become null. @default true */
  cast?: boolean;
  /** With `cast`, the field texts read as null (missing). @default [''] */
  nullValues?: readonly string[];
  /** Skip lines with nothing on them. @default true */
  skipEmptyLines?: boolean;
  /** Trim whitespace around fields. @default false */
  trim?: boolean;
  /** Accept records with more or fewer fields than the first (or the header); objects then lack the missing names and drop extra fields. @default false */
  relaxColumnCount?: boolean;
  /** Bytes a record may take: bounds memory on a file whose quote never closes. @default 16777216 */
  maxRecordSize?: number;
}

/** The keys of FromCsvOptions, for checkOptions. */
export const FROM_CSV_OPTION_KEYS = optionKeys<FromCsvOptions>({ columns: true, delimiter: true, quote: true, comment: true, cast: true, nullValues: true, skipEmptyLines: true, trim: true, relaxColumnCount: true, maxRecordSize: true, encoding: true, readSize: true, maxLineLength: true });

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function castField(v: string, nulls: ReadonlySet<string>): CsvValue {
  if (nulls.has(v)) return null;
  const c = v.charCodeAt(0);
  // Digits, '+', '-', '.': only these can start a number, so most text skips the regex.
  if (((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46) && NUMBER.test(v)) return Number(v);
  return v;
}

interface CsvSettings {
  reading: FileReading;
  parser: CsvParseOptions;
  header: boolean;
  names?: string[];
  cast: boolean;
  nulls: ReadonlySet<string>;
  relax: boolean;
  errors: CsvErrorContext;
}

function optionalChar(name: string, value: unknown, fallback: string | null): string | null {
  const v = value === undefined ? fallback : value;
  if (v !== null && (typeof v !== 'string' || v.length === 0)) fail('a non-empty string or null', name, v);
  return v as string | null;
}

function resolve(opts: FromCsvOptions | undefined): CsvSettings {
  const o = checkOptions('options', opts, FROM_CSV_OPTION_KEYS) as FromCsvOptions;
  const reading = resolveFileOptions(o);
  const columns = o.columns ?? false;
  if (typeof columns !== 'boolean' && !(Array.isArray(columns) && columns.length > 0 && columns.every((c) => typeof c === 'string' && c.length > 0))) {
    fail('true, false or a non-empty array of non-empty strings', 'columns', columns);
  }
  if (Array.isArray(columns)) {
    const dup = columns.findIndex((c, i) => columns.indexOf(c) !== i);
    if (dup >= 0) fail(`unique names (columns[${columns.indexOf(columns[dup])}] is the same)`, `columns[${dup}]`, columns[dup]);
  }
  const delimiter = optionalChar('delimiter', o.delimiter, ',');
  if (delimiter === null) fail('a non-empty string', 'delimiter', delimiter);
  const quote = optionalChar('quote', o.quote, '"');
  if (quote !== null && quote.length !== 1) fail('one character or null', 'quote', quote);
  const comment = optionalChar('comment', o.comment, null);
  const nullValues = o.nullValues ?? [''];
  if (!Array.isArray(nullValues) || !nullValues.every((v) => typeof v === 'string')) fail('an array of strings', 'nullValues', nullValues);
  const relax = checkBoolean('relaxColumnCount', o.relaxColumnCount ?? false);
  // A record holds at least a line, so maxLineLength bounds it too (a record's quoted newlines may join several lines).
  const recordLimit = checkInteger('maxRecordSize', o.maxRecordSize ?? 16777216, 1);
  const limitOption = o.maxLineLength !== undefined && reading.maxLineLength < recordLimit ? 'maxLineLength' : 'maxRecordSize';
  const maxRecordSize = Math.min(recordLimit, reading.maxLineLength);
  const names = Array.isArray(columns) ? columns.slice() : undefined;
  return {
    reading,
    parser: {
      delimiter,
      quote,
      comment: comment ?? undefined,
      trim: checkBoolean('trim', o.trim ?? false),
      skip_empty_lines: checkBoolean('skipEmptyLines', o.skipEmptyLines ?? true),
      relax_column_count: relax,
      max_record_size: maxRecordSize,
      bom: true,
      encoding: reading.encoding,
    },
    header: columns === true,
    names,
    cast: checkBoolean('cast', o.cast ?? true),
    nulls: new Set(nullValues),
    relax,
    errors: {
      expected: names?.length,
      like: names ? 'one per name in columns' : columns === true ? 'like the header' : 'like the first record',
      delimiterBytes: Buffer.byteLength(delimiter, reading.encoding),
      maxRecordSize,
      limitOption,
    },
  };
}

/** The line of the file's first record (the header), found by parsing up to it again: error paths only. */
async function firstRecordLine(file: string, s: CsvSettings): Promise<number> {
  const chunks = fileChunks(file, s.reading, true);
  const feed = Readable.from(chunks);
  const parser = new Parser({ ...s.parser, relax_column_count: true, info: true, to: 1 });
  pipeline(feed, parser, () => undefined);
  try {
    for await (const r of parser) return (r as { info: { lines: number } }).info.lines;
  } finally {
    parser.destroy();
    feed.destroy();
    await chunks.return(undefined);
  }
  return 1;
}

async function headerNames(record: string[], file: string, s: CsvSettings): Promise<string[]> {
  for (let i = 0; i < record.length; i++) {
    const first = record.indexOf(record[i]);
    if (record[i].length === 0 || first !== i) {
      const why = record[i].length === 0 ? '' : ` (the name of column ${first + 1})`;
      throw new ParseError('CSV', file, await firstRecordLine(file, s), i + 1, `Expected a unique, non-empty column name in the header but received ${quote(record[i])}${why}`);
    }
  }
  return record;
}

/** Objects keyed by `names`; a "__proto__" name needs defineProperty, the slow path. */
function toObject(names: readonly string[], record: CsvValue[], safe: boolean): Record<string, CsvValue> {
  const out: Record<string, CsvValue> = {};
  const n = Math.min(names.length, record.length);
  if (safe) for (let i = 0; i < n; i++) out[names[i]] = record[i];
  else for (let i = 0; i < n; i++) Object.defineProperty(out, names[i], { value: record[i], enumerable: true, writable: true, configurable: true });
  return out;
}

async function* csvRecords(file: string, s: CsvSettings): AsyncGenerator<CsvRecord> {
  const chunks = fileChunks(file, s.reading, true);
  const feed = Readable.from(chunks);
  const parser = new Parser(s.parser);
  pipeline(feed, parser, () => undefined); // errors surface through the iteration below
  let names = s.names;
  let safe = !names?.includes('__proto__');
  let first = true;
  try {
    for await (const raw of parser as AsyncIterable<string[]>) {
      if (first) {
        first = false;
        if (s.header) {
          names = await headerNames(raw, file, s);
          safe = !names.includes('__proto__');
          continue;
        }
        if (names && !s.relax && raw.length !== names.length) {
          throw new ParseError('CSV', file, await firstRecordLine(file, s), Math.min(raw.length, names.length) + 1, `Expected ${names.length} fields (one per name in columns) but received ${raw.length}`);
        }
      }
      const record: CsvValue[] = raw;
      if (s.cast) for (let i = 0; i < raw.length; i++) record[i] = castField(raw[i], s.nulls);
      yield names ? toObject(names, record, safe) : record;
    }
  } catch (err) {
    if (isCsvError(err)) throw await csvParseError(err, file, { ...s.errors, expected: names?.length ?? s.errors.expected });
    throw err;
  } finally {
    parser.destroy();
    feed.destroy();
    await chunks.return(undefined); // the file is closed once this settles
  }
}

/**
 * The records of a CSV file, streamed: memory stays constant whatever the
 * file's size. Parse errors are ParseErrors naming the file, the line and
 * the column (field number). `shard(rank, worldSize)` keeps every
 * `worldSize`-th record and so reads the whole file: a quoted field may hold
 * line breaks, so a byte offset does not tell where a record starts.
 * (Convert to JSON Lines for byte-range shards.)
 * @param path - The CSV file.
 * @param opts - {@link FromCsvOptions}.
 * @throws {@link ValidationError} when the path or an option is malformed.
 * @throws {@link ParseError} during iteration, at a malformed record.
 * @throws {@link FileError} during iteration, when the file cannot be read.
 * @example
 * ```ts
 * const rows = eddy.data.fromCsv<Record<string, eddy.data.CsvValue>>('sales.csv', { columns: true });
 * const batches = rows.map((r) => ({ x: [r.price as number], y: r.units as number })).batch(32);
 * ```
 */
export function fromCsv<T extends CsvRecord = CsvRecord>(path: string, opts?: FromCsvOptions): Dataset<T> {
  const file = checkPath(path);
  const s = resolve(opts);
  return new Dataset(() => csvRecords(file, s) as AsyncGenerator<T>);
}

