/**
 * Series from CSV files: a time column, value columns, missing values
 * handled by an explicit policy with line numbers in every error.
 *
 * ```ts
 * const table = await eddy.timeseries.readSeriesCsv('co2.csv', { missing: 'interpolate' });
 * const co2 = table.column('co2');   // number[], one per week
 * ```
 */
import { readText } from '../data/file-source';
import { FormatError, ValidationError } from '../errors';
import { checkBoolean, checkOneOf, checkOptions, describe, fail, optionKeys, quote } from '../validate';
import { parseCsv } from '../data/csv-text';
import { applyMissing, MISSING_POLICIES, MissingPolicy } from './missing';

/** The options of {@link readSeriesCsv} and {@link parseSeriesCsv}. */
export interface SeriesCsvOptions {
  /** The column holding the time stamps (name or index), kept as text; null when there is none. @default 0 (the first column) */
  timeColumn?: string | number | null;
  /** The value columns (names or indices), in the order wanted. @default every column but the time column */
  columns?: (string | number)[];
  /**
   * What to do with empty fields (and NA, NaN, null): see `MissingPolicy`;
   * 'keep' leaves NaN for a later step with its own policy (e.g.
   * `evaluateForecast`, which then never scores a filled value). @default 'error'
   */
  missing?: MissingPolicy | 'keep';
  /** @default ',' */
  delimiter?: string;
  /** Whether the first record names the columns; without one, columns are named by index ('0', '1', …). @default true */
  header?: boolean;
  /** Names the text in error messages (readSeriesCsv uses the path). @default 'the CSV text' */
  source?: string;
}

/** The keys of SeriesCsvOptions, for checkOptions. */
export const SERIES_CSV_OPTION_KEYS = optionKeys<SeriesCsvOptions>({ timeColumn: true, columns: true, missing: true, delimiter: true, header: true, source: true });

/** The series read from a CSV file, one row per kept record. */
export class SeriesTable {
  constructor(
    /** Names of the value columns. */
    readonly columns: string[],
    /** The time column's text per row, or null without a time column. */
    readonly time: string[] | null,
    /** One row of values (in `columns` order) per time step. */
    readonly values: number[][],
    /** The line of the file each row came from. */
    readonly lines: number[],
  ) {}

  /**
   * The values of one column (by name or index into `columns`).
   * @param which - A column's name, or its index into `columns`.
   * @throws {@link ValidationError} when there is no such column.
   */
  column(which: string | number): number[] {
    const c = typeof which === 'number' ? which : this.columns.indexOf(which);
    if (!Number.isInteger(c) || c < 0 || c >= this.columns.length) {
      fail(`one of the columns ${this.columns.map((n) => quote(n)).join(', ')} (or an index below ${this.columns.length})`, 'column', which);
    }
    return this.values.map((row) => row[c]);
  }

  /** The series in the kit's form: number[] for one value column, else rows. */
  get series(): number[] | number[][] {
    return this.columns.length === 1 ? this.column(0) : this.values;
  }
}

const MISSING_TOKENS = new Set(['', 'na', 'nan', 'null', 'n/a']);

function columnIndex(which: unknown, names: string[], name: string): number {
  if (typeof which === 'number' && Number.isInteger(which) && which >= 0 && which < names.length) return which;
  if (typeof which === 'string' && names.includes(which)) return names.indexOf(which);
  return fail(`a column name (${names.map((n) => quote(n)).join(', ')}) or index below ${names.length}`, name, which);
}

/**
 * Parses CSV text into a SeriesTable (see `readSeriesCsv`).
 * @param text - The CSV.
 * @param opts - {@link SeriesCsvOptions}.
 * @throws {@link FormatError} at a malformed record or value, naming its line.
 */
