// A TypeScript consumer compiled with `tsc --noEmit` against the installed
// package's declarations: the public types must be complete and resolvable.
import { LSTM, Sequential, Linear, tensor, optim, type Tensor, type LSTMOptions, type FitOptions, NativeLoadError } from 'eddy-rnn';

const opts: LSTMOptions = { inputSize: 8, hiddenSize: 16, numLayers: 2 };
const lstm = new LSTM(opts);
const x: Tensor = tensor(new Float32Array(4 * 8), [1, 4, 8]);
const y: Tensor = lstm.forward(x).output;
const head = new Linear({ inFeatures: 16, outFeatures: 2 });
const model = new Sequential([head]);
const adam = new optim.Adam(model.parameters(), { lr: 1e-3 });
const fit: FitOptions = { epochs: 1, loss: 'mse' };
const shape: readonly number[] = y.shape;
const isLoadError = (e: unknown): e is NativeLoadError => e instanceof NativeLoadError;
export { adam, fit, shape, isLoadError };
