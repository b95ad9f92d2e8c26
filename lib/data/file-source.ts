/**
 * What the file sources share: checking the path and the reading options,
 * and the file's bytes as an iteration that closes the file when it ends,
 * however it ends (exhausted, an error, or an early `break` upstream).
 */
import * as fs from 'fs';
import { fileError } from '../errors';
import { checkInteger, checkOneOf, fail, optionKeys } from '../validate';
import { utf8Chunks } from './utf8-chunks';

/** How the file sources ({@link fromText}, {@link fromCsv}, {@link fromJsonl}) read a file. */
export interface FileSourceOptions {
  /** Text encoding: UTF-8, strictly (an invalid byte is a ParseError at its line and column), or Latin-1. @default 'utf-8' */
  encoding?: 'utf-8' | 'utf8' | 'latin1';
  /** Bytes read from the file at a time. @default 65536 */
  readSize?: number;
  /** Longest line (in bytes) the line-based sources accept; a longer one is a ParseError, not unbounded memory. @default 67108864 (64 MiB) */
  maxLineLength?: number;
}

/** The keys of FileSourceOptions, for checkOptions. */
export const FILE_SOURCE_OPTION_KEYS = optionKeys<FileSourceOptions>({ encoding: true, readSize: true, maxLineLength: true });

export interface FileReading {
  encoding: 'utf8' | 'latin1';
  readSize: number;
  maxLineLength: number;
}

export function checkPath(path: unknown): string {
  if (typeof path !== 'string' || path.length === 0) fail('a non-empty string (a file path)', 'path', path);
  return path;
}

export function resolveFileOptions(o: FileSourceOptions): FileReading {
  const encoding = checkOneOf('encoding', o.encoding ?? 'utf-8', ['utf-8', 'utf8', 'latin1'] as const);
  return {
    encoding: encoding === 'latin1' ? 'latin1' : 'utf8',
    readSize: checkInteger('readSize', o.readSize ?? 65536, 1),
    maxLineLength: checkInteger('maxLineLength', o.maxLineLength ?? 64 * 1024 * 1024, 1),
  };
}

/** Bytes `start` (inclusive) to `end` (exclusive) of a file. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The file's bytes (validated UTF-8 cut at character boundaries, BOM removed
 * unless `keepBom` or the range starts past the file's first byte), all of
 * them or those of `range`. The file is closed before the iteration settles.
 */
export async function* fileChunks(path: string, r: FileReading, keepBom = false, range?: ByteRange): AsyncGenerator<Buffer> {
  if (range && range.end <= range.start) return;
  const start = range?.start ?? 0;
  const stream = fs.createReadStream(path, { highWaterMark: r.readSize, ...(range && { start, end: range.end - 1 }) });
  try {
    const bytes = stream as AsyncIterable<Buffer>;
    yield* r.encoding === 'latin1' ? bytes : utf8Chunks(path, bytes, keepBom || start > 0, start);
  } catch (err) {
    throw fileError(err, path);
  } finally {
    stream.destroy();
    if (!stream.closed) await new Promise<void>((resolve) => stream.once('close', () => resolve()));
  }
}

/** A whole UTF-8 text file; a system error (a missing file, a directory) becomes a FileError naming the path. */
export async function readText(path: string): Promise<string> {
  return fs.promises.readFile(path, 'utf8').catch((err: unknown) => {
    throw fileError(err, path);
  });
}
