/**
 * What both tokenizers share: the id ↔ token maps, encoding (with the
 * unknown token for anything not in the vocabulary), decoding, padded
 * batches for the recurrent layers, and JSON to store with a model.
 */
import { FormatError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { checkBoolean, checkInteger, checkOptions, describe, fail, optionKeys } from '../validate';
import { checkTokenList, PAD_ID, UNK_ID } from './vocabulary';

/** The options of `encode` and `encodeBatch`. */
export interface EncodeOptions {
  /** Cut the ids to at most this many (keeping the start). @default no limit */
  maxLength?: number;
}

/** The keys of EncodeOptions, for checkOptions. */
export const ENCODE_OPTION_KEYS = optionKeys<EncodeOptions>({ maxLength: true });

/** The options of `decode`. */
export interface DecodeOptions {
  /** Leave out padding ids. @default true */
  skipPadding?: boolean;
}

/** The keys of DecodeOptions, for checkOptions. */
export const DECODE_OPTION_KEYS = optionKeys<DecodeOptions>({ skipPadding: true });

/** What `encodeBatch` returns: padded ids and the lengths, ready for `fit`. */
export interface EncodedBatch {
  /** Token ids [batch, time] (as float32 values), padded with id 0; feed it to an Embedding. */
  x: Tensor;
  /** Each text's length in tokens (at least 1: an empty text is one padding token). */
  lengths: Int32Array;
}

export abstract class Tokenizer {
  /** Id of the padding token. */
  readonly padId = PAD_ID;
  /** Id of the unknown token. */
  readonly unkId = UNK_ID;
  /** Token text by id; 0 is padding, 1 unknown. */
  readonly tokens: readonly string[];
  private readonly ids: Map<string, number>;

  protected constructor(tokens: readonly string[]) {
    this.tokens = tokens.slice();
    this.ids = new Map(tokens.map((t, i) => [t, i]));
  }

  /** Put between tokens by decode (and before each generated token by `eddy.text.generate`). */
  abstract readonly separator: string;

  /** Text without reserved tokens as tokens. */
  protected abstract splitPlain(text: string): string[];

  /**
   * The text as tokens, before the vocabulary lookup. The padding and
   * unknown tokens' texts stand for themselves, so decoded ids encode
   * back to the same ids.
   * @param text - The text.
   */
  split(text: string): string[] {
    let out: string[] = [];
    const specials = [this.tokens[PAD_ID], this.tokens[UNK_ID]].filter((t) => t !== '');
    for (let i = 0; ; ) {
      let at = -1;
      let hit = '';
      for (const sp of specials) {
        const j = text.indexOf(sp, i);
        if (j >= 0 && (at < 0 || j < at || (j === at && sp.length > hit.length))) [at, hit] = [j, sp];
      }
      if (at < 0) return append(out, this.splitPlain(text.slice(i)));
      out = append(out, this.splitPlain(text.slice(i, at)));
      out.push(hit);
      i = at + hit.length;
    }
  }

  /** The tokenizer as plain JSON, for its class's `fromJSON`. */
  abstract toJSON(): object;

  /** Number of ids (the Embedding's numEmbeddings and the output layer's width). */
  get vocabSize(): number {
    return this.tokens.length;
  }

  /** The text of the padding token (id 0). */
  get padToken(): string {
    return this.tokens[PAD_ID];
  }

  /** The text of the unknown token (id 1). */
  get unkToken(): string {
    return this.tokens[UNK_ID];
  }

  /**
   * The id of a token, or the unknown id.
   * @param token - A token's text.
   */
  idOf(token: string): number {
    return this.ids.get(token) ?? UNK_ID;
  }

  /**
   * The ids of `text`; tokens outside the vocabulary become `unkId`.
   * @param text - The text.
   * @param opts - {@link EncodeOptions}.
   */
  encode(text: string, opts?: EncodeOptions): Int32Array {
    if (typeof text !== 'string') fail('string', 'text', text);
    const o = checkOptions('options', opts, ENCODE_OPTION_KEYS);
    const maxLength = o.maxLength === undefined ? Infinity : checkInteger('maxLength', o.maxLength, 1);
    const parts = this.split(text);
    const n = Math.min(parts.length, maxLength);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.ids.get(parts[i]) ?? UNK_ID;
    return out;
  }

  /**
   * The text of one id.
   * @param id - A token id.
   * @throws {@link ValidationError} when the id is out of range.
   */
  tokenText(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.tokens.length) fail(`token id between 0 and ${this.tokens.length - 1}`, 'id', id);
    return this.tokens[id];
  }

  /**
   * The text of `ids`, tokens joined by `separator`; the unknown id decodes to `unkToken`.
   * @param ids - Token ids.
   * @param opts - {@link DecodeOptions}.
   * @throws {@link ValidationError} when an id is out of range.
   */
  decode(ids: ArrayLike<number> | Tensor, opts?: DecodeOptions): string {
    const o = checkOptions('options', opts, DECODE_OPTION_KEYS);
    const skipPadding = checkBoolean('skipPadding', o.skipPadding ?? true);
    const values = ids instanceof Tensor ? ids.toFloat32Array() : ids;
    if (values === null || typeof values !== 'object' || typeof (values as ArrayLike<number>).length !== 'number') fail('array of token ids or Tensor', 'ids', ids);
    const parts: string[] = [];
    for (let i = 0; i < values.length; i++) {
      const id = values[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.tokens.length) fail(`token id between 0 and ${this.tokens.length - 1}`, `ids[${i}]`, id);
      if (skipPadding && id === PAD_ID) continue;
      parts.push(this.tokens[id]);
    }
    return parts.join(this.separator);
  }

  /**
   * Encodes several texts into one padded batch: `{ x, lengths }` spreads
   * into the data `fit` takes, e.g. `{ ...tok.encodeBatch(texts), y }`.
   * @param texts - The texts.
   * @param opts - {@link EncodeOptions}.
   */
  encodeBatch(texts: readonly string[], opts?: EncodeOptions): EncodedBatch {
    if (!Array.isArray(texts) || texts.length === 0) fail('non-empty array of strings', 'texts', texts);
    const encoded = texts.map((t, i) => {
      if (typeof t !== 'string') fail('string', `texts[${i}]`, t);
      return this.encode(t, opts);
    });
    const T = Math.max(1, ...encoded.map((e) => e.length));
    const x = new Float32Array(texts.length * T);
    encoded.forEach((e, b) => x.set(e, b * T));
    return { x: new Tensor(x, [texts.length, T]), lengths: Int32Array.from(encoded, (e) => Math.max(1, e.length)) };
  }
}

/** Appends in a loop: spreading a whole book's characters into push() overflows the stack. */
function append(out: string[], parts: string[]): string[] {
  if (out.length === 0) return parts;
  for (const p of parts) out.push(p);
  return out;
}

/** Checks the common JSON fields of a stored tokenizer. */
export function readTokenizerJSON(json: unknown, type: string): { o: Record<string, unknown>; tokens: string[] } {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new FormatError(`Expected a ${type} JSON object for json but received ${describe(json)}`);
  const o = json as Record<string, unknown>;
  if (o.type !== type) throw new FormatError(`Expected type "${type}" for json.type but received ${describe(o.type)}`);
  if (o.version !== 1) throw new FormatError(`Expected version 1 for json.version but received ${describe(o.version)}`);
  return { o, tokens: checkTokenList(o.tokens, 'json') };
}

export function jsonBoolean(o: Record<string, unknown>, key: string): boolean {
  if (typeof o[key] !== 'boolean') throw new FormatError(`Expected a boolean for json.${key} but received ${describe(o[key])}`);
  return o[key] as boolean;
}
