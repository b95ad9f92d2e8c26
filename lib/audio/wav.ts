/**
 * WAV (RIFF/WAVE) reading and writing: integer PCM of 8, 16, 24 or 32 bits
 * and IEEE float of 32 or 64 bits, any number of channels up to 8, any
 * sample rate up to 768 kHz; WAVE_FORMAT_EXTENSIBLE files whose sub-format
 * is one of these. Samples come back as float32 in [-1, 1), one array per
 * channel.
 *
 * The reader trusts nothing in the file: every chunk is bounds-checked
 * against the bytes actually present, nothing is allocated from a size the
 * header claims, and anything else (another codec, a bit depth that does
 * not match the block size, a missing chunk) is a FormatError saying what
 * was expected and what arrived. The one tolerance: a data chunk whose
 * size is the placeholder streaming writers leave (0x7ffff000 or more, as
 * `espeak-ng --stdout` and pipes from sox do) runs to the end of the file.
 */
import { promises as fs } from 'fs';
import { FormatError, ValidationError, fileError } from '../errors';
import { writeFileAtomic } from '../io/atomic-write';
import { checkInteger, checkOneOf, checkOptions, fail, optionKeys } from '../validate';

/** Decoded audio: one Float32Array per channel, all of the same length. */
export interface Audio {
  /** Samples per second. */
  sampleRate: number;
  /** One array per channel (left, right, … in file order), samples in [-1, 1). */
  channels: Float32Array[];
}

/** How the samples were stored in the file. */
export interface WavFormat {
  /** 'pcm' (signed integers; unsigned for 8 bits) or 'float' (IEEE). */
  encoding: 'pcm' | 'float';
  /** Bits per sample: 8, 16, 24 or 32 for 'pcm'; 32 or 64 for 'float'. */
  bitDepth: number;
}

/** What `decodeWav` and `readWav` return. */
export interface DecodedWav extends Audio {
  /** How the file stored its samples. */
  format: WavFormat;
}

/** Options of `encodeWav` and `writeWav`. */
export interface EncodeWavOptions {
  /** 'pcm' or 'float'. @default 'pcm' */
  encoding?: 'pcm' | 'float';
  /** 8, 16, 24 or 32 for 'pcm'; 32 or 64 for 'float'. @default 16 for 'pcm', 32 for 'float' */
  bitDepth?: number;
}

/** The keys of EncodeWavOptions, for checkOptions. */
export const ENCODE_WAV_OPTION_KEYS = optionKeys<EncodeWavOptions>({ encoding: true, bitDepth: true });

const MAX_CHANNELS = 8;
const MAX_SAMPLE_RATE = 768000;
const STREAMING_PLACEHOLDER = 0x7ffff000;
const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;

/** Throws `Expected <expected> in a WAV file but <found>`. */
function bad(expected: string, found: string): never {
  throw new FormatError(`Expected ${expected} in a WAV file but ${found}`);
}

function fourCC(view: DataView, at: number): string {
  return String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3));
}

function checkDepth(encoding: 'pcm' | 'float', bitDepth: number, name: string, Err: 'format' | 'option'): void {
  const allowed = encoding === 'pcm' ? [8, 16, 24, 32] : [32, 64];
  if (allowed.includes(bitDepth)) return;
  const expected = `${allowed.join(', ')} bits for ${encoding === 'pcm' ? 'integer PCM' : 'IEEE float'}`;
  if (Err === 'format') bad(`a bit depth of ${expected}`, `it has ${bitDepth}`);
  fail(expected, name, bitDepth);
}

interface FmtChunk {
  encoding: 'pcm' | 'float';
  channels: number;
  sampleRate: number;
  bitDepth: number;
  blockAlign: number;
}

