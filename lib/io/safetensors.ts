/**
 * The safetensors container: an 8-byte little-endian header length N, N
 * bytes of JSON header (`{ name: { dtype, shape, data_offsets }, …,
 * "__metadata__": { string: string } }`, space-padded), then the raw
 * little-endian tensor bytes, which the header's offsets (relative to the
 * end of the header) must cover exactly, without gaps or overlaps.
 *
 * Everything read here is untrusted. Sizes are checked against the bytes
 * actually present before anything is allocated from them, the header is
 * capped, names and metadata keys that could reach a prototype are
 * refused, and every problem is a `FormatError` that names it.
 */
import { FormatError, ValidationError } from '../errors';

/** Element types of the format and their sizes in bytes. */
export const DTYPE_SIZES = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1 } as const;
/**
 * An element type of the safetensors format: F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16,
 * U8 or BOOL.
 */
export type SafetensorsDType = keyof typeof DTYPE_SIZES;

/** One tensor of a file: its type, shape and bytes (a view into the file's buffer). */
export interface SafetensorsEntry {
  /** The element type. */
  dtype: SafetensorsDType;
  /** The tensor's shape. */
  shape: number[];
  /** The raw little-endian bytes. */
  bytes: Uint8Array;
}

/** A decoded file: tensors by name, in file order, and the string metadata. */
export interface SafetensorsContents {
  /** The tensors by name, in file order. */
  tensors: Map<string, SafetensorsEntry>;
  /** The `__metadata__` strings. */
  metadata: Map<string, string>;
}

/** What `encodeSafetensors` writes: float32 or int32 data with a shape. */
export interface TensorToWrite {
  /** The values, row-major. */
  data: Float32Array | Int32Array;
  /** The tensor's shape. */
  shape: readonly number[];
}

/** The largest header read (the reference implementation's limit), so a hostile length cannot make us allocate more. */
export const MAX_HEADER_BYTES = 100_000_000;
/**
 * The most JSON values (objects, arrays, numbers and strings outside
 * strings) a header may hold. Parsed JSON costs far more memory than its
 * text, so 100 MB of tiny entries would parse into more than a gigabyte;
 * this cap (about 150 000 tensors) keeps parsing within about 100 MB.
 */
export const MAX_HEADER_VALUES = 1_000_000;
const MAX_RANK = 32;
const MAX_NAME_LENGTH = 1024;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** Whether this machine stores numbers little-endian, as the format does (then F32 data can be copied as bytes). */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Encodes tensors and string metadata; tensors are laid out in the order given, the header padded
 * to 8 bytes.
 * @param tensors - The tensors by name.
 * @param metadata - The `__metadata__` strings.
 */
export function encodeSafetensors(tensors: ReadonlyMap<string, TensorToWrite>, metadata: ReadonlyMap<string, string> = new Map()): Buffer {
  const header: Record<string, unknown> = Object.create(null);
  if (metadata.size > 0) header.__metadata__ = Object.fromEntries(metadata);
  let offset = 0;
  for (const [name, t] of tensors) {
    const size = t.data.byteLength;
    header[name] = { dtype: t.data instanceof Float32Array ? 'F32' : 'I32', shape: t.shape.slice(), data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  checkWritableHeader(json, tensors, metadata);
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const out = Buffer.alloc(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  let at = 8 + json.length;
  for (const t of tensors.values()) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (LITTLE_ENDIAN) {
      out.set(bytes, at);
    } else {
      const view = new DataView(out.buffer, out.byteOffset + at, t.data.byteLength);
      for (let i = 0; i < t.data.length; i++) {
        if (t.data instanceof Float32Array) view.setFloat32(4 * i, t.data[i], true);
        else view.setInt32(4 * i, t.data[i], true);
      }
    }
    at += t.data.byteLength;
  }
  return out;
}

/**
 * Refuses to encode what `decodeSafetensors` would refuse to read back, so
 * a save never replaces a good file with one that cannot be loaded.
 */
function checkWritableHeader(json: Buffer, tensors: ReadonlyMap<string, TensorToWrite>, metadata: ReadonlyMap<string, string>): void {
  for (const [kind, keys] of [['tensor name', tensors.keys()], ['metadata key', metadata.keys()]] as const) {
    for (const key of keys) {
      if (FORBIDDEN_KEYS.has(key) || key === '__metadata__' || key.length === 0 || key.length > MAX_NAME_LENGTH) {
        throw new ValidationError(`Expected a ${kind} of 1 to ${MAX_NAME_LENGTH} characters other than __metadata__ and prototype names but received ${JSON.stringify(key.slice(0, 40))}${key.length > 40 ? ` (${key.length} characters)` : ''}`);
      }
    }
  }
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded > MAX_HEADER_BYTES) {
    throw new ValidationError(`Expected a header of at most ${MAX_HEADER_BYTES} bytes (the limit readers enforce) but the metadata and tensor names need ${padded}: store large data in a file of its own`);
  }
  const values = countJsonValues(json);
  if (values > MAX_HEADER_VALUES) {
    throw new ValidationError(`Expected a header of at most ${MAX_HEADER_VALUES} JSON values (the limit readers enforce) but the metadata and tensors need ${values}`);
  }
}

/**
 * Counts the JSON values in UTF-8 JSON text without parsing it: one plus
 * one per comma outside strings (ASCII quotes, backslashes and commas never
 * occur inside multi-byte UTF-8 sequences, so scanning bytes is exact for
 * well-formed JSON and a harmless estimate otherwise). An upper bound on
 * the objects `JSON.parse` would build, up to the containers themselves.
 */
export function countJsonValues(text: Uint8Array): number {
  let count = 1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x2c || c === 0x5b || c === 0x7b) {
      count++; // a comma separates one more value; [ and { open a container
    }
  }
  return count;
}

