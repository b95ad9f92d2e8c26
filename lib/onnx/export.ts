/**
 * ONNX export of sequential and functional models (graphs: see
 * `graph-export.ts`). Each layer class lowers itself (its
 * registration's `onnx`, see `nn/onnx-lowering.ts`): recurrent layers
 * become ONNX's own RNN/LSTM/GRU operators, time-major with
 * `sequence_lens`, and a run of them transposes back only when a
 * batch-major layer follows; attention and transformer layers become
 * MatMul/Softmax graphs with LayerNormalization (opset 17). This file owns the graph's inputs and output,
 * the protobuf schema and the file.
 */
import { EddyError } from '../errors';
import { writeFileAtomic } from '../io/atomic-write';
import { Bidirectional } from '../layers/bidirectional';
import { Dropout } from '../layers/dropout';
import { Embedding } from '../layers/embedding';
import { Sequential } from '../model/sequential';
import { Module } from '../nn/module';
import { batchMajor, lowerLayer, OnnxAttribute, OnnxGraph, OnnxValue } from '../nn/onnx-lowering';
import { checkBoolean, checkInteger, checkOptions, optionKeys } from '../validate';
import { DataType, modelProto } from './schema';
import { lowerGraph, valueInfo } from './graph-export';
import { GraphModel } from '../model/functional';

/** The options of {@link toOnnx} and {@link exportOnnx}. */
export interface OnnxExportOptions {
  /** Features per step of the float input (ignored when the model starts with an Embedding). @default the first layer's input size */
  inputSize?: number;
  /**
   * Add an int32 `lengths` input [batch] (one per input of a functional
   * model) for the layers that mask with it: recurrent operators'
   * sequence_lens, attention's padded keys, pooling. Declared only where
   * some layer uses it. @default true
   */
  lengths?: boolean;
  /** ONNX opset, at least 13. @default 17 */
  opset?: number;
}

/** The keys of OnnxExportOptions, for checkOptions. */
export const ONNX_EXPORT_OPTION_KEYS = optionKeys<OnnxExportOptions>({ inputSize: true, lengths: true, opset: true });

/** Builds the graph: nodes, initializers, and the name of the running value. */
class GraphBuilder implements OnnxGraph {
  readonly nodes: object[] = [];
  readonly initializers: object[] = [];
  private count = 0;

  name(prefix: string): string {
    return `${prefix}_${this.count++}`;
  }

  node(opType: string, inputs: string[], outputs: string[], attributes: OnnxAttribute[] = []): void {
    this.nodes.push({ opType, input: inputs, output: outputs, name: this.name(opType), attribute: attributes });
  }

  /** One op with one output; returns the output's name. */
  op(opType: string, inputs: string[], attributes: OnnxAttribute[] = []): string {
    const out = this.name(opType.toLowerCase());
    this.node(opType, inputs, [out], attributes);
    return out;
  }

  floats(prefix: string, dims: number[], data: Float32Array): string {
    const name = this.name(prefix);
    this.initializers.push({ name, dims, dataType: DataType.FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice() });
    return name;
  }

  scalar(prefix: string, value: number, type: 'int64' | 'float'): string {
    const name = this.name(prefix);
    const data = type === 'int64' ? new BigInt64Array([BigInt(value)]) : new Float32Array([value]);
    this.initializers.push({ name, dims: [], dataType: type === 'int64' ? DataType.INT64 : DataType.FLOAT, rawData: new Uint8Array(data.buffer).slice() });
    return name;
  }

  int64s(prefix: string, values: number[]): string {
    const name = this.name(prefix);
    const data = new BigInt64Array(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [values.length], dataType: DataType.INT64, rawData: new Uint8Array(data.buffer).slice() });
    return name;
  }
}

function flatLayers(model: Module): Module[] {
  return model instanceof Sequential ? [...model.layers] : [model];
}

/**
 * The ONNX model for `model`, as bytes.
 * @param model - A sequential model or a single layer, of layers with an ONNX lowering.
 * @param opts - {@link OnnxExportOptions}.
 * @throws {@link EddyError} (code ERR_EDDY_ONNX) when a layer cannot be exported or the options do
 *   not fit the model.
 */
