/**
 * Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
 */
import { ValidationError } from '../errors';
import { binding } from '../native';
import { Parameter } from '../nn/parameter';
import { denseData, Tensor } from '../tensor/tensor';
import { checkNumber, checkOptions, fail, optionKeys } from '../validate';
import { ParamLike } from './optimizer';

function gradsOf(params: Iterable<ParamLike>): Tensor[] {
  if (params === null || typeof params !== 'object' || !(Symbol.iterator in params)) fail('an iterable of parameters', 'params', params);
  const out: Tensor[] = [];
  for (const p of params) {
    const t = p instanceof Parameter ? p.data : p;
    if (!(t instanceof Tensor)) fail('Parameter or Tensor', 'params[i]', p);
    if (!t.grad) continue;
    // Clipping scales gradients in place, so it needs them laid out densely.
    if (!t.grad.isContiguous()) t.grad = new Tensor(t.grad.toFloat32Array(), t.grad.shape);
    out.push(t.grad);
  }
  return out;
}

/** The options of {@link clipGradNorm}. */
export interface ClipGradNormOptions {
  /** Order of the norm: a positive number or 'inf' (largest absolute value). @default 2 */
  normType?: number | 'inf';
  /** Throw when the total norm is NaN or infinite instead of scaling by it. @default false */
  errorIfNonfinite?: boolean;
}

export const CLIP_GRAD_NORM_OPTION_KEYS = optionKeys<ClipGradNormOptions>({ normType: true, errorIfNonfinite: true });

/**
 * Scales all gradients together so their combined norm is at most maxNorm
 * (by maxNorm / (norm + 1e-6) when larger), and returns the norm before
 * clipping — compare it with maxNorm to know whether this step clipped.
 * @param params - The parameters whose gradients to clip (those without a gradient are skipped).
 * @param maxNorm - The largest norm allowed, ≥ 0.
 * @param opts - {@link ClipGradNormOptions}.
 * @throws {@link ValidationError} when the norm is not finite and `errorIfNonfinite` is set.
 */
export function clipGradNorm(params: Iterable<ParamLike>, maxNorm: number, opts: ClipGradNormOptions = {}): number {
  checkNumber('maxNorm', maxNorm, { min: 0 });
  opts = checkOptions('options', opts, CLIP_GRAD_NORM_OPTION_KEYS);
  const normType = opts.normType ?? 2;
  if (normType !== 'inf' && !(typeof normType === 'number' && normType > 0)) fail("a positive number or 'inf'", 'normType', normType);
  const grads = gradsOf(params).map(denseData);
  // One native reduction over every gradient (double accumulation), then one scaling pass.
  const total = binding.totalNorm(grads, normType === 'inf' ? Infinity : normType);
  if (!Number.isFinite(total) && opts.errorIfNonfinite) {
    throw new ValidationError(`The total norm of order ${normType} of the gradients is ${total}, so they cannot be clipped`);
  }
  const coef = Math.min(1, maxNorm / (total + 1e-6));
  if (coef < 1) binding.scaleArrays(grads, Math.fround(coef));
  return total;
}

/**
 * Clamps every gradient element to [−clipValue, clipValue].
 * @param params - The parameters whose gradients to clamp.
 * @param clipValue - The largest magnitude allowed, ≥ 0.
 */
export function clipGradValue(params: Iterable<ParamLike>, clipValue: number): void {
  checkNumber('clipValue', clipValue, { min: 0 });
  for (const g of gradsOf(params)) {
    const d = denseData(g);
    for (let i = 0; i < d.length; i++) d[i] = Math.min(clipValue, Math.max(-clipValue, d[i]));
  }
}
