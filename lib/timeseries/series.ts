/**
 * The series forms the time-series kit accepts, read into one layout: rows
 * (time steps) × columns (features), row-major float64, missing values as
 * NaN. A univariate series is one column.
 */
import { ShapeError } from '../errors';
import { describe, fail } from '../validate';

/**
 * A univariate series (numbers, one per time step) or a multivariate one
 * (one row of features per time step). `null`, `undefined` and NaN mark
 * missing values.
 */
export type Series = readonly (number | null | undefined)[] | Float32Array | Float64Array | readonly (readonly (number | null | undefined)[])[];

/** A series as rows × columns of float64, NaN where a value is missing. */
export interface SeriesMatrix {
  values: Float64Array;
  rows: number;
  cols: number;
  /** Whether the input was univariate (a flat array), so results can come back in the same form. */
  univariate: boolean;
}

function cell(value: unknown, name: string, row: number, col?: number): number {
  if (typeof value === 'number' && value !== Infinity && value !== -Infinity) return value;
  if (value === null || value === undefined) return NaN;
  // The place is only spelt out for the error (building it for every value would cost more than reading it).
  return fail('number (or null/NaN for a missing value)', col === undefined ? `${name}[${row}]` : `${name}[${row}][${col}]`, value);
}

/** Reads `series` (checked; `name` labels errors) into a SeriesMatrix. */
export function readSeries(name: string, series: unknown): SeriesMatrix {
  if (series instanceof Float32Array || series instanceof Float64Array) {
    const values = Float64Array.from(series);
    for (let i = 0; i < values.length; i++) if (values[i] === Infinity || values[i] === -Infinity) fail('finite number (or NaN for a missing value)', `${name}[${i}]`, values[i]);
    return { values, rows: values.length, cols: 1, univariate: true };
  }
  if (!Array.isArray(series)) fail('array of numbers, Float32Array, Float64Array or array of rows', name, series);
  const rows = series.length;
  if (rows === 0 || !Array.isArray(series[0])) {
    const values = new Float64Array(rows);
    for (let i = 0; i < rows; i++) values[i] = cell(series[i], name, i);
    return { values, rows, cols: 1, univariate: true };
  }
  const cols = (series[0] as unknown[]).length;
  if (cols === 0) throw new ShapeError(`Expected rows with at least one feature for ${name} but received ${name}[0] of length 0`);
  const values = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row: unknown = series[r];
    if (!Array.isArray(row) || row.length !== cols) {
      throw new ShapeError(`Expected ${name}[${r}] to be a row of ${cols} features like ${name}[0] but received ${describe(row)}`);
    }
    for (let c = 0; c < cols; c++) values[r * cols + c] = cell(row[c], name, r, c);
  }
  return { values, rows, cols, univariate: false };
}

/** A matrix back in the caller's form: number[] for univariate input, else number[][] rows. */
export function toSeries(m: SeriesMatrix): number[] | number[][] {
  if (m.univariate && m.cols === 1) return Array.from(m.values);
  return Array.from({ length: m.rows }, (_, r) => Array.from(m.values.subarray(r * m.cols, (r + 1) * m.cols)));
}

/** Rows `start` (inclusive) to `end` (exclusive) as a new matrix of the same form. */
export function sliceRows(m: SeriesMatrix, start: number, end: number): SeriesMatrix {
  return { values: m.values.slice(start * m.cols, end * m.cols), rows: end - start, cols: m.cols, univariate: m.univariate };
}

/** Checks column indices (`targets`, `columns`) against a series of `cols` columns; undefined means all. */
export function checkColumns(name: string, value: unknown, cols: number): number[] {
  if (value === undefined) return Array.from({ length: cols }, (_, i) => i);
  if (!Array.isArray(value) || value.length === 0) fail(`non-empty array of column indices (0 to ${cols - 1})`, name, value);
  value.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c >= cols) fail(`column index between 0 and ${cols - 1}`, `${name}[${i}]`, c);
  });
  if (new Set(value).size !== value.length) fail('distinct column indices', name, value);
  return value.slice();
}
