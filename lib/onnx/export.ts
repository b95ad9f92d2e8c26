/**
 * ONNX export of sequential models built from Embedding, RNN/LSTM/GRU,
 * Bidirectional, Linear, Dropout and activations. Recurrent layers become
 * ONNX's own RNN/LSTM/GRU operators (time-major, with `sequence_lens` for
 * variable lengths), with weights reordered to ONNX's gate orders: LSTM
 * i, o, f, c (PyTorch i, f, g, o) and GRU z, r, h (PyTorch r, z, n),
 * `linear_before_reset` carrying GRU's resetAfter.
 */
import { EddyError } from '../errors';
import { writeFileAtomic } from '../io/atomic-write';
import { Activation } from '../layers/activations';
import { Bidirectional } from '../layers/bidirectional';
import { Dropout } from '../layers/dropout';
import { Embedding } from '../layers/embedding';
import { Linear } from '../layers/linear';
import { GRU, LSTM, RNN } from '../layers/recurrent';
import { Sequential } from '../model/sequential';
import { Module } from '../nn/module';
import { checkBoolean, checkInteger, checkOptions, optionKeys } from '../validate';
import { AttributeType, DataType, ModelProto } from './schema';

export interface OnnxExportOptions {
  /** Features per step of the float input (ignored when the model starts with an Embedding). @default the first layer's input size */
  inputSize?: number;
  /** Add an int32 `lengths` input [batch] feeding every recurrent operator's sequence_lens. @default true */
  lengths?: boolean;
  /** ONNX opset, at least 13. @default 17 */
  opset?: number;
}

/** The keys of OnnxExportOptions, for checkOptions. */
export const ONNX_EXPORT_OPTION_KEYS = optionKeys<OnnxExportOptions>({ inputSize: true, lengths: true, opset: true });

type Recurrent = RNN | LSTM | GRU;

interface Attribute {
  name: string;
  type: number;
  i?: number;
  s?: Uint8Array;
  strings?: Uint8Array[];
  ints?: number[];
}

/** Builds the graph: nodes, initializers, and the name of the running value. */
class GraphBuilder {
  readonly nodes: object[] = [];
  readonly initializers: object[] = [];
  private count = 0;

  name(prefix: string): string {
    return `${prefix}_${this.count++}`;
  }

  node(opType: string, inputs: string[], outputs: string[], attributes: Attribute[] = []): void {
    this.nodes.push({ opType, input: inputs, output: outputs, name: this.name(opType), attribute: attributes });
  }

  /** One op with one output; returns the output's name. */
  op(opType: string, inputs: string[], attributes: Attribute[] = []): string {
    const out = this.name(opType.toLowerCase());
    this.node(opType, inputs, [out], attributes);
    return out;
  }

  floats(prefix: string, dims: number[], data: Float32Array): string {
    const name = this.name(prefix);
    this.initializers.push({ name, dims, dataType: DataType.FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice() });
    return name;
  }

  int64s(prefix: string, values: number[]): string {
    const name = this.name(prefix);
    const data = new BigInt64Array(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [values.length], dataType: DataType.INT64, rawData: new Uint8Array(data.buffer).slice() });
    return name;
  }
}

const ints = (name: string, values: number[]): Attribute => ({ name, type: AttributeType.INTS, ints: values });
const int = (name: string, value: number): Attribute => ({ name, type: AttributeType.INT, i: value });
const str = (name: string, value: string): Attribute => ({ name, type: AttributeType.STRING, s: Buffer.from(value) });
const strs = (name: string, values: string[]): Attribute => ({ name, type: AttributeType.STRINGS, strings: values.map((v) => Buffer.from(v)) });

/** Rows of a [G·H, …] matrix (or [G·H] vector) regrouped by gate: out block k = in block order[k]. */
function reorderGates(data: Float32Array, gates: number, order: readonly number[]): Float32Array {
  const block = data.length / gates;
  const out = new Float32Array(data.length);
  order.forEach((from, to) => out.set(data.subarray(from * block, (from + 1) * block), to * block));
  return out;
}

const GATE_ORDER = { LSTM: [0, 3, 1, 2], GRU: [1, 0, 2], RNN: [0] } as const;

function cellName(layer: Recurrent): 'LSTM' | 'GRU' | 'RNN' {
  return layer instanceof LSTM ? 'LSTM' : layer instanceof GRU ? 'GRU' : 'RNN';
}

