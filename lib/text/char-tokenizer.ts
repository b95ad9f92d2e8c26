/** Character-level tokenization: one token per Unicode code point. */
import { FormatError } from '../errors';
import { checkBoolean, checkOptions, fail, optionKeys, quote } from '../validate';
import { jsonBoolean, readTokenizerJSON, Tokenizer } from './tokenizer';
import { buildTokenList, checkReserved, VocabularyOptions } from './vocabulary';

/** The options of {@link CharTokenizer.fromTexts}. */
export interface CharTokenizerOptions extends VocabularyOptions {
  /** Lower-case text before splitting. @default false */
  lowercase?: boolean;
}

/** The keys of CharTokenizerOptions, for checkOptions. */
export const CHAR_TOKENIZER_OPTION_KEYS = optionKeys<CharTokenizerOptions>({ lowercase: true, minFrequency: true, maxSize: true, padToken: true, unkToken: true });

/** A {@link CharTokenizer} as plain JSON (`toJSON()`), to store beside a model. */
export interface CharTokenizerJSON {
  /** Identifies the tokenizer class. */
  type: 'CharTokenizer';
  /** The version of this layout. */
  version: 1;
  /** Token text by id. */
  tokens: string[];
  /** Whether text is lower-cased before splitting. */
  lowercase: boolean;
}

/**
 * Characters (code points, so emoji and other astral characters stay
 * whole) with a vocabulary built from data.
 *
 * ```ts
 * const tok = eddy.text.CharTokenizer.fromTexts(corpus, { minFrequency: 2 });
 * tok.encode('Emma');             // Int32Array of ids
 * tok.decode(tok.encode('Emma')); // 'Emma'
 * ```
 */
export class CharTokenizer extends Tokenizer {
  readonly separator = '';
  /** Whether text is lower-cased before splitting. */
  readonly lowercase: boolean;

  private constructor(tokens: readonly string[], lowercase: boolean) {
    super(tokens);
    this.lowercase = lowercase;
  }

  /**
   * Builds the vocabulary from one text or many.
   * @param texts - The corpus: one string, or any iterable of strings.
   * @param opts - {@link CharTokenizerOptions}.
   * @throws {@link ValidationError} when `texts` or an option is malformed.
   */
  static fromTexts(texts: string | Iterable<string>, opts: CharTokenizerOptions = {}): CharTokenizer {
    const o = checkOptions('options', opts, CHAR_TOKENIZER_OPTION_KEYS);
    const lowercase = checkBoolean('lowercase', o.lowercase ?? false);
    const reserved = checkReserved(o);
    const splitter = new CharTokenizer([reserved.padToken, reserved.unkToken], lowercase);
    const counts = new Map<string, number>();
    const add = (text: unknown, name: string): void => {
      if (typeof text !== 'string') fail('string', name, text);
      for (const ch of splitter.split(text)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    };
    if (typeof texts === 'string') add(texts, 'texts');
    else if (texts !== null && typeof texts === 'object' && Symbol.iterator in texts) {
      let i = 0;
      for (const t of texts) add(t, `texts[${i++}]`);
    } else fail('string or iterable of strings', 'texts', texts);
    return new CharTokenizer(buildTokenList(counts, o, reserved), lowercase);
  }

  protected splitPlain(text: string): string[] {
    return Array.from(this.lowercase ? text.toLowerCase() : text);
  }

  /** The tokenizer as plain JSON, for `fromJSON`. */
  toJSON(): CharTokenizerJSON {
    return { type: 'CharTokenizer', version: 1, tokens: this.tokens.slice(), lowercase: this.lowercase };
  }

  /**
   * Rebuilds a tokenizer from `toJSON()`'s output; malformed input gives a FormatError.
   * @param json - The output of `toJSON()` (parsed).
   * @throws {@link FormatError} when `json` is malformed.
   */
  static fromJSON(json: unknown): CharTokenizer {
    const { o, tokens } = readTokenizerJSON(json, 'CharTokenizer');
    tokens.slice(2).forEach((t, i) => {
      if (Array.from(t).length !== 1) throw new FormatError(`Expected one character for json.tokens[${i + 2}] but received ${quote(t)}`);
    });
    return new CharTokenizer(tokens, jsonBoolean(o, 'lowercase'));
  }

  override toString(): string {
    return `CharTokenizer(vocabSize=${this.vocabSize}${this.lowercase ? ', lowercase=true' : ''})`;
  }
}
