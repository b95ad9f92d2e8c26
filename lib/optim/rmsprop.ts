import { binding } from '../native';
import { checkHyper, Optimizer, ParamGroup, ParamGroupInput, ParamLike, ParamState } from './optimizer';
import { ValidationError } from '../errors';

/**
 * The hyperparameters of {@link RMSprop} (each optional in the constructor, and settable per
 * parameter group).
 */
export interface RMSpropOptions {
  /** Learning rate. @default 1e-2 */
  lr: number;
  /** Smoothing constant of the squared-gradient average. @default 0.99 */
  alpha: number;
  /** Added to the denominator for numerical stability. @default 1e-8 */
  eps: number;
  /** L2 penalty added to the gradient. @default 0 */
  weightDecay: number;
  /** Momentum factor. @default 0 */
  momentum: number;
  /** Normalize by the estimated variance of the gradient instead of its second moment. @default false */
  centered: boolean;
}

/** RMSprop with PyTorch's update rule (eps outside the square root). */
export class RMSprop extends Optimizer<RMSpropOptions> {
  /**
   * @param params - The parameters to update (`model.parameters()`), or parameter groups with their
   *   own hyperparameters.
   * @param opts - {@link RMSpropOptions}, the defaults of every group.
   * @throws {@link ValidationError} when a hyperparameter is out of range.
   */
  constructor(params: Iterable<ParamLike> | ParamGroupInput<RMSpropOptions>[], opts: Partial<RMSpropOptions> = {}) {
    super('RMSprop', params, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false }, opts);
  }

  protected validate(g: ParamGroup<RMSpropOptions>, where: string): void {
    checkHyper(where, 'lr', g.lr);
    checkHyper(where, 'alpha', g.alpha, { max: 1 });
    checkHyper(where, 'eps', g.eps);
    checkHyper(where, 'weightDecay', g.weightDecay);
    checkHyper(where, 'momentum', g.momentum);
    if (typeof g.centered !== 'boolean') throw new ValidationError(`Expected boolean for centered (in ${where}) but received ${String(g.centered)}`);
  }

  protected update(p: Float32Array, g: Float32Array, group: ParamGroup<RMSpropOptions>, state: ParamState): void {
    binding.rmspropStep({
      p,
      g,
      sq: this.buffer(state, 'squareAvg', p.length),
      gavg: group.centered ? this.buffer(state, 'gradAvg', p.length) : null,
      buf: group.momentum > 0 ? this.buffer(state, 'momentum', p.length) : null,
      lr: group.lr,
      alpha: group.alpha,
      eps: group.eps,
      weightDecay: group.weightDecay,
      momentum: group.momentum,
    });
  }
}
