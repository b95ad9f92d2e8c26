/** Loading the PyTorch reference results (test/fixtures/reference, schema in its README) into Eddy layers. */
import * as fs from 'fs';
import * as path from 'path';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';

export const REFERENCE_DIR = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'reference');

interface RefTensor {
  shape: number[];
  data: number[];
}

export interface Reference {
  name: string;
  module: 'LSTM' | 'GRU' | 'RNN';
  config: { input_size: number; hidden_size: number; num_layers: number; bidirectional: boolean; nonlinearity: string | null; bias: boolean };
  seq_len: number;
  batch: number;
  lengths: number[] | null;
  weights: Record<string, RefTensor>;
  input: RefTensor;
  h0?: RefTensor;
  c0?: RefTensor;
  output: RefTensor;
  h_n: RefTensor;
  c_n?: RefTensor;
  loss: { weights: { output: RefTensor; h_n: RefTensor; c_n?: RefTensor } };
  grads: Record<string, RefTensor>;
}

export function loadReferences(): Reference[] {
  return fs
    .readdirSync(REFERENCE_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(REFERENCE_DIR, f), 'utf8')) as Reference);
}

export function toTensor(t: RefTensor, requiresGrad = false): Tensor {
  const out = eddy.tensor(Float32Array.from(t.data), t.shape);
  out.requiresGrad = requiresGrad;
  return out;
}

/** An Eddy layer with the reference's configuration and weights (time-major, like the reference). */
export function layerFor(ref: Reference, batchFirst = false): eddy.RNN | eddy.LSTM | eddy.GRU {
  const c = ref.config;
  const opts = { inputSize: c.input_size, hiddenSize: c.hidden_size, numLayers: c.num_layers, bidirectional: c.bidirectional, bias: c.bias, batchFirst };
  const layer =
    ref.module === 'LSTM' ? new eddy.LSTM(opts) : ref.module === 'GRU' ? new eddy.GRU(opts) : new eddy.RNN({ ...opts, nonlinearity: c.nonlinearity as 'tanh' | 'relu' });
  const state: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(ref.weights)) state[k] = Float32Array.from(v.data);
  layer.loadStateDict(state);
  return layer;
}
