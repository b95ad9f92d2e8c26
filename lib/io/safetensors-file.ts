/**
 * Reading safetensors files from disk: the length and header are read and
 * checked against the file's real size first, so the data read afterwards
 * is exactly what the header accounts for — never a size the file claims.
 */
import { promises as fs } from 'fs';
import { FormatError, ValidationError, fileError } from '../errors';
import { describe } from '../validate';
import { headerLength, parseHeader, SafetensorsContents, SafetensorsDType, SafetensorsEntry } from './safetensors';

export interface HeaderInfo {
  entries: { name: string; dtype: SafetensorsDType; shape: number[]; begin: number; end: number }[];
  metadata: Map<string, string>;
}

export function checkPath(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new ValidationError(`Expected a file path (a non-empty string) for ${name} but received ${describe(value)}`);
  return value;
}

/** Reads only the header of a file (for `describeModelFile`). */
export async function readSafetensorsHeader(file: string): Promise<HeaderInfo> {
  return (await readSafetensors(file, false)).header;
}

/** Reads and checks a whole file. */
export async function readSafetensorsFile(file: string): Promise<SafetensorsContents> {
  const { header, data } = await readSafetensors(file, true);
  const tensors = new Map<string, SafetensorsEntry>();
  for (const e of header.entries) tensors.set(e.name, { dtype: e.dtype, shape: e.shape, bytes: data!.subarray(e.begin, e.end) });
  return { tensors, metadata: header.metadata };
}

async function readSafetensors(file: string, withData: boolean): Promise<{ header: HeaderInfo; data: Buffer | null }> {
  const what = JSON.stringify(file);
  const fh = await fs.open(file, 'r').catch((err: unknown) => {
    throw fileError(err, file);
  });
  try {
    const { size } = await fh.stat();
    const first8 = await readExactly(fh, 0, Math.min(8, size), what);
    const n = headerLength(first8, size, what);
    const headerBytes = await readExactly(fh, 8, n, what);
    const dataSize = size - 8 - n;
    const header = parseHeader(headerBytes, dataSize, what);
    const data = withData ? await readExactly(fh, 8 + n, dataSize, what) : null;
    return { header, data };
  } catch (err) {
    throw fileError(err, file); // a directory opens but cannot be read (EISDIR)
  } finally {
    await fh.close();
  }
}

async function readExactly(fh: fs.FileHandle, position: number, length: number, what: string): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) throw new FormatError(`${what} ended after ${position + got} bytes while reading: it was truncated while being read`);
    got += bytesRead;
  }
  return buf;
}
