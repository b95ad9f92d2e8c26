/**
 * The data files the commands read: a text file or one column of a CSV
 * series, with a one-line error when the file is not there.
 */
import { existsSync, readFileSync } from 'fs';
import * as eddy from '../index';
import { ValidationError } from '../errors';

/** Throws the CLI's message for a missing `--data` file. */
export function checkDataFile(file: string): void {
  if (!existsSync(file)) throw new ValidationError(`Cannot find the --data file ${JSON.stringify(file)}`);
}

export function readData(file: string): string {
  checkDataFile(file);
  return readFileSync(file, 'utf8');
}

/** One column of a CSV series (missing values kept as NaN), its name and the time column if any. */
export async function readColumn(file: string, column: string | undefined): Promise<{ values: number[]; name: string; time: string[] | null }> {
  checkDataFile(file);
  const table = await eddy.timeseries.readSeriesCsv(file, { missing: 'keep' });
  const name = column ?? table.columns[0];
  if (!table.columns.includes(name)) throw new ValidationError(`Expected --column to be one of ${table.columns.map((n) => JSON.stringify(n)).join(', ')} in ${file} but received ${JSON.stringify(name)}`);
  return { values: table.column(name), name, time: table.time };
}
