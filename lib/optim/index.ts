/**
 * `eddy.optim`: optimizers with PyTorch's update rules, and learning-rate
 * schedules.
 */
export { Optimizer } from './optimizer';
export type { ParamLike, ParamGroup, ParamGroupInput, ParamState, OptimizerStateDict } from './optimizer';
export { SGD } from './sgd';
export type { SGDOptions } from './sgd';
export { Adam, AdamW } from './adam';
export type { AdamOptions } from './adam';
export { RMSprop } from './rmsprop';
export type { RMSpropOptions } from './rmsprop';
export { Adagrad } from './adagrad';
export type { AdagradOptions } from './adagrad';
export { clipGradNorm, clipGradValue } from './clip';
export type { ClipGradNormOptions } from './clip';
export { LRScheduler, StepLR, ExponentialLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, OneCycleLR, LinearLR, LinearLR as LinearWarmup, ReduceLROnPlateau } from './schedules';
export type {
  LrGroup, LrTarget, SchedulerStateDict, StepLROptions, ExponentialLROptions, CosineAnnealingLROptions, CosineAnnealingWarmRestartsOptions,
  OneCycleLROptions, LinearLROptions, ReduceLROnPlateauOptions,
} from './schedules';
