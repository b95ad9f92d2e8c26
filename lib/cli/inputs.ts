/**
 * The data files the commands read: a text file or one column of a CSV
 * series, with a one-line error when the file is not there.
 */
import { existsSync, readFileSync } from 'fs';
import * as eddy from '../index';
import { fileError, FormatError, ValidationError } from '../errors';

/** Throws the CLI's message for a missing `--data` file. */
export function checkDataFile(file: string): void {
  if (!existsSync(file)) throw new ValidationError(`Cannot find the --data file ${JSON.stringify(file)}`);
}

/** The --data file as text; a binary file (a NUL byte, or bytes that are not UTF-8) is refused rather than trained on. */
export function readData(file: string): string {
  checkDataFile(file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw fileError(err, file);
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new FormatError(`Expected a text file for --data but ${JSON.stringify(file)} is binary (a NUL byte at offset ${nul})`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FormatError(`Expected a UTF-8 text file for --data but ${JSON.stringify(file)} is not valid UTF-8`);
  }
}

/** One column of a CSV series (missing values kept as NaN), its name and the time column if any. */
export async function readColumn(file: string, column: string | undefined): Promise<{ values: number[]; name: string; time: string[] | null }> {
  checkDataFile(file);
  const table = await eddy.timeseries.readSeriesCsv(file, { missing: 'keep' });
  const name = column ?? table.columns[0];
  if (!table.columns.includes(name)) throw new ValidationError(`Expected --column to be one of ${table.columns.map((n) => JSON.stringify(n)).join(', ')} in ${file} but received ${JSON.stringify(name)}`);
  return { values: table.column(name), name, time: table.time };
}
