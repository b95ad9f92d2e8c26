/**
 * Language-model data from a token stream: input sequences and the same
 * sequences shifted by one as targets, and the unigram entropy a model has
 * to beat.
 */
import { ShapeError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { checkInteger, checkOptions, fail, optionKeys } from '../validate';

/** The options of {@link nextTokenData}. */
export interface NextTokenOptions {
  /** Tokens per training sequence. */
  sequenceLength: number;
  /** Tokens between the starts of consecutive sequences. @default sequenceLength (no overlap) */
  stride?: number;
}

/** The keys of NextTokenOptions, for checkOptions. */
export const NEXT_TOKEN_OPTION_KEYS = optionKeys<NextTokenOptions>({ sequenceLength: true, stride: true });

function checkIds(ids: unknown): ArrayLike<number> {
  if (!(ids instanceof Int32Array) && !Array.isArray(ids)) fail('Int32Array or array of token ids', 'ids', ids);
  return ids as ArrayLike<number>;
}

/**
 * Next-token prediction data: x [N, sequenceLength] holds ids[s … s+L−1],
 * y [N, sequenceLength] holds ids[s+1 … s+L] for s = 0, stride, 2·stride, …
 * Train with `loss: 'crossEntropy'` on a model whose logits are [batch, time, vocab].
 * @param ids - The token stream (a tokenizer's `encode` of the corpus).
 * @param opts - {@link NextTokenOptions}.
 * @throws {@link ShapeError} when the stream is shorter than one sequence plus one token.
 * @throws {@link ValidationError} when an option is malformed.
 * @example
 * ```ts
 * const ids = tokenizer.encode(corpus);
 * const { x, y } = eddy.text.nextTokenData(ids, { sequenceLength: 64 });
 * await model.fit({ x, y }, { loss: 'crossEntropy', metrics: ['bitsPerCharacter'] });
 * ```
 */
export function nextTokenData(ids: Int32Array | readonly number[], opts: NextTokenOptions): {
  /** Input ids, [N, sequenceLength]. */
  x: Tensor;
  /** Target ids, the inputs shifted by one. */
  y: Tensor;
} {
  const values = checkIds(ids);
  const o = checkOptions('options', opts, NEXT_TOKEN_OPTION_KEYS);
  const L = checkInteger('sequenceLength', o.sequenceLength, 1);
  const stride = checkInteger('stride', o.stride ?? L, 1);
  if (values.length < L + 1) throw new ShapeError(`Expected at least sequenceLength + 1 = ${L + 1} ids for nextTokenData but received ${values.length}`);
  const n = Math.floor((values.length - 1 - L) / stride) + 1;
  const x = new Float32Array(n * L);
  const y = new Float32Array(n * L);
  for (let i = 0; i < n; i++) {
    const s = i * stride;
    for (let t = 0; t < L; t++) {
      x[i * L + t] = values[s + t];
      y[i * L + t] = values[s + t + 1];
    }
  }
  return { x: new Tensor(x, [n, L]), y: new Tensor(y, [n, L]) };
}

/**
 * The entropy in bits per token of the ids' own frequencies: what a model
 * that ignores context scores at best (bits per character for a character
 * tokenizer). A language model has learned something once its
 * `bitsPerCharacter` falls below this.
 * @param ids - The token stream.
 */
export function unigramEntropy(ids: Int32Array | readonly number[]): number {
  const values = checkIds(ids);
  if (values.length === 0) fail('at least one id', 'ids', ids);
  const counts = new Map<number, number>();
  for (let i = 0; i < values.length; i++) counts.set(values[i], (counts.get(values[i]) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / values.length;
    h -= p * Math.log2(p);
  }
  return h;
}
