/**
 * Vocabularies built from token counts: the padding token at id 0, the
 * unknown token at id 1, then tokens by falling frequency (ties in code
 * point order, so a vocabulary is the same whatever order the data came in).
 */
import { FormatError, ValidationError } from '../errors';
import { checkInteger, describe, fail, quote } from '../validate';

export const PAD_ID = 0;
export const UNK_ID = 1;

/** How a tokenizer's vocabulary is built from data (shared by every tokenizer's `fromTexts`). */
export interface VocabularyOptions {
  /** Tokens seen fewer times than this become the unknown token. @default 1 */
  minFrequency?: number;
  /** The largest vocabulary, padding and unknown tokens included (the Embedding's numEmbeddings); the rarest tokens go first. @default no limit */
  maxSize?: number;
  /** Text of the padding token (id 0). @default '<pad>' */
  padToken?: string;
  /** Text of the unknown token (id 1), what decode writes for it. @default '<unk>' */
  unkToken?: string;
}

export interface ReservedTokens {
  padToken: string;
  unkToken: string;
}

export function checkReserved(o: VocabularyOptions): ReservedTokens {
  const padToken = o.padToken ?? '<pad>';
  const unkToken = o.unkToken ?? '<unk>';
  if (typeof padToken !== 'string') fail('string', 'padToken', padToken);
  if (typeof unkToken !== 'string') fail('string', 'unkToken', unkToken);
  if (padToken === unkToken) throw new ValidationError(`Expected different padToken and unkToken but received ${quote(padToken)} for both`);
  return { padToken, unkToken };
}

/** The id → token list for `counts`, reserved tokens first. */
export function buildTokenList(counts: Map<string, number>, o: VocabularyOptions, reserved: ReservedTokens): string[] {
  const minFrequency = checkInteger('minFrequency', o.minFrequency ?? 1, 1);
  const maxSize = o.maxSize === undefined ? Infinity : o.maxSize;
  if (!Number.isInteger(maxSize) && maxSize !== Infinity) fail('integer >= 3 (room for the padding and unknown tokens and one more)', 'maxSize', o.maxSize);
  if (maxSize < 3) fail('integer >= 3 (room for the padding and unknown tokens and one more)', 'maxSize', o.maxSize);
  const entries = [...counts].filter(([t, n]) => n >= minFrequency && t !== reserved.padToken && t !== reserved.unkToken);
  entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return [reserved.padToken, reserved.unkToken, ...entries.slice(0, maxSize - 2).map(([t]) => t)];
}

/** Checks a stored token list: strings, distinct, at least the two reserved ones. */
export function checkTokenList(value: unknown, owner: string): string[] {
  if (!Array.isArray(value) || value.length < 2 || !value.every((t) => typeof t === 'string')) {
    throw new FormatError(`Expected an array of at least 2 strings (padding and unknown tokens first) for ${owner}.tokens but received ${describe(value)}`);
  }
  const seen = new Set<string>();
  value.forEach((t: string, i) => {
    if (seen.has(t)) throw new FormatError(`Expected distinct tokens in ${owner}.tokens but received ${quote(t)} again at index ${i}`);
    seen.add(t);
  });
  return value.slice();
}
