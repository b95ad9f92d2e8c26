/**
 * Language-model metrics from a mean cross-entropy in nats (what
 * `losses.crossEntropy` returns with reduction 'mean').
 */
import { Tensor } from '../tensor/tensor';
import { fail } from '../validate';

function checkCrossEntropy(value: unknown): number {
  const v = value instanceof Tensor && value.size === 1 ? value.item() : value;
  if (typeof v !== 'number' || !(v >= 0)) fail('non-negative number or one-element Tensor', 'meanCrossEntropyNats', value);
  return v;
}

/**
 * e^H: the effective number of equally likely choices per token.
 * @param meanCrossEntropyNats - The mean cross-entropy per token, in nats (natural log), as
 *   `losses.crossEntropy` returns it.
 * @throws {@link ValidationError} when the value is negative or not a number.
 */
export function perplexity(meanCrossEntropyNats: number | Tensor): number {
  return Math.exp(checkCrossEntropy(meanCrossEntropyNats));
}

/**
 * H / ln 2: the average code length in bits per character (or per token).
 * @param meanCrossEntropyNats - The mean cross-entropy per character, in nats.
 * @throws {@link ValidationError} when the value is negative or not a number.
 */
export function bitsPerCharacter(meanCrossEntropyNats: number | Tensor): number {
  return checkCrossEntropy(meanCrossEntropyNats) / Math.LN2;
}