export function parseSeriesCsv(text: string, opts: SeriesCsvOptions = {}): SeriesTable {
  if (typeof text !== 'string') fail('string', 'text', text);
  const o = checkOptions('options', opts, SERIES_CSV_OPTION_KEYS);
  const missing = checkOneOf('missing', o.missing ?? 'error', [...MISSING_POLICIES, 'keep'] as const);
  const delimiter = o.delimiter ?? ',';
  if (typeof delimiter !== 'string' || delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    fail('a single character other than a quote or line break', 'delimiter', delimiter);
  }
  const header = checkBoolean('header', o.header ?? true);
  const source = o.source ?? 'the CSV text';
  if (typeof source !== 'string') fail('string', 'source', source);

  const records = parseCsv(text, delimiter, source);
  if (records.length === 0 || (header && records.length === 1)) throw new FormatError(`Expected ${header ? 'a header and ' : ''}at least one record in ${source} but received none`);
  const width = records[0].fields.length;
  const names = header ? records[0].fields : Array.from({ length: width }, (_, i) => String(i));
  const body = header ? records.slice(1) : records;
  const timeCol = o.timeColumn === null ? -1 : columnIndex(o.timeColumn ?? 0, names, 'timeColumn');
  if (o.columns !== undefined && (!Array.isArray(o.columns) || o.columns.length === 0)) fail('non-empty array of column names or indices', 'columns', o.columns);
  const valueCols = o.columns ? o.columns.map((c, i) => columnIndex(c, names, `columns[${i}]`)) : names.map((_, i) => i).filter((i) => i !== timeCol);
  if (valueCols.length === 0) throw new ValidationError(`Expected at least one value column besides the time column in ${source} but received only ${quote(names[timeCol])}`);

  const cols = valueCols.length;
  const values = new Float64Array(body.length * cols);
  let firstMissing: string | null = null;
  body.forEach(({ fields, line }, r) => {
    if (fields.length !== width) throw new FormatError(`Expected ${width} fields (like ${header ? 'the header' : 'the first record'}) at line ${line} of ${source} but received ${fields.length}`);
    valueCols.forEach((col, c) => {
      const raw = fields[col];
      const v = MISSING_TOKENS.has(raw.toLowerCase()) ? NaN : Number(raw);
      if (Number.isNaN(v)) {
        if (!MISSING_TOKENS.has(raw.toLowerCase())) throw new FormatError(`Expected a number at line ${line} (column ${quote(names[col])}) of ${source} but received ${describe(raw)}`);
        firstMissing ??= raw;
      } else if (!Number.isFinite(v)) {
        throw new FormatError(`Expected a finite number at line ${line} (column ${quote(names[col])}) of ${source} but received ${describe(raw)}`);
      }
      values[r * cols + c] = v;
    });
  });
  const read = { values, rows: body.length, cols, univariate: false };
  const { matrix, rowIndex } = missing === 'keep' ? { matrix: read, rowIndex: Int32Array.from(body, (_, i) => i) } : applyMissing(read, missing, {
    locate: (r, c) => `line ${body[r].line} (column ${quote(names[valueCols[c]])}) of ${source}`,
    missingText: firstMissing === '' ? 'an empty field' : quote(firstMissing),
    columnName: (c) => `column ${quote(names[valueCols[c]])} of ${source}`,
  });
  const rows = Array.from({ length: matrix.rows }, (_, r) => Array.from(matrix.values.subarray(r * cols, (r + 1) * cols)));
  const kept = Array.from(rowIndex, (r) => body[r]);
  return new SeriesTable(
    valueCols.map((c) => names[c]),
    timeCol < 0 ? null : kept.map((rec) => rec.fields[timeCol]),
    rows,
    kept.map((rec) => rec.line),
  );
}

/**
 * Reads a CSV file of a series (see `SeriesCsvOptions`); errors name the file and line.
 * @param path - The file.
 * @param opts - {@link SeriesCsvOptions}.
 * @throws {@link FormatError} at a malformed record or value, naming its line.
 * @throws {@link FileError} when the file cannot be read.
 * @example
 * ```ts
 * const table = await eddy.timeseries.readSeriesCsv('co2.csv', { columns: ['ppm'], missing: 'interpolate' });
 * const { x, y } = eddy.timeseries.windows(table.series, { inputSteps: 52, horizon: 4 });
 * ```
 */
export async function readSeriesCsv(path: string, opts: SeriesCsvOptions = {}): Promise<SeriesTable> {
  if (typeof path !== 'string') fail('file path string', 'path', path);
  const o = checkOptions('options', opts, SERIES_CSV_OPTION_KEYS);
  return parseSeriesCsv(await readText(path), { ...o, source: o.source ?? path });
}
