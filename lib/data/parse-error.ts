/**
 * The error every file source raises for malformed content: a FormatError
 * that names the file and the 1-based line and column, in the message and
 * as properties, so a caller can point an editor at the spot.
 */
import { FormatError } from '../errors';

export class ParseError extends FormatError {
  /** The path the source was opened with. */
  readonly file: string;
  /** 1-based line of the problem. */
  readonly line: number;
  /** 1-based column: a character in the line (UTF-16 units), or for CSV the field. */
  readonly column: number;

  /** `kind` names the format ('JSON', 'CSV', 'UTF-8'); `detail` says what was expected and what arrived. */
  constructor(kind: string, file: string, line: number, column: number, detail: string) {
    super(`Invalid ${kind} in ${file} at line ${line}, column ${column}: ${detail}`);
    this.file = file;
    this.line = line;
    this.column = column;
  }
}
