/** Text files streamed by line or in fixed-size chunks of characters. */
import { checkInteger, checkOneOf, checkOptions, optionKeys } from '../validate';
import { Dataset } from './dataset';
import { ByteRange, checkPath, fileChunks, FileReading, FileSourceOptions, resolveFileOptions } from './file-source';
import { lineShardRange, withFileLineNumbers } from './line-shard';
import { ParseError } from '../errors';
import { LineSplitter } from './read-lines';

/** The options of {@link fromText}: how to cut the text, plus how to read the file. */
export interface FromTextOptions extends FileSourceOptions {
  /** 'line': one element per line, without its line break (\n or \r\n). 'chunk': strings of `chunkSize` characters, the last one shorter. @default 'line' */
  by?: 'line' | 'chunk';
  /** Characters (UTF-16 units) per element with `by: 'chunk'`; from 2 up, a chunk never ends inside a surrogate pair (it is one shorter instead). @default 65536 */
  chunkSize?: number;
}

/** The keys of FromTextOptions, for checkOptions. */
export const FROM_TEXT_OPTION_KEYS = optionKeys<FromTextOptions>({ by: true, chunkSize: true, encoding: true, readSize: true, maxLineLength: true });

async function* textChunks(path: string, r: FileReading, size: number): AsyncGenerator<string> {
  let pending = '';
  for await (const bytes of fileChunks(path, r)) {
    pending += bytes.toString(r.encoding);
    let start = 0;
    while (pending.length - start >= size) {
      // Keep a surrogate pair together: a chunk never ends on a high surrogate (size ≥ 2).
      const end = size > 1 && (pending.charCodeAt(start + size - 1) & 0xfc00) === 0xd800 ? start + size - 1 : start + size;
      yield pending.slice(start, end);
      start = end;
    }
    pending = pending.slice(start);
  }
  if (pending.length > 0) yield pending;
}

async function* textLines(path: string, r: FileReading, range?: ByteRange): AsyncGenerator<string> {
  const splitter = new LineSplitter(r.encoding, r.maxLineLength, (line) => new ParseError('text', path, line, 1, `Expected lines of at most ${r.maxLineLength} bytes (maxLineLength) but line ${line} is longer`));
  for await (const bytes of fileChunks(path, r, false, range)) yield* splitter.push(bytes);
  yield* splitter.end();
}

async function* textLinesPart(path: string, r: FileReading, index: number, worldSize: number): AsyncGenerator<string> {
  const range = await lineShardRange(path, index, worldSize, r.readSize);
  yield* withFileLineNumbers(path, range.start, textLines(path, r, range));
}

/**
 * The lines (or chunks) of a text file, streamed: memory stays constant
 * whatever the file's size. By line, `shard(rank, worldSize)` reads only
 * the rank's own byte range of the file.
 * @param path - The text file.
 * @param opts - {@link FromTextOptions}.
 * @throws {@link ValidationError} when the path or an option is malformed.
 * @throws {@link ParseError} during iteration, at an invalid byte or an overlong line.
 * @throws {@link FileError} during iteration, when the file cannot be read.
 * @example
 * ```ts
 * for await (const line of eddy.data.fromText('corpus.txt')) console.log(line);
 * ```
 */
export function fromText(path: string, opts?: FromTextOptions): Dataset<string> {
  const file = checkPath(path);
  const o = checkOptions('options', opts, FROM_TEXT_OPTION_KEYS) as FromTextOptions;
  const by = checkOneOf('by', o.by ?? 'line', ['line', 'chunk'] as const);
  const size = checkInteger('chunkSize', o.chunkSize ?? 65536, 1);
  const r = resolveFileOptions(o);
  if (by === 'chunk') return new Dataset(() => textChunks(file, r, size));
  return new Dataset(() => textLines(file, r), { shard: (index, worldSize) => textLinesPart(file, r, index, worldSize) });
}
