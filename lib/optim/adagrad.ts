import { binding } from '../native';
import { checkHyper, Optimizer, ParamGroup, ParamGroupInput, ParamLike, ParamState } from './optimizer';

/**
 * The hyperparameters of {@link Adagrad} (each optional in the constructor, and settable per
 * parameter group).
 */
export interface AdagradOptions {
  /** Learning rate. @default 1e-2 */
  lr: number;
  /** Learning-rate decay: lr / (1 + (step − 1)·lrDecay). @default 0 */
  lrDecay: number;
  /** L2 penalty added to the gradient. @default 0 */
  weightDecay: number;
  /** Starting value of the squared-gradient sums. @default 0 */
  initialAccumulatorValue: number;
  /** Added to the denominator for numerical stability. @default 1e-10 */
  eps: number;
}

/** Adagrad with PyTorch's update rule. */
export class Adagrad extends Optimizer<AdagradOptions> {
  /**
   * @param params - The parameters to update (`model.parameters()`), or parameter groups with their
   *   own hyperparameters.
   * @param opts - {@link AdagradOptions}, the defaults of every group.
   * @throws {@link ValidationError} when a hyperparameter is out of range.
   */
  constructor(params: Iterable<ParamLike> | ParamGroupInput<AdagradOptions>[], opts: Partial<AdagradOptions> = {}) {
    super('Adagrad', params, { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10 }, opts);
  }

  protected validate(g: ParamGroup<AdagradOptions>, where: string): void {
    checkHyper(where, 'lr', g.lr);
    checkHyper(where, 'lrDecay', g.lrDecay);
    checkHyper(where, 'weightDecay', g.weightDecay);
    checkHyper(where, 'initialAccumulatorValue', g.initialAccumulatorValue);
    checkHyper(where, 'eps', g.eps);
  }

  protected update(p: Float32Array, g: Float32Array, group: ParamGroup<AdagradOptions>, state: ParamState): void {
    binding.adagradStep({
      p,
      g,
      sum: this.buffer(state, 'sum', p.length, group.initialAccumulatorValue),
      lr: group.lr,
      lrDecay: group.lrDecay,
      weightDecay: group.weightDecay,
      eps: group.eps,
      step: state.step,
    });
  }
}
