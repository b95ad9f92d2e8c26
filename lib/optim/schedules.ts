/**
 * Learning-rate schedules with PyTorch's formulas (`torch.optim.lr_scheduler`).
 *
 * A schedule drives any object with `paramGroups: { lr }[]` (Eddy's
 * optimizers, or your own). Like PyTorch, constructing one records each
 * group's `initialLr` (unless already set) and performs step 0; each
 * `step()` then sets every `group.lr`. Where PyTorch has a closed form the
 * lr is computed from the base lr and the step count — never from the
 * previous lr — so a schedule does not drift, and resuming from
 * `stateDict()` is exact. (The flip side: changes made to `group.lr` by
 * hand are overwritten at the next step, not built upon.)
 */
export { LRScheduler } from './schedules/scheduler';
export type { LrGroup, LrTarget, SchedulerStateDict } from './schedules/scheduler';
export { StepLR, ExponentialLR, CosineAnnealingLR, LinearLR } from './schedules/closed-form';
export type { StepLROptions, ExponentialLROptions, CosineAnnealingLROptions, LinearLROptions } from './schedules/closed-form';
export { CosineAnnealingWarmRestarts } from './schedules/warm-restarts';
export type { CosineAnnealingWarmRestartsOptions } from './schedules/warm-restarts';
export { OneCycleLR } from './schedules/one-cycle';
export type { OneCycleLROptions } from './schedules/one-cycle';
export { ReduceLROnPlateau } from './schedules/plateau';
export type { ReduceLROnPlateauOptions } from './schedules/plateau';
