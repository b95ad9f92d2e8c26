/**
 * Reading safetensors files from disk: the length and header are read and
 * checked against the file's real size first, so the data read afterwards
 * is exactly what the header accounts for — never a size the file claims.
 * Tensors are read one at a time with positioned reads, when the caller
 * asks for them: a loader checks names and shapes against what it expects
 * before reading any data, and can read a tensor straight into its
 * destination.
 */
import { promises as fs } from 'fs';
import { FormatError, ValidationError, fileError } from '../errors';
import { describe } from '../validate';
import { headerLength, parseHeader, SafetensorsDType, SafetensorsEntry } from './safetensors';

/** One tensor of a file's header: its type, shape and byte range within the data. */
export interface HeaderEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

export interface HeaderInfo {
  entries: HeaderEntry[];
  metadata: Map<string, string>;
}

export function checkPath(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new ValidationError(`Expected a file path (a non-empty string) for ${name} but received ${describe(value)}`);
  return value;
}

/** An open file whose header has been read and checked; tensors are read on demand. Close it when done. */
export class SafetensorsFile implements HeaderInfo {
  private constructor(
    private readonly fh: fs.FileHandle,
    /** The file as named in messages (JSON-quoted path). */
    readonly what: string,
    readonly entries: HeaderEntry[],
    readonly metadata: Map<string, string>,
    private readonly dataStart: number,
  ) {}

  /** Opens `file` and reads its header (and nothing else). */
  static async open(file: string): Promise<SafetensorsFile> {
    const what = JSON.stringify(file);
    const fh = await fs.open(file, 'r').catch((err: unknown) => {
      throw fileError(err, file);
    });
    try {
      const { size } = await fh.stat();
      const first8 = await readExactly(fh, Buffer.alloc(Math.min(8, size)), 0, what);
      const n = headerLength(first8, size, what);
      const headerBytes = await readExactly(fh, Buffer.alloc(n), 8, what);
      const { entries, metadata } = parseHeader(headerBytes, size - 8 - n, what);
      return new SafetensorsFile(fh, what, entries, metadata, 8 + n);
    } catch (err) {
      await fh.close();
      throw fileError(err, file); // a directory opens but cannot be read (EISDIR)
    }
  }

  /** Reads one tensor's bytes into `into` (a fresh buffer when not given; its length must be the tensor's). */
  async read(entry: HeaderEntry, into?: Uint8Array): Promise<Uint8Array> {
    const target = into ?? Buffer.alloc(entry.end - entry.begin);
    if (target.length !== entry.end - entry.begin) throw new RangeError(`a buffer of ${entry.end - entry.begin} bytes is needed for ${entry.name}`);
    return readExactly(this.fh, target, this.dataStart + entry.begin, this.what);
  }

  /** A tensor as an in-memory entry (its bytes read now). */
  async readEntry(entry: HeaderEntry): Promise<SafetensorsEntry> {
    return { dtype: entry.dtype, shape: entry.shape, bytes: await this.read(entry) };
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/** Runs `fn` on the opened file and closes it, whatever happens. */
export async function withSafetensorsFile<T>(file: string, fn: (f: SafetensorsFile) => Promise<T>): Promise<T> {
  const f = await SafetensorsFile.open(file);
  try {
    return await fn(f);
  } finally {
    await f.close();
  }
}

/** Reads only the header of a file (for `describeModelFile`). */
export async function readSafetensorsHeader(file: string): Promise<HeaderInfo> {
  return withSafetensorsFile(file, async (f) => ({ entries: f.entries, metadata: f.metadata }));
}

async function readExactly<T extends Uint8Array>(fh: fs.FileHandle, buf: T, position: number, what: string): Promise<T> {
  let got = 0;
  while (got < buf.length) {
    // One read returns at most 2 GiB (and Node refuses larger requests).
    const { bytesRead } = await fh.read(buf, got, Math.min(buf.length - got, 1 << 30), position + got);
    if (bytesRead === 0) throw new FormatError(`${what} ended after ${position + got} bytes while reading: it was truncated while being read`);
    got += bytesRead;
  }
  return buf;
}