/**
 * The header length stored in a file's first 8 bytes, checked against the
 * file's size and the cap. `what` names the file in messages.
 */
export function headerLength(first8: Uint8Array, fileSize: number, what: string): number {
  if (fileSize < 8 || first8.length < 8) throw new FormatError(`Expected at least 8 bytes (the header length) in ${what} but it has ${fileSize}: the file is truncated or not safetensors`);
  const n = Buffer.from(first8.buffer, first8.byteOffset, 8).readBigUInt64LE(0);
  if (n < 2n) throw new FormatError(`Expected a header length of at least 2 bytes in ${what} but it says ${n}`);
  if (n > BigInt(MAX_HEADER_BYTES)) throw new FormatError(`Header of ${what} claims ${n} bytes, more than the limit of ${MAX_HEADER_BYTES}: refusing to read it`);
  if (n > BigInt(fileSize - 8)) throw new FormatError(`Header of ${what} claims ${n} bytes but only ${fileSize - 8} follow the length: the file is truncated`);
  return Number(n);
}

/**
 * Parses and checks a header against the size of the data that follows it:
 * returns, per tensor in offset order, its name, dtype, shape and byte range.
 */
export function parseHeader(headerBytes: Uint8Array, dataSize: number, what: string): { entries: { name: string; dtype: SafetensorsDType; shape: number[]; begin: number; end: number }[]; metadata: Map<string, string> } {
  const values = countJsonValues(headerBytes);
  if (values > MAX_HEADER_VALUES) throw new FormatError(`Header of ${what} holds ${values} JSON values, more than the limit of ${MAX_HEADER_VALUES}: refusing to parse it`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new FormatError(`Expected UTF-8 JSON in the header of ${what} but it holds invalid UTF-8`);
  }
  if (text[0] !== '{') throw new FormatError(`Expected the header of ${what} to be a JSON object starting with "{" but it starts with ${JSON.stringify(text.slice(0, 8))}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new FormatError(`Invalid JSON in the header of ${what}: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new FormatError(`Expected a JSON object as the header of ${what}`);
  const metadata = new Map<string, string>();
  const entries: { name: string; dtype: SafetensorsDType; shape: number[]; begin: number; end: number }[] = [];
  for (const name of Object.keys(parsed)) {
    checkKey(name, 'tensor name', what);
    const value = (parsed as Record<string, unknown>)[name];
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new FormatError(`Expected an object of strings for __metadata__ in ${what}`);
      for (const key of Object.keys(value)) {
        checkKey(key, 'metadata key', what);
        const v = (value as Record<string, unknown>)[key];
        if (typeof v !== 'string') throw new FormatError(`Expected a string for metadata ${JSON.stringify(key)} in ${what} but received ${typeof v}`);
        metadata.set(key, v);
      }
      continue;
    }
    entries.push(parseEntry(name, value, dataSize, what));
  }
  // The byte ranges, in order, must tile the data exactly.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const e of entries) {
    if (e.begin < expected) throw new FormatError(`Tensor ${JSON.stringify(e.name)} in ${what} overlaps the previous tensor (it starts at byte ${e.begin}, before ${expected})`);
    if (e.begin > expected) throw new FormatError(`Tensor ${JSON.stringify(e.name)} in ${what} leaves a gap: it starts at byte ${e.begin} but the previous data ends at ${expected}`);
    expected = e.end;
  }
  if (expected !== dataSize) throw new FormatError(`The tensors in ${what} cover ${expected} bytes but ${dataSize} follow the header: the file is truncated or has trailing data`);
  return { entries, metadata };
}

