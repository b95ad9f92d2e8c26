/**
 * `eddy.losses`: loss functions with PyTorch's definitions and defaults.
 * Each records one autograd node; all take `{ reduction: 'mean' | 'sum' | 'none' }`.
 */
export { mse, mae, huber } from './regression';
export type { RegressionLossOptions, HuberOptions } from './regression';
export { crossEntropy } from './cross-entropy';
export type { CrossEntropyOptions } from './cross-entropy';
export type { ClassIndices, SequenceLengths } from './class-targets';
export { binaryCrossEntropyWithLogits } from './binary-cross-entropy';
export type { BinaryCrossEntropyOptions } from './binary-cross-entropy';
export { ctc } from './ctc';
export type { CtcOptions, CtcTargets } from './ctc';
export type { Reduction } from './reduction';
