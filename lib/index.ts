/**
 * Eddy: recurrent neural networks for Node.js on native kernels.
 */
export { EddyError, ShapeError, ValidationError, FormatError, NativeLoadError } from './errors';
export { Tensor, tensor, zeros } from './tensor/tensor';
export type { TensorOptions, NestedArray, DType } from './tensor/tensor';
export { matmul, matmulAsync } from './ops/matmul';
export { add, sub, mul, div, neg } from './ops/arithmetic';
export type { Operand } from './ops/arithmetic';
export { tanh, sigmoid, relu, exp, log, square, pow } from './ops/unary';
export { sum, mean } from './ops/reductions';
export { reshape, transpose, slice, select } from './ops/views';
export { concat, stack } from './ops/join';
export { backward, noGrad, isGradEnabled, record, GradNode } from './autograd/tape';
export type { BackwardFn, BackwardOptions } from './autograd/tape';
export { setNumThreads, getNumThreads } from './runtime/threads';
export { runtimeInfo } from './runtime/info';
export { RNN, LSTM, GRU } from './layers/recurrent';
export type { RecurrentOptions, RNNOptions, LSTMOptions, GRUOptions, RecurrentState, RecurrentOutput } from './layers/recurrent';
export { Module } from './nn/module';
export type { StateValue } from './nn/module';
export { Parameter } from './nn/parameter';
export { Generator, manualSeed } from './random';
export * as optim from './optim';
export { clipGradNorm, clipGradValue } from './optim/clip';
export { softmax, logSoftmax } from './ops/softmax';
export { gelu } from './ops/unary';
export { Linear, Linear as Dense } from './layers/linear';
export type { LinearOptions } from './layers/linear';
export { Embedding } from './layers/embedding';
export type { EmbeddingOptions } from './layers/embedding';
export { Dropout } from './layers/dropout';
export type { DropoutOptions } from './layers/dropout';
export { LayerNorm } from './layers/layer-norm';
export type { LayerNormOptions } from './layers/layer-norm';
export { Tanh, Sigmoid, ReLU, GELU, Softmax, LogSoftmax } from './layers/activations';
