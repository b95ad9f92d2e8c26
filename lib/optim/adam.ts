import { ValidationError } from '../errors';
import { binding } from '../native';
import { checkHyper, Optimizer, ParamGroup, ParamGroupInput, ParamLike, ParamState } from './optimizer';

/**
 * The hyperparameters of {@link Adam} and {@link AdamW} (each optional in the constructor, and
 * settable per parameter group).
 */
export interface AdamOptions {
  /** Learning rate. @default 1e-3 */
  lr: number;
  /** Decay rates of the first and second moment estimates. @default [0.9, 0.999] */
  betas: [number, number];
  /** Added to the denominator for numerical stability. @default 1e-8 */
  eps: number;
  /** Adam: L2 penalty added to the gradient. AdamW: decoupled weight decay. @default 0 (Adam), 1e-2 (AdamW) */
  weightDecay: number;
  /** Use the maximum of past second moments (AMSGrad). @default false */
  amsgrad: boolean;
}

function validateAdam(g: ParamGroup<AdamOptions>, where: string): void {
  checkHyper(where, 'lr', g.lr);
  if (!Array.isArray(g.betas) || g.betas.length !== 2) {
    throw new ValidationError(`Expected two numbers in [0, 1) for betas (in ${where}) but received ${JSON.stringify(g.betas)}`);
  }
  checkHyper(where, 'betas[0]', g.betas[0], { max: 1, maxExclusive: true });
  checkHyper(where, 'betas[1]', g.betas[1], { max: 1, maxExclusive: true });
  checkHyper(where, 'eps', g.eps);
  checkHyper(where, 'weightDecay', g.weightDecay);
  if (typeof g.amsgrad !== 'boolean') throw new ValidationError(`Expected boolean for amsgrad (in ${where}) but received ${String(g.amsgrad)}`);
}

function adamUpdate(decoupled: boolean, p: Float32Array, g: Float32Array, group: ParamGroup<AdamOptions>, state: ParamState, buffer: (name: string) => Float32Array): void {
  binding.adamStep({
    p,
    g,
    m: buffer('expAvg'),
    v: buffer('expAvgSq'),
    vmax: group.amsgrad ? buffer('maxExpAvgSq') : null,
    lr: group.lr,
    beta1: group.betas[0],
    beta2: group.betas[1],
    eps: group.eps,
    weightDecay: group.weightDecay,
    decoupled,
    step: state.step,
  });
}

/** Adam (Kingma & Ba), with PyTorch's update rule; weight decay is added to the gradient. */
export class Adam extends Optimizer<AdamOptions> {
  /**
   * @param params - The parameters to update (`model.parameters()`), or parameter groups with their
   *   own hyperparameters.
   * @param opts - {@link AdamOptions}, the defaults of every group.
   * @throws {@link ValidationError} when a hyperparameter is out of range.
   * @example
   * ```ts
   * const opt = new eddy.optim.Adam(model.parameters(), { lr: 3e-3 });
   * opt.zeroGrad();
   * eddy.backward([loss]);
   * opt.step();
   * ```
   */
  constructor(params: Iterable<ParamLike> | ParamGroupInput<AdamOptions>[], opts: Partial<AdamOptions> = {}) {
    super('Adam', params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false }, opts);
  }

  protected validate(g: ParamGroup<AdamOptions>, where: string): void {
    validateAdam(g, where);
  }

  protected update(p: Float32Array, g: Float32Array, group: ParamGroup<AdamOptions>, state: ParamState): void {
    adamUpdate(false, p, g, group, state, (name) => this.buffer(state, name, p.length));
  }
}

/** AdamW (Loshchilov & Hutter): Adam with weight decay applied to the weights, PyTorch's rule and defaults. */
export class AdamW extends Optimizer<AdamOptions> {
  /**
   * @param params - The parameters to update (`model.parameters()`), or parameter groups with their
   *   own hyperparameters.
   * @param opts - {@link AdamOptions}, the defaults of every group.
   * @throws {@link ValidationError} when a hyperparameter is out of range.
   */
  constructor(params: Iterable<ParamLike> | ParamGroupInput<AdamOptions>[], opts: Partial<AdamOptions> = {}) {
    super('AdamW', params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false }, opts);
  }

  protected validate(g: ParamGroup<AdamOptions>, where: string): void {
    validateAdam(g, where);
  }

  protected update(p: Float32Array, g: Float32Array, group: ParamGroup<AdamOptions>, state: ParamState): void {
    adamUpdate(true, p, g, group, state, (name) => this.buffer(state, name, p.length));
  }
}