/** One ONNX recurrent operator for one layer of `directions` (1 or 2, each a layer l of a recurrent module). */
function recurrentOp(g: GraphBuilder, x: string, lengths: string, directions: { layer: Recurrent; l: number; reverse: boolean }[]): string {
  const first = directions[0].layer;
  const cell = cellName(first);
  const G = cell === 'LSTM' ? 4 : cell === 'GRU' ? 3 : 1;
  const H = first.hiddenSize;
  const W: Float32Array[] = [], R: Float32Array[] = [], B: Float32Array[] = [];
  for (const { layer, l, reverse } of directions) {
    if (layer.layerNorm) throw new EddyError(`ONNX has no layer-normalized ${cell}; ${layer.toString()} cannot be exported`, 'ERR_EDDY_ONNX');
    const state = layer.stateDict();
    const sfx = `_l${l}${reverse ? '_reverse' : ''}`;
    const order = GATE_ORDER[cell];
    W.push(reorderGates(state[`weight_ih${sfx}`].toFloat32Array(), G, order));
    R.push(reorderGates(state[`weight_hh${sfx}`].toFloat32Array(), G, order));
    const bias = new Float32Array(2 * G * H);
    if (state[`bias_ih${sfx}`]) {
      bias.set(reorderGates(state[`bias_ih${sfx}`].toFloat32Array(), G, order), 0);
      bias.set(reorderGates(state[`bias_hh${sfx}`].toFloat32Array(), G, order), G * H);
    }
    B.push(bias);
  }
  const D = directions.length;
  const concat = (parts: Float32Array[]): Float32Array => {
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  const inSize = W[0].length / (G * H);
  const attrs: Attribute[] = [int('hidden_size', H), str('direction', D === 2 ? 'bidirectional' : 'forward')];
  for (const { layer } of directions) {
    if (cellName(layer) !== cell || layer.hiddenSize !== H || (cell === 'GRU' && (layer as GRU).resetAfter !== (first as GRU).resetAfter)) {
      throw new EddyError(`ONNX needs both directions of one operator to be the same cell; ${first.toString()} and ${layer.toString()} differ`, 'ERR_EDDY_ONNX');
    }
  }
  if (cell === 'GRU') attrs.push(int('linear_before_reset', (first as GRU).resetAfter ? 1 : 0));
  if (cell === 'RNN') attrs.push(strs('activations', directions.map(({ layer }) => ((layer as RNN).nonlinearity === 'relu' ? 'Relu' : 'Tanh'))));
  const inputs = [x, g.floats('W', [D, G * H, inSize], concat(W)), g.floats('R', [D, G * H, H], concat(R)), g.floats('B', [D, 2 * G * H], concat(B)), lengths];
  const y = g.name('y');
  const outputs = cell === 'LSTM' ? [y, g.name('y_h'), g.name('y_c')] : [y, g.name('y_h')];
  g.node(cell, inputs, outputs, attrs);
  // Y [T, D, B, H] → [T, B, D, H] → [T, B, D·H]
  const swapped = g.op('Transpose', [y], [ints('perm', [0, 2, 1, 3])]);
  return g.op('Reshape', [swapped, g.int64s('shape', [0, 0, -1])]);
}

function flatLayers(model: Module): Module[] {
  return model instanceof Sequential ? [...model.layers] : [model];
}

/** The ONNX model for `model`, as bytes. */
export function toOnnx(model: Module, opts: OnnxExportOptions = {}): Uint8Array {
  const o = checkOptions('opts', opts, ONNX_EXPORT_OPTION_KEYS);
  // Softmax and LogSoftmax take one axis only from opset 13 on.
  const opset = checkInteger('opts.opset', o.opset ?? 17, 13, 100);
  const layers = flatLayers(model).filter((l) => !(l instanceof Dropout));
  if (layers.length === 0) throw new EddyError('Nothing to export: the model has no layers', 'ERR_EDDY_ONNX');
  const g = new GraphBuilder();
  const withLengths = checkBoolean('opts.lengths', o.lengths ?? true) && layers.some((l) => l instanceof RNN || l instanceof LSTM || l instanceof GRU || l instanceof Bidirectional);
  const embeddingFirst = layers[0] instanceof Embedding;
  const head = layers[0] instanceof Bidirectional ? (layers[0].forwardLayer as Recurrent) : (layers[0] as { inputSize?: number; inFeatures?: number });
  const expectedInput = (head as { inputSize?: number }).inputSize ?? (head as { inFeatures?: number }).inFeatures;
  if (o.inputSize !== undefined && expectedInput !== undefined && o.inputSize !== expectedInput) {
    throw new EddyError(`Expected opts.inputSize ${expectedInput} (the first layer's input size) but received ${String(o.inputSize)}`, 'ERR_EDDY_ONNX');
  }
  const inputSize = expectedInput ?? o.inputSize;
  const dim = (v: number | string): object => (typeof v === 'number' ? { dimValue: v } : { dimParam: v });
  const valueInfo = (name: string, elemType: number, dims: (number | string)[]): object => ({ name, type: { tensorType: { elemType, shape: { dim: dims.map(dim) } } } });
  const inputs = [embeddingFirst ? valueInfo('input', DataType.INT64, ['batch', 'time']) : valueInfo('input', DataType.FLOAT, ['batch', 'time', inputSize ?? 'features'])];
  if (withLengths) inputs.push(valueInfo('lengths', DataType.INT32, ['batch']));
  const lengths = withLengths ? 'lengths' : '';

  let x = 'input';
  let timeMajor = false;
  const toBatchMajor = (): void => {
    if (timeMajor) x = g.op('Transpose', [x], [ints('perm', [1, 0, 2])]);
    timeMajor = false;
  };
  for (const layer of layers) {
    if (layer instanceof Embedding) {
      x = g.op('Gather', [g.floats('embedding', [layer.numEmbeddings, layer.embeddingDim], layer.weight.data.toFloat32Array()), x]);
    } else if (layer instanceof RNN || layer instanceof LSTM || layer instanceof GRU) {
      if (!layer.batchFirst) throw new EddyError(`Export needs batch-first recurrent layers; ${layer.toString()} is time-major`, 'ERR_EDDY_ONNX');
      if (!timeMajor) x = g.op('Transpose', [x], [ints('perm', [1, 0, 2])]);
      timeMajor = true;
      for (let l = 0; l < layer.numLayers; l++) {
        const dirs = [{ layer, l, reverse: false }];
        if (layer.bidirectional) dirs.push({ layer, l, reverse: true });
        x = recurrentOp(g, x, lengths, dirs);
      }
    } else if (layer instanceof Bidirectional) {
      const forwardLayer = layer.forwardLayer as Recurrent, backwardLayer = layer.backwardLayer as Recurrent;
      if (!forwardLayer.batchFirst || !backwardLayer.batchFirst) {
        throw new EddyError(`Export needs batch-first recurrent layers; ${layer.toString()} wraps a time-major one`, 'ERR_EDDY_ONNX');
      }
      if (layer.mergeMode !== 'concat' || forwardLayer.numLayers !== 1 || backwardLayer.numLayers !== 1) {
        throw new EddyError(`Export supports Bidirectional with mergeMode 'concat' around one-layer cells; received ${layer.toString()}`, 'ERR_EDDY_ONNX');
      }
      if (!timeMajor) x = g.op('Transpose', [x], [ints('perm', [1, 0, 2])]);
      timeMajor = true;
      // The backward copy's weights play ONNX's reverse direction.
      const backwardAsReverse = { layer: backwardLayer, l: 0, reverse: false };
      x = recurrentOp(g, x, lengths, [{ layer: forwardLayer, l: 0, reverse: false }, backwardAsReverse]);
    } else if (layer instanceof Linear) {
      toBatchMajor();
      x = g.op('MatMul', [x, g.floats('weight_t', [layer.inFeatures, layer.outFeatures], layer.weight.data.T.toFloat32Array())]);
      if (layer.bias) x = g.op('Add', [x, g.floats('bias', [layer.outFeatures], layer.bias.data.toFloat32Array())]);
    } else if (layer instanceof Activation) {
      toBatchMajor();
      const op = ACTIVATIONS[layer.constructor.name];
      if (!op) throw new EddyError(`No ONNX operator for ${layer.toString()}`, 'ERR_EDDY_ONNX');
      x = g.op(op, [x], op === 'Softmax' || op === 'LogSoftmax' ? [int('axis', (layer as unknown as { dim: number }).dim)] : []);
    } else {
      throw new EddyError(`Export does not support ${layer.toString()} yet (supported: Embedding, RNN, LSTM, GRU, Bidirectional, Linear, Dropout, Tanh, Sigmoid, ReLU, Softmax, LogSoftmax)`, 'ERR_EDDY_ONNX');
    }
  }
  toBatchMajor();
  g.node('Identity', [x], ['output']);
  const proto = ModelProto.create({
    irVersion: 8,
    producerName: 'eddy-rnn',
    graph: { name: 'eddy', node: g.nodes, initializer: g.initializers, input: inputs, output: [{ name: 'output', type: { tensorType: { elemType: DataType.FLOAT } } }] },
    opsetImport: [{ domain: '', version: opset }],
  });
  return ModelProto.encode(proto).finish();
}

const ACTIVATIONS: Record<string, string> = { Tanh: 'Tanh', Sigmoid: 'Sigmoid', ReLU: 'Relu', Softmax: 'Softmax', LogSoftmax: 'LogSoftmax' };

/** Writes `model` as an ONNX file (atomically). */
export async function exportOnnx(model: Module, path: string, opts?: OnnxExportOptions): Promise<void> {
  await writeFileAtomic(path, toOnnx(model, opts));
}
