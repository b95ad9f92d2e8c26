/**
 * Lines of a byte stream, split on the byte 0x0A (safe in UTF-8 and
 * Latin-1) with a trailing CR removed. Each line is decoded from its own
 * bytes, so a kept line is a string of its own and does not pin the 64 KiB
 * chunk it came from (as `chunk.slice()` would, through V8's sliced strings).
 * Splitting is synchronous per chunk: one await per chunk, not per line.
 */

function decodeLine(bytes: Buffer, encoding: BufferEncoding): string {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === 13 ? bytes.length - 1 : bytes.length;
  return bytes.toString(encoding, 0, end);
}

/** Splits chunk after chunk into lines, carrying an unfinished line over. */
export class LineSplitter {
  /** Lines returned so far, so the next one's number is `count + 1`. */
  count = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** `tooLong(line)` makes the error for a line longer than `maxLineBytes`. */
  constructor(
    private readonly encoding: BufferEncoding,
    private readonly maxLineBytes = Infinity,
    private readonly tooLong: (line: number) => Error = (line) => new RangeError(`Line ${line} is longer than ${maxLineBytes} bytes`),
  ) {}

  /** The lines that `chunk` completes. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      if (this.pendingBytes + nl - start > this.maxLineBytes) throw this.tooLong(this.count + lines.length + 1);
      if (this.pending.length > 0) {
        this.pending.push(chunk.subarray(start, nl));
        lines.push(decodeLine(Buffer.concat(this.pending), this.encoding));
        this.pending = [];
        this.pendingBytes = 0;
      } else {
        lines.push(decodeLine(chunk.subarray(start, nl), this.encoding));
      }
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.pendingBytes += chunk.length - start;
      if (this.pendingBytes > this.maxLineBytes) throw this.tooLong(this.count + lines.length + 1);
      this.pending.push(chunk.subarray(start));
    }
    this.count += lines.length;
    return lines;
  }

  /** The last line, when the input does not end with a line break. */
  end(): string[] {
    if (this.pending.length === 0) return [];
    const last = decodeLine(Buffer.concat(this.pending), this.encoding);
    this.pending = [];
    this.pendingBytes = 0;
    this.count++;
    return [last];
  }
}
