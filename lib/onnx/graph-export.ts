/**
 * ONNX export of functional graphs: every model input becomes a graph
 * input (`input`, or `input_0`, `input_1`, … for several), with an int32
 * [batch] lengths input beside each one whose lengths some layer masks
 * with (`lengths` or `lengths_0`, …). Lengths travel through the graph by
 * the layers' own rules (the registry's `LengthsRule`, as in the model's
 * forward): a recurrent operator gets its input's as sequence_lens, an
 * attention layer masks its keys with theirs (a transformer decoder its
 * memory with the memory's), and where sequences are joined the lengths
 * are their elementwise Min.
 */
import { Embedding } from '../layers/embedding';
import { GraphModel } from '../model/functional';
import { batchMajor, lowerLayer, onnxError, OnnxGraph, OnnxValue } from '../nn/onnx-lowering';
import { lengthsFlow } from '../nn/registry';
import { GraphNode, SymbolicTensor } from '../nn/symbolic';
import { DataType } from './schema';

/** A graph input or output declaration (ValueInfoProto). */
export function valueInfo(name: string, elemType: number, dims: (number | string)[]): object {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((v) => (typeof v === 'number' ? { dimValue: v } : { dimParam: v })) } } } };
}

/** Appends the nodes of `model` to `g`; returns the graph's input declarations and its output names. */
export function lowerGraph(model: GraphModel, g: OnnxGraph & { nodes: object[] }, withLengths: boolean, opset: number): { inputs: object[]; outputs: string[] } {
  const single = model.inputs.length === 1;
  const inputName = (i: number): string => (single ? 'input' : `input_${i}`);
  const lengthsName = (i: number): string => (single ? 'lengths' : `lengths_${i}`);
  // Each lengths tensor is stood for by a marker array, so the layers' rules (written for real lengths) can route them.
  const markers = new Map<Int32Array, string>();
  const marker = (name: string): Int32Array => {
    const m = new Int32Array(1);
    markers.set(m, name);
    return m;
  };
  const values = new Map<SymbolicTensor, OnnxValue>();
  const lengthsOfInput = new Map<SymbolicTensor, Int32Array | undefined>();
  model.inputs.forEach((sym, i) => {
    values.set(sym, { name: inputName(i), timeMajor: false });
    lengthsOfInput.set(sym, withLengths && sym.shape![0] === null ? marker(lengthsName(i)) : undefined);
  });
  const results = new Map<GraphNode, OnnxValue>();
  const flows = new Map<GraphNode, ReturnType<typeof lengthsFlow>>();
  const lengthsOf = (sym: SymbolicTensor): Int32Array | undefined => (sym.node ? flows.get(sym.node)!.output(sym.key) : lengthsOfInput.get(sym));
  const valueOf = (sym: SymbolicTensor): OnnxValue => {
    if (!sym.node) return values.get(sym)!;
    const result = results.get(sym.node)!;
    if (sym.key === undefined || sym.key === 'output' || sym.key === 'context') return result;
    const part = result.parts?.[sym.key];
    if (!part) throw onnxError(`Export does not support the output "${sym.key}" of ${sym.node.layer.toString()} yet`);
    return part;
  };
  /** The ONNX name of a lengths value: a marker's input, or the Min of the inputs a rule joined. */
  const nameOf = (lengths: Int32Array | undefined, from: readonly (Int32Array | undefined)[]): string => {
    if (lengths === undefined) return '';
    const known = markers.get(lengths);
    if (known !== undefined) return known;
    const joined = [...new Set(from.filter((l): l is Int32Array => l !== undefined).map((l) => markers.get(l)!))];
    const name = joined.length === 1 ? joined[0] : g.op('Min', joined);
    markers.set(lengths, name);
    return name;
  };
  for (const node of model.calls) {
    const inputLengths = node.inputs.map(lengthsOf);
    const flow = lengthsFlow(node.layer, inputLengths);
    const routed = { call: nameOf(flow.call, inputLengths), outputs: new Map<string | undefined, Int32Array | undefined>() };
    flows.set(node, {
      call: flow.call,
      output: (key) => {
        if (!routed.outputs.has(key)) {
          const l = flow.output(key);
          nameOf(l, inputLengths);
          routed.outputs.set(key, l);
        }
        return routed.outputs.get(key);
      },
    });
    const inputs = node.inputs.map(valueOf);
    const inputLengthNames = inputLengths.map((l) => nameOf(l, [l]));
    results.set(node, lowerLayer(node.layer, inputs[0], { graph: g, lengths: routed.call, inputs, inputLengths: inputLengthNames, opset }));
  }
  const outputs = model.outputs.map((sym, i) => {
    const name = model.outputs.length === 1 ? 'output' : `output_${i}`;
    g.node('Identity', [batchMajor(valueOf(sym), g).name], [name]);
    return name;
  });
  // Declare the inputs: token ids where only embeddings read them, lengths where some node uses them.
  const used = new Set(g.nodes.flatMap((n) => (n as { input: string[] }).input));
  const declared: object[] = [];
  model.inputs.forEach((sym, i) => {
    const readers = model.calls.filter((n) => n.inputs.includes(sym));
    const ids = readers.length > 0 && readers.every((n) => n.layer instanceof Embedding);
    const time = single ? 'time' : `time_${i}`;
    const dims = ['batch', ...sym.shape!.map((d, j) => d ?? (j === 0 ? time : `${inputName(i)}_dim${j}`))];
    declared.push(valueInfo(inputName(i), ids ? DataType.INT64 : DataType.FLOAT, dims));
    if (used.has(lengthsName(i))) declared.push(valueInfo(lengthsName(i), DataType.INT32, ['batch']));
  });
  return { inputs: declared, outputs };
}
