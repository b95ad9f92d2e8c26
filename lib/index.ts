/**
 * Eddy: recurrent neural networks for Node.js on native kernels.
 */
export { EddyError, ShapeError, ValidationError, FormatError, NativeLoadError } from './errors';
export { Tensor, tensor, zeros } from './tensor/tensor';
export type { TensorOptions, NestedArray, DType } from './tensor/tensor';
export { matmul, matmulAsync } from './ops/matmul';
export { setNumThreads, getNumThreads } from './runtime/threads';
export { runtimeInfo } from './runtime/info';
