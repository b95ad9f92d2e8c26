/**
 * Strict UTF-8 for the file sources: chunks of a byte stream are cut at
 * character boundaries (so each decodes on its own and lines can be split on
 * the byte 0x0A) and validated; invalid bytes raise a ParseError at their
 * line and column instead of turning into U+FFFD behind the user's back.
 */
import { isUtf8 } from 'buffer';
import { ParseError } from '../errors';
import { positionOfByte } from './position';

/** Length of the longest prefix of `buf` that does not end inside a multi-byte character. */
function completePrefix(buf: Uint8Array): number {
  const n = buf.length;
  for (let k = 1; k <= Math.min(4, n); k++) {
    const b = buf[n - k];
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const size = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return size > k ? n - k : n;
  }
  return n;
}

/** Offset of the first byte of `buf` that starts an invalid (or, at the end, truncated) sequence; -1 when valid. */
export function firstInvalidUtf8(buf: Uint8Array): number {
  const n = buf.length;
  let i = 0;
  while (i < n) {
    const b = buf[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    // Lead bytes and the range of their first continuation byte (RFC 3629: no overlongs, surrogates or > U+10FFFF).
    let size: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) size = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      size = 3;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      size = 4;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    if (i + size > n) return i;
    if (buf[i + 1] < lo || buf[i + 1] > hi) return i;
    for (let k = 2; k < size; k++) if ((buf[i + k] & 0xc0) !== 0x80) return i;
    i += size;
  }
  return -1;
}

const BOM = [0xef, 0xbb, 0xbf];

async function invalidUtf8(file: string, byte: number, fileOffset: number, atEnd: boolean): Promise<ParseError> {
  const { line, column } = await positionOfByte(file, fileOffset);
  const hex = `0x${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  const what = atEnd && byte >= 0xc2 && byte <= 0xf4 ? `the end of the file inside the character that starts with the byte ${hex}` : `the byte ${hex}`;
  return new ParseError('UTF-8', file, line, column, `Expected UTF-8 text but received ${what} (pass encoding: 'latin1' for a Latin-1 file)`);
}

/**
 * The bytes of `stream`, validated, each chunk ending on a character
 * boundary, without a leading byte order mark unless `keepBom`. The stream
 * starts at byte `startOffset` of `file` (errors name positions in the file).
 */
export async function* utf8Chunks(file: string, stream: AsyncIterable<Buffer>, keepBom = false, startOffset = 0): AsyncGenerator<Buffer> {
  let carry: Buffer | null = null;
  let fileOffset = startOffset; // of the first byte of the next chunk handled, in the file
  let atStart = true;
  for await (const piece of stream) {
    let chunk: Buffer = carry ? Buffer.concat([carry, piece]) : piece;
    carry = null;
    if (atStart) {
      if (chunk.length < 3 && BOM.slice(0, chunk.length).every((b, i) => chunk[i] === b)) {
        carry = Buffer.from(chunk);
        continue;
      }
      atStart = false;
      if (!keepBom && chunk[0] === BOM[0] && chunk[1] === BOM[1] && chunk[2] === BOM[2]) {
        chunk = chunk.subarray(3);
        fileOffset += 3;
      }
    }
    const cut = completePrefix(chunk);
    const body = chunk.subarray(0, cut);
    if (!isUtf8(body)) {
      const at = firstInvalidUtf8(body);
      const bad = Math.max(at, 0);
      throw await invalidUtf8(file, body[bad], fileOffset + bad, false);
    }
    if (cut < chunk.length) carry = Buffer.from(chunk.subarray(cut));
    fileOffset += cut;
    if (body.length > 0) yield body;
  }
  // What is left is a lead byte and fewer continuation bytes than it announces (completePrefix cut it off).
  if (carry && !atStart) throw await invalidUtf8(file, carry[0], fileOffset, true);
  if (carry && atStart) {
    // A file of one or two bytes that begin like a byte order mark.
    if (!isUtf8(carry)) throw await invalidUtf8(file, carry[0], startOffset, true);
    yield carry;
  }
}
