/** `eddy.init`: the initializers of `nn/init` and those that know a layer class. */
export * from '../nn/init';
export { lstmForgetBias } from './lstm-forget-bias';