function parseEntry(name: string, value: unknown, dataSize: number, what: string): { name: string; dtype: SafetensorsDType; shape: number[]; begin: number; end: number } {
  const label = `tensor ${JSON.stringify(name)} in ${what}`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new FormatError(`Expected { dtype, shape, data_offsets } for ${label}`);
  const v = value as Record<string, unknown>;
  const extra = Object.keys(v).filter((k) => k !== 'dtype' && k !== 'shape' && k !== 'data_offsets');
  if (extra.length > 0) throw new FormatError(`Unexpected key ${JSON.stringify(extra[0].slice(0, 40))} for ${label}; expected dtype, shape, data_offsets`);
  const dtype = v.dtype;
  if (typeof dtype !== 'string' || !Object.prototype.hasOwnProperty.call(DTYPE_SIZES, dtype)) {
    throw new FormatError(`Unknown dtype ${JSON.stringify(typeof dtype === 'string' ? dtype.slice(0, 20) : dtype ?? null)} for ${label}; expected one of ${Object.keys(DTYPE_SIZES).join(', ')}`);
  }
  const shape = v.shape;
  if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new FormatError(`Expected shape to be an array of at most ${MAX_RANK} non-negative integers for ${label}`);
  }
  const offsets = v.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new FormatError(`Expected data_offsets to be [begin, end] with non-negative integers for ${label}`);
  }
  const [begin, end] = offsets as number[];
  if (begin > end) throw new FormatError(`Expected data_offsets begin <= end for ${label} but received [${begin}, ${end}]`);
  if (end > dataSize) throw new FormatError(`data_offsets [${begin}, ${end}] of ${label} lie outside the ${dataSize} data bytes of the file`);
  // Stop multiplying past 2^53, where doubles stop counting exactly (such a size never matches).
  let bytes = DTYPE_SIZES[dtype as SafetensorsDType];
  for (const d of shape as number[]) {
    bytes *= d;
    if (bytes > Number.MAX_SAFE_INTEGER) break;
  }
  if (bytes !== end - begin) {
    throw new FormatError(`Shape [${(shape as number[]).join(', ')}] of ${dtype} for ${label} needs ${bytes > Number.MAX_SAFE_INTEGER ? 'more than 2^53' : bytes} bytes but data_offsets give ${end - begin}`);
  }
  return { name, dtype: dtype as SafetensorsDType, shape: (shape as number[]).slice(), begin, end };
}

function checkKey(key: string, kind: string, what: string): void {
  if (FORBIDDEN_KEYS.has(key)) throw new FormatError(`Forbidden ${kind} ${JSON.stringify(key)} in ${what}`);
  if (key.length === 0 || key.length > MAX_NAME_LENGTH) throw new FormatError(`Expected a ${kind} of 1 to ${MAX_NAME_LENGTH} characters in ${what} but received one of ${key.length}`);
}

/**
 * Decodes a whole file held in memory; the tensors' bytes are views into `buf`.
 * @param buf - The whole file.
 * @param what - The data's name in messages.
 * @throws {@link FormatError} when the data is malformed.
 */
export function decodeSafetensors(buf: Uint8Array, what = 'the safetensors data'): SafetensorsContents {
  const n = headerLength(buf.subarray(0, 8), buf.length, what);
  const dataStart = 8 + n;
  const { entries, metadata } = parseHeader(buf.subarray(8, dataStart), buf.length - dataStart, what);
  const tensors = new Map<string, SafetensorsEntry>();
  for (const e of entries) tensors.set(e.name, { dtype: e.dtype, shape: e.shape, bytes: buf.subarray(dataStart + e.begin, dataStart + e.end) });
  return { tensors, metadata };
}

/**
 * A floating-point entry as float32 values (F64, F16 and BF16 are converted); `what` names it in
 * messages.
 * @param entry - A tensor of a decoded file.
 * @param what - Its name in messages.
 * @throws {@link FormatError} when the entry is not a floating-point type.
 */
export function entryToFloat32(entry: SafetensorsEntry, what: string): Float32Array {
  const { dtype, bytes } = entry;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': {
      const out = new Float32Array(bytes.length / 4);
      if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes);
      else for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    case 'F64': {
      const out = new Float32Array(bytes.length / 8);
      for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(bytes.length / 2);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < out.length; i++) u[i] = view.getUint16(2 * i, true) << 16;
      return out;
    }
    case 'F16': {
      const out = new Float32Array(bytes.length / 2);
      for (let i = 0; i < out.length; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    }
    default:
      throw new FormatError(`Expected a floating-point dtype (F32, F64, F16, BF16) for ${what} but received ${dtype}`);
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
