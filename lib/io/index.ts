/**
 * `eddy.io`: model files (safetensors), checkpoints, and weights from
 * PyTorch and Keras. `eddy.save`, `eddy.load` and `eddy.describeModelFile`
 * are also exported at the top level.
 */
export { save, load, loadModelFile, loadWeights, readStateDict, encodeModel, decodeModel, FORMAT_VERSION } from './model-file';
export type { SaveOptions, LoadedModel } from './model-file';
export { describeModelFile } from './describe';
export type { ModelFileInfo } from './describe';
export { saveCheckpoint, loadCheckpoint } from './checkpoint';
export type { CheckpointState, RestoreTargets, LoadedCheckpoint, Stateful } from './checkpoint';
export { encodeSafetensors, decodeSafetensors, entryToFloat32, MAX_HEADER_BYTES } from './safetensors';
export type { SafetensorsContents, SafetensorsEntry, SafetensorsDType, TensorToWrite } from './safetensors';
export { writeFileAtomic } from './atomic-write';
export { fromKeras, kerasToStateDict } from './keras';
export type { KerasArray, KerasCell, KerasImportOptions, KerasRecurrentWeights } from './keras';
