/**
 * A character (label) n-gram language model with interpolated Witten–Bell
 * smoothing, for `beamDecode({ lm })`. Over labels 0..vocabularySize−1 and
 * an end-of-sequence symbol, with sequences padded by start symbols:
 *
 *   P(w | h) = (c(h, w) + N(h) · P(w | h⁻)) / (c(h) + N(h)),
 *
 * where c(h, w) counts w after the context h (the last order − 1 labels),
 * c(h) = Σ_w c(h, w), N(h) is the number of distinct labels seen after h,
 * h⁻ is h without its oldest label, and below the unigram sits the uniform
 * distribution 1 / (vocabularySize + 1). A context never seen falls
 * through to the shorter one. Every P(· | h) sums to 1 over the labels and
 * the end.
 */
import { ValidationError } from '../errors';
import { checkInteger, checkOptions, fail, optionKeys } from '../validate';
import type { CtcLanguageModel } from './beam';

/** Options of `CharNgram.fit`. */
export interface CharNgramOptions {
  /** n: how many labels a prediction sees, counting the predicted one. @default 3 */
  order?: number;
  /** Labels are 0..vocabularySize − 1. @default one more than the largest label in the training sequences */
  vocabularySize?: number;
}

/** The keys of CharNgramOptions, for checkOptions. */
export const CHAR_NGRAM_OPTION_KEYS = optionKeys<CharNgramOptions>({ order: true, vocabularySize: true });

/** Counts after one context: total, and per following symbol (the end is -1). */
interface ContextCounts {
  total: number;
  next: Map<number, number>;
}

const START = -2;
const END = -1;

/** A label n-gram model fitted with `CharNgram.fit`; pass it to `beamDecode({ lm })`. */
export class CharNgram implements CtcLanguageModel {
  /** n: labels per n-gram, the predicted one included. */
  readonly order: number;
  /** Labels are 0..vocabularySize − 1. */
  readonly vocabularySize: number;
  private readonly counts = new Map<string, ContextCounts>();

  private constructor(order: number, vocabularySize: number) {
    this.order = order;
    this.vocabularySize = vocabularySize;
  }

  /**
   * Counts the n-grams of `sequences` (arrays of labels; encode text with a tokenizer first).
   * @param sequences - Training label sequences.
   * @param opts - Order and vocabulary size.
   * @throws ValidationError if a label is not an integer in 0..vocabularySize − 1 or an option is out of range.
   */
  static fit(sequences: readonly (readonly number[])[], opts?: CharNgramOptions): CharNgram {
    if (!Array.isArray(sequences)) fail('an array of label sequences', 'sequences', sequences);
    const o = checkOptions('opts', opts, CHAR_NGRAM_OPTION_KEYS);
    const order = o.order === undefined ? 3 : checkInteger('opts.order', o.order, 1, 16);
    let largest = -1;
    sequences.forEach((s, i) => {
      if (!Array.isArray(s)) fail('an array of labels', `sequences[${i}]`, s);
      s.forEach((v, j) => {
        checkInteger(`sequences[${i}][${j}]`, v, 0);
        largest = Math.max(largest, v);
      });
    });
    const vocabularySize = o.vocabularySize === undefined ? largest + 1 : checkInteger('opts.vocabularySize', o.vocabularySize, 1);
    if (vocabularySize < 1) throw new ValidationError('Expected opts.vocabularySize or at least one label in sequences for CharNgram.fit but received neither');
    if (largest >= vocabularySize) throw new ValidationError(`Expected labels below opts.vocabularySize (${vocabularySize}) for sequences but received ${largest}`);
    const lm = new CharNgram(order, vocabularySize);
    for (const s of sequences) {
      const padded = [...new Array<number>(order - 1).fill(START), ...s, END];
      for (let i = order - 1; i < padded.length; i++) {
        for (let k = 0; k < order; k++) lm.count(padded.slice(i - k, i), padded[i]);
      }
    }
    return lm;
  }

  private count(context: number[], next: number): void {
    const key = context.join(',');
    let c = this.counts.get(key);
    if (!c) this.counts.set(key, (c = { total: 0, next: new Map() }));
    c.total++;
    c.next.set(next, (c.next.get(next) ?? 0) + 1);
  }

  private probability(history: readonly number[], next: number): number {
    const padded = [...new Array<number>(this.order - 1).fill(START), ...history];
    let p = 1 / (this.vocabularySize + 1);
    for (let k = 0; k < this.order; k++) {
      const c = this.counts.get(padded.slice(padded.length - k).join(','));
      if (!c) break; // a longer context containing an unseen one is unseen too
      p = ((c.next.get(next) ?? 0) + c.next.size * p) / (c.total + c.next.size);
    }
    return p;
  }

  /**
   * log P(next | history), natural log.
   * @param history - Every label decoded so far, oldest first; only the last order − 1 are read.
   * @param next - The label to score.
   */
  logProb(history: readonly number[], next: number): number {
    checkInteger('next', next, 0, this.vocabularySize - 1);
    return Math.log(this.probability(history, next));
  }

  /**
   * log P(end of sequence | history).
   * @param history - Every label decoded so far, oldest first; only the last order − 1 are read.
   */
  endLogProb(history: readonly number[]): number {
    return Math.log(this.probability(history, END));
  }
}
