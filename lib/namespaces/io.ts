/**
 * The `eddy.io` namespace: everything in `io/` (model files, checkpoints,
 * PyTorch and Keras weights) plus `ModelCheckpoint`, which lives with the
 * other training callbacks in `model/` and is also exported at the top
 * level. `io/` itself knows modules and optimizers, never models, so a
 * model can save itself without a cycle.
 */
export * from '../io';
export { ModelCheckpoint } from '../model/checkpoint-callback';
export type { ModelCheckpointOptions } from '../model/checkpoint-callback';
