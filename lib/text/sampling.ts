/**
 * Drawing a token from logits: temperature, then top-k, then nucleus
 * (top-p) filtering, then a draw from the renormalized softmax with a
 * seeded generator.
 */
import { Generator } from '../random';
import { checkGenerator, checkInteger, checkNumber, checkOptions, fail, optionKeys } from '../validate';

/** The options of {@link sampleLogits}. */
export interface SamplingOptions {
  /** Divides the logits: below 1 sharpens, above 1 flattens; 0 always takes the most likely token. @default 1 */
  temperature?: number;
  /** Keep only the k most likely tokens. @default all */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probabilities sum to at least p (nucleus sampling). @default 1 */
  topP?: number;
  /** Ids never drawn (e.g. padding). @default none */
  suppress?: readonly number[];
  /** The random source of the draw. @default the global generator */
  generator?: Generator;
}

/** The keys of SamplingOptions, for checkOptions. */
export const SAMPLING_OPTION_KEYS = optionKeys<SamplingOptions>({ temperature: true, topK: true, topP: true, suppress: true, generator: true });

export interface CheckedSampling {
  temperature: number;
  topK: number;
  topP: number;
  generator: Generator;
  suppress: Set<number>;
}

export function checkSampling(opts: SamplingOptions | undefined): CheckedSampling {
  const o = checkOptions('options', opts, SAMPLING_OPTION_KEYS);
  const temperature = checkNumber('temperature', o.temperature ?? 1, { min: 0 });
  const topK = o.topK === undefined ? Infinity : checkInteger('topK', o.topK, 1);
  const topP = o.topP === undefined ? 1 : checkNumber('topP', o.topP, { min: 0, max: 1 });
  if (topP === 0) fail('number in (0, 1]', 'topP', o.topP);
  if (o.suppress !== undefined && !Array.isArray(o.suppress)) fail('array of token ids', 'suppress', o.suppress);
  return { temperature, topK, topP, generator: checkGenerator('generator', o.generator), suppress: new Set(o.suppress ?? []) };
}

/** The allowed ids with their probabilities after temperature, topK and topP (sorted most likely first). */
export function filteredDistribution(logits: ArrayLike<number>, s: CheckedSampling): { ids: number[]; probs: number[] } {
  let ids: number[] = [];
  for (let i = 0; i < logits.length; i++) if (!s.suppress.has(i) && !Number.isNaN(logits[i])) ids.push(i);
  if (ids.length === 0) fail('logits with at least one token that is not suppressed', 'logits', logits);
  ids.sort((a, b) => logits[b] - logits[a] || a - b);
  if (s.temperature === 0) return { ids: [ids[0]], probs: [1] };
  ids = ids.slice(0, s.topK);
  const top = logits[ids[0]] / s.temperature;
  let probs = ids.map((i) => Math.exp(logits[i] / s.temperature - top));
  const total = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / total);
  if (s.topP < 1) {
    let cum = 0;
    let keep = 0;
    while (keep < ids.length && cum < s.topP) cum += probs[keep++];
    ids = ids.slice(0, keep);
    probs = probs.slice(0, keep).map((p) => p / cum);
  }
  return { ids, probs };
}

/**
 * Draws one token id from `logits` (one score per token).
 *
 * ```ts
 * eddy.text.sampleLogits(logits, { temperature: 0.8, topK: 40, generator: new eddy.Generator(1) });
 * ```
 * @param logits - One score per token.
 * @param opts - {@link SamplingOptions}.
 * @throws {@link ValidationError} when `logits` or an option is malformed.
 */
export function sampleLogits(logits: ArrayLike<number>, opts?: SamplingOptions): number {
  if (logits === null || typeof logits !== 'object' || typeof logits.length !== 'number') fail('array of logits', 'logits', logits);
  return drawFrom(logits, checkSampling(opts));
}

export function drawFrom(logits: ArrayLike<number>, s: CheckedSampling): number {
  const { ids, probs } = filteredDistribution(logits, s);
  let u = s.generator.next();
  for (let k = 0; k < ids.length; k++) {
    u -= probs[k];
    if (u < 0) return ids[k];
  }
  return ids[ids.length - 1];
}