export function toOnnx(model: Module, opts: OnnxExportOptions = {}): Uint8Array {
  const o = checkOptions('opts', opts, ONNX_EXPORT_OPTION_KEYS);
  // Softmax and LogSoftmax take one axis only from opset 13 on.
  const opset = checkInteger('opts.opset', o.opset ?? 17, 13, 100);
  if (model instanceof GraphModel) {
    if (o.inputSize !== undefined) throw new EddyError('Expected no opts.inputSize for a functional model: its inputs declare their shapes', 'ERR_EDDY_ONNX');
    const g = new GraphBuilder();
    const { inputs, outputs } = lowerGraph(model, g, checkBoolean('opts.lengths', o.lengths ?? true), opset);
    return encodeModel(g, inputs, outputs, opset);
  }
  const layers = flatLayers(model).filter((l) => !(l instanceof Dropout));
  if (layers.length === 0) throw new EddyError('Nothing to export: the model has no layers', 'ERR_EDDY_ONNX');
  const g = new GraphBuilder();
  const withLengths = checkBoolean('opts.lengths', o.lengths ?? true);
  const embeddingFirst = layers[0] instanceof Embedding;
  const head = layers[0] instanceof Bidirectional ? layers[0].forwardLayer : (layers[0] as { inputSize?: number; inFeatures?: number });
  const expectedInput = (head as { inputSize?: number }).inputSize ?? (head as { inFeatures?: number }).inFeatures;
  if (o.inputSize !== undefined && expectedInput !== undefined && o.inputSize !== expectedInput) {
    throw new EddyError(`Expected opts.inputSize ${expectedInput} (the first layer's input size) but received ${String(o.inputSize)}`, 'ERR_EDDY_ONNX');
  }
  const inputSize = expectedInput ?? o.inputSize;
  const inputs = [embeddingFirst ? valueInfo('input', DataType.INT64, ['batch', 'time']) : valueInfo('input', DataType.FLOAT, ['batch', 'time', inputSize ?? 'features'])];
  const lengths = withLengths ? 'lengths' : '';

  let x: OnnxValue = { name: 'input', timeMajor: false };
  for (const layer of layers) x = lowerLayer(layer, x, { graph: g, lengths, opset });
  g.node('Identity', [batchMajor(x, g).name], ['output']);
  // Declared where some layer masks with it (a recurrent operator's sequence_lens, attention's padded keys).
  if (g.nodes.some((n) => (n as { input: string[] }).input.includes('lengths'))) inputs.push(valueInfo('lengths', DataType.INT32, ['batch']));
  return encodeModel(g, inputs, ['output'], opset);
}

/** The ModelProto bytes of a built graph with float outputs. */
function encodeModel(g: GraphBuilder, inputs: object[], outputs: string[], opset: number): Uint8Array {
  const modelType = modelProto();
  const proto = modelType.create({
    irVersion: 8,
    producerName: 'eddy-rnn',
    graph: { name: 'eddy', node: g.nodes, initializer: g.initializers, input: inputs, output: outputs.map((name) => ({ name, type: { tensorType: { elemType: DataType.FLOAT } } })) },
    opsetImport: [{ domain: '', version: opset }],
  });
  return modelType.encode(proto).finish();
}

/**
 * Writes `model` as an ONNX file (atomically).
 * @param model - A sequential model or a single layer, of layers with an ONNX lowering.
 * @param path - The file to write.
 * @param opts - {@link OnnxExportOptions}.
 * @throws {@link EddyError} (code ERR_EDDY_ONNX) when a layer cannot be exported or the options do
 *   not fit the model.
 * @throws {@link FileError} when the file cannot be written.
 * @example
 * ```ts
 * await eddy.onnx.export(model, 'model.onnx', { opset: 17 });
 * ```
 */
export async function exportOnnx(model: Module, path: string, opts?: OnnxExportOptions): Promise<void> {
  await writeFileAtomic(path, toOnnx(model, opts));
}
