/**
 * One process's part of a line-based file, by byte ranges (the way Hadoop
 * splits its inputs): part `index` of `worldSize` holds the lines that start
 * in the `index`-th `1/worldSize` of the file's bytes. The parts partition
 * the lines exactly, and each process reads only its own bytes, plus the
 * rest of its last line and a scan for the first line break past each end.
 */
import * as fs from 'fs';
import { fileError, ParseError } from '../errors';
import { ByteRange } from './file-source';
import { positionOfByte } from './position';

/** Offset of the first line start at or after `offset`: `offset` itself when the byte before it is a line break. */
async function lineStartFrom(file: fs.promises.FileHandle, offset: number, size: number, readSize: number): Promise<number> {
  if (offset <= 0) return 0;
  if (offset >= size) return size;
  const buf = Buffer.allocUnsafe(Math.min(readSize, size));
  for (let pos = offset - 1; pos < size; ) {
    const { bytesRead } = await file.read(buf, 0, Math.min(buf.length, size - pos), pos);
    if (bytesRead === 0) break;
    const nl = buf.subarray(0, bytesRead).indexOf(10);
    if (nl !== -1) return pos + nl + 1;
    pos += bytesRead;
  }
  return size;
}

/** The byte range of part `index` of `worldSize` of the file at `path`, cut at line starts. */
export async function lineShardRange(path: string, index: number, worldSize: number, readSize: number): Promise<ByteRange> {
  let file: fs.promises.FileHandle;
  try {
    file = await fs.promises.open(path, 'r');
  } catch (err) {
    throw fileError(err, path);
  }
  try {
    const { size } = await file.stat();
    const cut = (k: number) => Math.floor((size / worldSize) * k);
    const start = await lineStartFrom(file, index === 0 ? 0 : cut(index), size, readSize);
    const end = index === worldSize - 1 ? size : await lineStartFrom(file, cut(index + 1), size, readSize);
    return { start, end };
  } catch (err) {
    throw fileError(err, path);
  } finally {
    await file.close();
  }
}

/**
 * The elements of a part that starts at byte `start`, whose format errors
 * count lines from there: they are rethrown with the line number in the
 * whole file, found by reading the bytes before the part only then.
 * (UTF-8 errors already carry file positions.)
 */
export async function* withFileLineNumbers<T>(path: string, start: number, elements: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* elements;
  } catch (err) {
    if (start === 0 || !(err instanceof ParseError) || err.kind === 'UTF-8') throw err;
    const { line } = await positionOfByte(path, start);
    throw new ParseError(err.kind, err.file, err.line + line - 1, err.column, err.detail);
  }
}