function readFmt(view: DataView, at: number, size: number): FmtChunk {
  if (size < 16) bad('a fmt chunk of at least 16 bytes', `it has ${size}`);
  let tag = view.getUint16(at, true);
  const channels = view.getUint16(at + 2, true);
  const sampleRate = view.getUint32(at + 4, true);
  const blockAlign = view.getUint16(at + 12, true);
  const bitDepth = view.getUint16(at + 14, true);
  if (tag === FORMAT_EXTENSIBLE) {
    // cbSize (2), valid bits (2), channel mask (4), then the sub-format GUID whose first two bytes are the format tag.
    if (size < 40) bad('a fmt chunk of 40 bytes for WAVE_FORMAT_EXTENSIBLE', `it has ${size}`);
    tag = view.getUint16(at + 24, true);
  }
  if (tag !== FORMAT_PCM && tag !== FORMAT_FLOAT) {
    bad('integer PCM (format tag 1) or IEEE float (3)', `it has format tag ${tag} (compressed audio is not supported; convert it with sox or ffmpeg)`);
  }
  const encoding = tag === FORMAT_PCM ? 'pcm' : 'float';
  if (channels < 1 || channels > MAX_CHANNELS) bad(`1 to ${MAX_CHANNELS} channels`, `it has ${channels}`);
  if (sampleRate < 1 || sampleRate > MAX_SAMPLE_RATE) bad(`a sample rate of 1 to ${MAX_SAMPLE_RATE} Hz`, `it has ${sampleRate}`);
  checkDepth(encoding, bitDepth, 'bitDepth', 'format');
  if (blockAlign !== (channels * bitDepth) / 8) {
    bad(`a block size of ${(channels * bitDepth) / 8} bytes (${channels} channels of ${bitDepth} bits)`, `it has ${blockAlign}`);
  }
  return { encoding, channels, sampleRate, bitDepth, blockAlign };
}

function sampleReader(view: DataView, fmt: FmtChunk): (at: number) => number {
  if (fmt.encoding === 'float') return fmt.bitDepth === 32 ? (at) => view.getFloat32(at, true) : (at) => view.getFloat64(at, true);
  switch (fmt.bitDepth) {
    case 8:
      return (at) => (view.getUint8(at) - 128) / 128;
    case 16:
      return (at) => view.getInt16(at, true) / 32768;
    case 24:
      return (at) => ((view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getInt8(at + 2) << 16)) / 8388608);
    default:
      return (at) => view.getInt32(at, true) / 2147483648;
  }
}

/**
 * Decodes the bytes of a WAV file. Throws a FormatError for anything that
 * is not an uncompressed WAV file of a supported kind.
 * @param bytes - The whole file.
 * @throws FormatError if the bytes are not a supported uncompressed WAV file.
 */
