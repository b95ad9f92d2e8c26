/**
 * csv-parse's errors turned into ParseErrors with Eddy's message shape. A
 * CSV position is a line and a field: column n is the n-th field of the
 * record (what a spreadsheet calls a column).
 */
import { CsvError } from 'csv-parse';
import { ParseError } from '../errors';
import { positionOfByte } from './position';
import { quote } from '../validate';

/** What the record lengths are checked against, for the message. */
export interface CsvErrorContext {
  /** Fields per record, when known before parsing (the header's or the given names'). */
  expected?: number;
  /** How `expected` was decided: 'the header', 'columns', or the first record. */
  like: string;
  /** Bytes of the delimiter in the file's encoding. */
  delimiterBytes: number;
  maxRecordSize: number;
  /** The option that set maxRecordSize: 'maxRecordSize', or 'maxLineLength' when that is the smaller. */
  limitOption: 'maxRecordSize' | 'maxLineLength';
}

export function isCsvError(err: unknown): err is CsvError {
  return err instanceof CsvError;
}

export async function csvParseError(err: CsvError, file: string, ctx: CsvErrorContext): Promise<ParseError> {
  const lines = typeof err.lines === 'number' ? err.lines : 1;
  const index = typeof err.index === 'number' ? err.index : 0;
  const at = (line: number, column: number, detail: string): ParseError => new ParseError('CSV', file, line, column, detail);
  switch (err.code) {
    case 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH':
    case 'CSV_RECORD_INCONSISTENT_COLUMNS': {
      const received = Array.isArray(err.record) ? err.record.length : index;
      const expected = ctx.expected ?? Number(/expect (\d+)/.exec(err.message)?.[1] ?? NaN);
      return at(lines, Math.min(expected, received) + 1, `Expected ${expected} fields (${ctx.like}) but received ${received}; relaxColumnCount: true accepts records of any length`);
    }
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE': {
      const got = /got "(.*)" at line/s.exec(err.message)?.[1] ?? '?';
      return at(lines, index + 1, `Expected a delimiter or the end of the line after the closing quote of the field but received ${quote(got)}`);
    }
    case 'INVALID_OPENING_QUOTE': {
      const value = /value is (".*?")(?: \(|$)/s.exec(err.message)?.[1] ?? '""';
      return at(lines, index + 1, `Expected a quote only at the start of a field but received one after ${value} (double the quotes inside a quoted field)`);
    }
    case 'CSV_QUOTE_NOT_CLOSED': {
      // csv-parse reports the end of the file; the field started after the last delimiter it passed.
      const start = typeof err.bytes === 'number' ? err.bytes + (index > 0 ? ctx.delimiterBytes : 0) : 0;
      const { line } = await positionOfByte(file, start);
      return at(line, index + 1, 'Expected a closing quote for the quoted field that starts here but received the end of the file');
    }
    case 'CSV_MAX_RECORD_SIZE':
      return at(lines, index + 1, `Expected records of at most ${ctx.maxRecordSize} bytes (${ctx.limitOption}) but received a longer one (an unclosed quote?)`);
    default:
      return at(lines, index + 1, err.message);
  }
}
