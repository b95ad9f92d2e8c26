/**
 * A small RFC 4180 reader for whole CSV texts (the kits' files are small;
 * the streaming `eddy.data.fromCsv` is for large ones): quoted fields with
 * `""` escapes, delimiters and line breaks inside quotes, CRLF or LF, and
 * the line each record starts on, for error messages.
 */
import { FormatError } from '../errors';

export interface CsvRecord {
  fields: string[];
  /** 1-based line number where the record starts. */
  line: number;
}

/**
 * The records of `text`; blank lines and a leading byte-order mark are skipped. `source` names the text
 * in errors (a file name).
 */
export function parseCsv(text: string, delimiter = ',', source = 'the CSV text'): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false; // inside quotes
  let wasQuoted = false; // the current field began with a quote
  let line = 1;
  let start = 1;
  let quoteLine = 0;
  const endField = (): void => {
    fields.push(wasQuoted ? field : field.trim());
    field = '';
    wasQuoted = false;
  };
  const endRecord = (): void => {
    endField();
    if (!(fields.length === 1 && fields[0] === '')) records.push({ fields, line: start });
    fields = [];
  };
  for (let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && field.trim() === '') {
      quoted = true;
      wasQuoted = true;
      field = '';
      quoteLine = line;
    } else if (ch === delimiter) {
      endField();
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      start = line;
    } else if (wasQuoted) {
      if (ch !== ' ' && ch !== '\t') throw new FormatError(`Expected a delimiter or line break after the closing quote at line ${line} of ${source} but received ${JSON.stringify(ch)}`);
    } else {
      field += ch;
    }
  }
  if (quoted) throw new FormatError(`Expected a closing quote for the field opened at line ${quoteLine} of ${source} but the text ended`);
  endRecord();
  return records;
}
