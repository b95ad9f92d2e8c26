/** Word-level tokenization: words (with inner apostrophes) and, by default, punctuation marks as tokens of their own. */
import { checkBoolean, checkOptions, fail, optionKeys } from '../validate';
import { jsonBoolean, readTokenizerJSON, Tokenizer } from './tokenizer';
import { buildTokenList, checkReserved, VocabularyOptions } from './vocabulary';

/** The options of {@link WordTokenizer.fromTexts}. */
export interface WordTokenizerOptions extends VocabularyOptions {
  /** Lower-case text before splitting. @default true */
  lowercase?: boolean;
  /** Make each punctuation mark a token; false splits on whitespace only. @default true */
  splitPunctuation?: boolean;
}

/** The keys of WordTokenizerOptions, for checkOptions. */
export const WORD_TOKENIZER_OPTION_KEYS = optionKeys<WordTokenizerOptions>({ lowercase: true, splitPunctuation: true, minFrequency: true, maxSize: true, padToken: true, unkToken: true });

/** A {@link WordTokenizer} as plain JSON (`toJSON()`), to store beside a model. */
export interface WordTokenizerJSON {
  /** Identifies the tokenizer class. */
  type: 'WordTokenizer';
  /** The version of this layout. */
  version: 1;
  /** Token text by id. */
  tokens: string[];
  /** Whether text is lower-cased before splitting. */
  lowercase: boolean;
  /** Whether each punctuation mark is a token. */
  splitPunctuation: boolean;
}

// Fixed patterns (not user-given ones): a stored tokenizer never compiles a regular expression from its file.
const WORDS_AND_PUNCTUATION = /[\p{L}\p{N}\p{M}]+(?:['’][\p{L}\p{N}\p{M}]+)*|[^\s\p{L}\p{N}\p{M}]/gu;
const WHITESPACE_SEPARATED = /\S+/gu;

/**
 * Words with a vocabulary built from data; decode joins tokens with
 * spaces, so `decode(encode(s))` is `s` normalized (lower-cased, one space
 * between tokens).
 *
 * ```ts
 * const tok = eddy.text.WordTokenizer.fromTexts(texts, { maxSize: 20000, minFrequency: 2 });
 * const { x, lengths } = tok.encodeBatch(texts, { maxLength: 200 });
 * ```
 */
export class WordTokenizer extends Tokenizer {
  readonly separator = ' ';
  /** Whether text is lower-cased before splitting. */
  readonly lowercase: boolean;
  /** Whether each punctuation mark is a token. */
  readonly splitPunctuation: boolean;

  private constructor(tokens: readonly string[], lowercase: boolean, splitPunctuation: boolean) {
    super(tokens);
    this.lowercase = lowercase;
    this.splitPunctuation = splitPunctuation;
  }

  /**
   * Builds the vocabulary from one text or many.
   * @param texts - The corpus: one string, or any iterable of strings.
   * @param opts - {@link WordTokenizerOptions}.
   * @throws {@link ValidationError} when `texts` or an option is malformed.
   */
  static fromTexts(texts: string | Iterable<string>, opts: WordTokenizerOptions = {}): WordTokenizer {
    const o = checkOptions('options', opts, WORD_TOKENIZER_OPTION_KEYS);
    const lowercase = checkBoolean('lowercase', o.lowercase ?? true);
    const splitPunctuation = checkBoolean('splitPunctuation', o.splitPunctuation ?? true);
    const reserved = checkReserved(o);
    const splitter = new WordTokenizer([reserved.padToken, reserved.unkToken], lowercase, splitPunctuation);
    const counts = new Map<string, number>();
    const add = (text: unknown, name: string): void => {
      if (typeof text !== 'string') fail('string', name, text);
      for (const w of splitter.split(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
    };
    if (typeof texts === 'string') add(texts, 'texts');
    else if (texts !== null && typeof texts === 'object' && Symbol.iterator in texts) {
      let i = 0;
      for (const t of texts) add(t, `texts[${i++}]`);
    } else fail('string or iterable of strings', 'texts', texts);
    return new WordTokenizer(buildTokenList(counts, o, reserved), lowercase, splitPunctuation);
  }

  protected splitPlain(text: string): string[] {
    const s = this.lowercase ? text.toLowerCase() : text;
    return s.match(this.splitPunctuation ? WORDS_AND_PUNCTUATION : WHITESPACE_SEPARATED) ?? [];
  }

  /** The tokenizer as plain JSON, for `fromJSON`. */
  toJSON(): WordTokenizerJSON {
    return { type: 'WordTokenizer', version: 1, tokens: this.tokens.slice(), lowercase: this.lowercase, splitPunctuation: this.splitPunctuation };
  }

  /**
   * Rebuilds a tokenizer from `toJSON()`'s output; malformed input gives a FormatError.
   * @param json - The output of `toJSON()` (parsed).
   * @throws {@link FormatError} when `json` is malformed.
   */
  static fromJSON(json: unknown): WordTokenizer {
    const { o, tokens } = readTokenizerJSON(json, 'WordTokenizer');
    return new WordTokenizer(tokens, jsonBoolean(o, 'lowercase'), jsonBoolean(o, 'splitPunctuation'));
  }

  override toString(): string {
    return `WordTokenizer(vocabSize=${this.vocabSize}${this.lowercase ? '' : ', lowercase=false'}${this.splitPunctuation ? '' : ', splitPunctuation=false'})`;
  }
}