export function decodeWav(bytes: Uint8Array): DecodedWav {
  if (!(bytes instanceof Uint8Array)) fail('a Uint8Array (or Buffer) holding a WAV file', 'bytes', bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength;
  if (n < 12 || fourCC(view, 0) !== 'RIFF' || fourCC(view, 8) !== 'WAVE') {
    bad('"RIFF" and "WAVE" in the first 12 bytes', n < 12 ? `it has only ${n} bytes` : `it starts with ${JSON.stringify(fourCC(view, 0) + '....' + fourCC(view, 8))}`);
  }
  let fmt: FmtChunk | null = null;
  let at = 12;
  while (at + 8 <= n) {
    const id = fourCC(view, at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'data') {
      if (!fmt) bad('a fmt chunk before the data chunk', 'the data chunk comes first');
      let end = body + size;
      if (end > n) {
        if (size < STREAMING_PLACEHOLDER) bad(`a data chunk of ${size} bytes`, `only ${n - body} remain (the file is truncated)`);
        end = n;
      }
      return decodeSamples(view, body, end, fmt);
    }
    if (body + size > n) bad(`a ${JSON.stringify(id)} chunk of ${size} bytes`, `only ${n - body} remain (the file is truncated)`);
    if (id === 'fmt ') fmt = readFmt(view, body, size);
    at = body + size + (size & 1); // chunks are padded to an even size
  }
  return bad(fmt ? 'a data chunk' : 'fmt and data chunks', 'none was found');
}

function decodeSamples(view: DataView, start: number, end: number, fmt: FmtChunk): DecodedWav {
  const frames = Math.floor((end - start) / fmt.blockAlign);
  const read = sampleReader(view, fmt);
  const width = fmt.bitDepth / 8;
  const channels = Array.from({ length: fmt.channels }, () => new Float32Array(frames));
  for (let f = 0, at = start; f < frames; f++) {
    for (let c = 0; c < fmt.channels; c++, at += width) channels[c][f] = read(at);
  }
  return { sampleRate: fmt.sampleRate, channels, format: { encoding: fmt.encoding, bitDepth: fmt.bitDepth } };
}

/**
 * Reads and decodes a WAV file; errors name the file.
 * @param path - File to read.
 * @throws FormatError if the file is not a supported WAV file; a file error if it cannot be read.
 */
export async function readWav(path: string): Promise<DecodedWav> {
  if (typeof path !== 'string' || path === '') fail('a file path', 'path', path);
  const bytes = await fs.readFile(path).catch((err: unknown) => {
    throw fileError(err, path, 'read');
  });
  try {
    return decodeWav(bytes);
  } catch (err) {
    // Name the file where the message says "a WAV file".
    if (err instanceof FormatError) throw new FormatError(err.message.replace('in a WAV file', `in the WAV file ${JSON.stringify(path)}`));
    throw err;
  }
}

function checkAudio(audio: unknown): Audio {
  const a = audio as Audio;
  if (a === null || typeof a !== 'object' || !Array.isArray(a.channels)) fail('an object with sampleRate and channels', 'audio', audio);
  checkInteger('audio.sampleRate', a.sampleRate, 1, MAX_SAMPLE_RATE);
  if (a.channels.length < 1 || a.channels.length > MAX_CHANNELS) fail(`1 to ${MAX_CHANNELS} channels`, 'audio.channels', a.channels);
  a.channels.forEach((c, i) => {
    if (!(c instanceof Float32Array)) fail('a Float32Array', `audio.channels[${i}]`, c);
    if (c.length !== a.channels[0].length) {
      throw new ValidationError(`Expected channels of equal length for audio.channels but received audio.channels[${i}] of length ${c.length} and audio.channels[0] of length ${a.channels[0].length}`);
    }
  });
  return a;
}

/**
 * Encodes audio as a WAV file. Integer PCM clips samples to [-1, 1) and
 * rounds to the nearest step.
 * @param audio - Sample rate and channels to encode.
 * @param opts - Sample encoding and bit depth.
 * @throws ValidationError if the audio or an option is invalid.
 */
export function encodeWav(audio: Audio, opts?: EncodeWavOptions): Uint8Array {
  const { sampleRate, channels } = checkAudio(audio);
  const options = checkOptions('opts', opts, ENCODE_WAV_OPTION_KEYS);
  const encoding = options.encoding === undefined ? 'pcm' : checkOneOf('opts.encoding', options.encoding, ['pcm', 'float'] as const);
  const bitDepth = options.bitDepth ?? (encoding === 'pcm' ? 16 : 32);
  checkDepth(encoding, bitDepth, 'opts.bitDepth', 'option');
  const width = bitDepth / 8;
  const frames = channels[0].length;
  const dataBytes = frames * channels.length * width;
  const out = new Uint8Array(44 + dataBytes + (dataBytes & 1));
  const view = new DataView(out.buffer);
  const ascii = (at: number, s: string): void => [...s].forEach((ch, i) => view.setUint8(at + i, ch.charCodeAt(0)));
  ascii(0, 'RIFF');
  view.setUint32(4, out.length - 8, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, encoding === 'pcm' ? FORMAT_PCM : FORMAT_FLOAT, true);
  view.setUint16(22, channels.length, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * channels.length * width, true);
  view.setUint16(32, channels.length * width, true);
  view.setUint16(34, bitDepth, true);
  ascii(36, 'data');
  view.setUint32(40, dataBytes, true);
  const scale = 2 ** (bitDepth - 1);
  const quantize = (v: number): number => Math.max(-scale, Math.min(scale - 1, Math.round((Number.isNaN(v) ? 0 : v) * scale)));
  let at = 44;
  for (let f = 0; f < frames; f++) {
    for (const channel of channels) {
      const v = channel[f];
      if (encoding === 'float') {
        if (bitDepth === 32) view.setFloat32(at, v, true);
        else view.setFloat64(at, v, true);
      } else if (bitDepth === 8) view.setUint8(at, quantize(v) + 128);
      else if (bitDepth === 16) view.setInt16(at, quantize(v), true);
      else if (bitDepth === 32) view.setInt32(at, quantize(v), true);
      else {
        const q = quantize(v);
        view.setUint8(at, q & 0xff);
        view.setUint8(at + 1, (q >> 8) & 0xff);
        view.setInt8(at + 2, q >> 16);
      }
      at += width;
    }
  }
  return out;
}

/**
 * Writes audio to a WAV file atomically (see `encodeWav` for the options).
 * @param path - File to write.
 * @param audio - Sample rate and channels to encode.
 * @param opts - Sample encoding and bit depth.
 */
export async function writeWav(path: string, audio: Audio, opts?: EncodeWavOptions): Promise<void> {
  if (typeof path !== 'string' || path === '') fail('a file path', 'path', path);
  await writeFileAtomic(path, encodeWav(audio, opts));
}

/**
 * The average of the channels (a copy of the only channel for mono audio).
 * @param audio - Audio with one or more channels.
 */
export function toMono(audio: Audio): Float32Array {
  const { channels } = checkAudio(audio);
  if (channels.length === 1) return channels[0].slice();
  const out = new Float32Array(channels[0].length);
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (const c of channels) s += c[i];
    out[i] = s / channels.length;
  }
  return out;
}
