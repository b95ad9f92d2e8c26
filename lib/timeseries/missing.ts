/**
 * Missing values in a series, handled by an explicit policy: refuse with the
 * row ('error'), drop the rows, or fill them by linear interpolation or by
 * carrying the last value forward. Never silent zeros or NaN gradients.
 */
import { FormatError } from '../errors';
import { checkOneOf } from '../validate';
import { readSeries, Series, SeriesMatrix, toSeries } from './series';

/**
 * 'error': throw a FormatError naming the first missing value's row.
 * 'drop': remove every row with a missing value (the rows after it move up,
 * so time spacing is no longer regular). 'interpolate': linear in the row
 * index between the nearest values before and after; leading and trailing
 * gaps take the nearest value. 'ffill': the last value before the gap;
 * leading gaps take the first value.
 */
export type MissingPolicy = 'error' | 'drop' | 'interpolate' | 'ffill';

export const MISSING_POLICIES: readonly MissingPolicy[] = ['error', 'drop', 'interpolate', 'ffill'];

/** Where a value sits, for messages: `row 7 of series`, or `line 9 (column "co2") of co2.csv`. */
export type Locate = (row: number, col: number) => string;

export interface MissingContext {
  /** Names the place of a missing value in the 'error' message. */
  locate: Locate;
  /** What a missing value looks like in the source, for the message. @default 'a missing value (NaN or null)' */
  missingText?: string;
  /** Names a column in the all-missing message. @default `column ${c} of series` */
  columnName?: (col: number) => string;
}

export interface MissingResult {
  matrix: SeriesMatrix;
  /** For each output row, the input row it came from (differs from identity only with 'drop'). */
  rowIndex: Int32Array;
}

/** Applies `policy` to a matrix; the input is not modified. */
export function applyMissing(m: SeriesMatrix, policy: MissingPolicy, ctx: MissingContext): MissingResult {
  const { rows, cols } = m;
  const identity = (): Int32Array => {
    const index = new Int32Array(rows);
    for (let i = 0; i < rows; i++) index[i] = i;
    return index;
  };
  let first = -1;
  for (let i = 0; i < m.values.length; i++) {
    if (Number.isNaN(m.values[i])) {
      first = i;
      break;
    }
  }
  if (first < 0) return { matrix: m, rowIndex: identity() };
  if (policy === 'error') {
    const what = ctx.missingText ?? 'a missing value (NaN or null)';
    throw new FormatError(
      `Expected a number at ${ctx.locate(Math.floor(first / cols), first % cols)} but received ${what}; pass missing: 'drop', 'interpolate' or 'ffill' to handle gaps`,
    );
  }
  if (policy === 'drop') {
    const kept: number[] = [];
    for (let r = 0; r < rows; r++) {
      let ok = true;
      for (let c = 0; c < cols && ok; c++) ok = !Number.isNaN(m.values[r * cols + c]);
      if (ok) kept.push(r);
    }
    const values = new Float64Array(kept.length * cols);
    kept.forEach((r, i) => values.set(m.values.subarray(r * cols, (r + 1) * cols), i * cols));
    return { matrix: { ...m, values, rows: kept.length }, rowIndex: Int32Array.from(kept) };
  }
  const values = m.values.slice();
  for (let c = 0; c < cols; c++) fillColumn(values, rows, cols, c, policy, ctx);
  return { matrix: { ...m, values }, rowIndex: identity() };
}

function fillColumn(v: Float64Array, rows: number, cols: number, c: number, policy: 'interpolate' | 'ffill', ctx: MissingContext): void {
  const at = (r: number): number => r * cols + c;
  let prev = -1; // last row with a value
  for (let r = 0; r <= rows; r++) {
    if (r < rows && Number.isNaN(v[at(r)])) continue;
    if (r - prev > 1) {
      // Rows prev+1 … r-1 are a gap.
      if (prev < 0 && r === rows) {
        throw new FormatError(`Expected at least one value in ${ctx.columnName ? ctx.columnName(c) : `column ${c} of series`} but every value is missing`);
      }
      for (let g = prev + 1; g < r; g++) {
        if (prev < 0) v[at(g)] = v[at(r)];
        else if (r === rows || policy === 'ffill') v[at(g)] = v[at(prev)];
        else v[at(g)] = v[at(prev)] + ((v[at(r)] - v[at(prev)]) * (g - prev)) / (r - prev);
      }
    }
    prev = r;
  }
}

/**
 * A series with its missing values (NaN, null, undefined) handled by
 * `policy`, in the form it came in (number[] or number[][] rows).
 *
 * ```ts
 * eddy.timeseries.handleMissing([1, NaN, 3, null], 'interpolate') // [1, 2, 3, 3]
 * ```
 * @param series - A series with NaN, null or undefined where values are missing.
 * @param policy - What to do with them (see {@link MissingPolicy}).
 * @throws {@link ValidationError} when a value is missing and `policy` is 'error'.
 */
export function handleMissing(series: Series, policy: MissingPolicy = 'error'): number[] | number[][] {
  const p = checkOneOf('policy', policy, MISSING_POLICIES);
  const m = readSeries('series', series);
  const locate: Locate = (r, c) => (m.univariate ? `row ${r} of series` : `row ${r}, column ${c} of series`);
  return toSeries(applyMissing(m, p, { locate }).matrix);
}
