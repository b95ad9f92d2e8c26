/** JSON Lines files (one JSON value per line), streamed. */
import { checkOptions } from '../validate';
import { Dataset } from './dataset';
import { ByteRange, checkPath, FILE_SOURCE_OPTION_KEYS, fileChunks, FileReading, FileSourceOptions, resolveFileOptions } from './file-source';
import { lineShardRange, withFileLineNumbers } from './line-shard';
import { jsonErrorOffset } from './json-error';
import { ParseError } from '../errors';
import { LineSplitter } from './read-lines';

/** The options of {@link fromJsonl}: how to read the file. */
export type FromJsonlOptions = FileSourceOptions;

/** V8's message without the position (reported as line and column instead) and without the echoed input. */
function jsonProblem(message: string): { detail: string; position?: number } {
  const at = /^(.*?)(?: in JSON)? at position (\d+)(?: \(line \d+ column \d+\))?$/s.exec(message);
  if (at) return { detail: at[1], position: Number(at[2]) };
  const token = /^(Unexpected token .*?), ".*" is not valid JSON$/s.exec(message);
  return { detail: token ? token[1] : message };
}

function parseLine(text: string, path: string, line: number): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const { detail, position } = jsonProblem((err as Error).message);
    const offset = position ?? jsonErrorOffset(text);
    throw new ParseError('JSON', path, line, Math.max(offset, 0) + 1, detail);
  }
}

/** The values of the lines of one chunk: parsed together, so the stream awaits once per chunk rather than per line. */
function parseLines(lines: string[], firstLine: number, path: string): unknown[] {
  const values: unknown[] = [];
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i];
    if (text.trim().length > 0) values.push(parseLine(text, path, firstLine + i));
  }
  return values;
}

async function* jsonValues(path: string, r: FileReading, range?: ByteRange): AsyncGenerator<unknown> {
  const splitter = new LineSplitter(r.encoding, r.maxLineLength, (line) => new ParseError('JSON', path, line, 1, `Expected lines of at most ${r.maxLineLength} bytes (maxLineLength) but line ${line} is longer`));
  for await (const bytes of fileChunks(path, r, false, range)) {
    const first = splitter.count + 1;
    yield* parseLines(splitter.push(bytes), first, path);
  }
  const first = splitter.count + 1;
  yield* parseLines(splitter.end(), first, path);
}

async function* jsonValuesPart(path: string, r: FileReading, index: number, worldSize: number): AsyncGenerator<unknown> {
  const range = await lineShardRange(path, index, worldSize, r.readSize);
  yield* withFileLineNumbers(path, range.start, jsonValues(path, r, range));
}

/**
 * The values of a JSON Lines file, one per non-blank line, streamed. A line
 * that is not valid JSON raises a ParseError naming the file, the line and
 * the column of the JSON error. `shard(rank, worldSize)` reads only the
 * rank's own byte range of the file.
 * @param path - The JSON Lines file.
 * @param opts - {@link FromJsonlOptions}.
 * @throws {@link ValidationError} when the path or an option is malformed.
 * @throws {@link ParseError} during iteration, at a line that is not valid JSON.
 * @throws {@link FileError} during iteration, when the file cannot be read.
 * @example
 * ```ts
 * const examples = eddy.data.fromJsonl<{ tokens: number[]; label: number }>('train.jsonl');
 * const batches = examples.map((e) => ({ x: e.tokens, y: e.label })).padBatch(32, { featureAxis: false });
 * ```
 */
export function fromJsonl<T = unknown>(path: string, opts?: FromJsonlOptions): Dataset<T> {
  const file = checkPath(path);
  const r = resolveFileOptions(checkOptions('options', opts, FILE_SOURCE_OPTION_KEYS) as FromJsonlOptions);
  return new Dataset(() => jsonValues(file, r) as AsyncGenerator<T>, {
    shard: (index, worldSize) => jsonValuesPart(file, r, index, worldSize) as AsyncGenerator<T>,
  });
}
