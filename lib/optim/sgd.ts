import { ValidationError } from '../errors';
import { binding } from '../native';
import { checkHyper, Optimizer, ParamGroup, ParamGroupInput, ParamLike, ParamState } from './optimizer';

/**
 * The hyperparameters of {@link SGD} (each optional in the constructor, and settable per parameter
 * group).
 */
export interface SGDOptions {
  /** Learning rate. @default 1e-3 */
  lr: number;
  /** Momentum factor. @default 0 */
  momentum: number;
  /** Dampening for momentum. @default 0 */
  dampening: number;
  /** L2 penalty added to the gradient. @default 0 */
  weightDecay: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). @default false */
  nesterov: boolean;
}

/** Stochastic gradient descent, with PyTorch's update rule (momentum buffer starts as the first gradient). */
export class SGD extends Optimizer<SGDOptions> {
  /**
   * @param params - The parameters to update (`model.parameters()`), or parameter groups with their
   *   own hyperparameters.
   * @param opts - {@link SGDOptions}, the defaults of every group.
   * @throws {@link ValidationError} when a hyperparameter is out of range.
   */
  constructor(params: Iterable<ParamLike> | ParamGroupInput<SGDOptions>[], opts: Partial<SGDOptions> = {}) {
    super('SGD', params, { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false }, opts);
  }

  protected validate(g: ParamGroup<SGDOptions>, where: string): void {
    checkHyper(where, 'lr', g.lr);
    checkHyper(where, 'momentum', g.momentum);
    checkHyper(where, 'dampening', g.dampening);
    checkHyper(where, 'weightDecay', g.weightDecay);
    if (typeof g.nesterov !== 'boolean') throw new ValidationError(`Expected boolean for nesterov (in ${where}) but received ${String(g.nesterov)}`);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new ValidationError(`Expected momentum > 0 and dampening 0 for nesterov (in ${where}) but received momentum ${g.momentum}, dampening ${g.dampening}`);
    }
  }

  protected update(p: Float32Array, g: Float32Array, group: ParamGroup<SGDOptions>, state: ParamState): void {
    const firstStep = state.buffers.momentum === undefined;
    const buf = group.momentum !== 0 ? this.buffer(state, 'momentum', p.length) : null;
    binding.sgdStep({ p, g, buf, lr: group.lr, momentum: group.momentum, dampening: group.dampening, weightDecay: group.weightDecay, nesterov: group.nesterov, firstStep });
  }
}
