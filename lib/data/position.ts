/**
 * Line and column of a byte offset in a file, found by reading the file up
 * to it again. Only error paths call this, so the sources need not track
 * positions while they stream.
 */
import * as fs from 'fs';

/** 1-based line and column (UTF-16 units of the decoded line, after a leading BOM) of byte `offset` of `file`. */
export async function positionOfByte(file: string, offset: number): Promise<{ line: number; column: number }> {
  let line = 1;
  let tail: Buffer[] = []; // the bytes since the last newline
  if (offset > 0) {
    const stream = fs.createReadStream(file, { start: 0, end: offset - 1 });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        let last = -1;
        for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, nl + 1)) {
          line++;
          last = nl;
        }
        if (last === -1) tail.push(chunk);
        else tail = [chunk.subarray(last + 1)];
      }
    } finally {
      stream.destroy();
    }
  }
  let text = Buffer.concat(tail).toString('utf8');
  if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return { line, column: text.length + 1 };
}
