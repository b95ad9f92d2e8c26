/**
 * ONNX lowering of the recurrent layers: each layer (and direction) becomes
 * ONNX's own RNN/LSTM/GRU operator, time-major, with `sequence_lens` for
 * variable lengths, and weights regrouped into ONNX's gate orders: LSTM
 * i, o, f, c (PyTorch i, f, g, o) and GRU z, r, h (PyTorch r, z, n), with
 * `linear_before_reset` carrying GRU's resetAfter.
 */
import { onnxAttribute, OnnxLoweringContext, onnxError, OnnxValue, timeMajor } from '../nn/onnx-lowering';
import type { CellName, RecurrentLayer } from './recurrent';

/** Rows of a [G·H, …] matrix (or [G·H] vector) regrouped by gate: out block k = in block order[k]. */
function reorderGates(data: Float32Array, gates: number, order: readonly number[]): Float32Array {
  const block = data.length / gates;
  const out = new Float32Array(data.length);
  order.forEach((from, to) => out.set(data.subarray(from * block, (from + 1) * block), to * block));
  return out;
}

const GATE_ORDER: Record<CellName, readonly number[]> = { LSTM: [0, 3, 1, 2], GRU: [1, 0, 2], RNN: [0] };
const GATES: Record<CellName, number> = { LSTM: 4, GRU: 3, RNN: 1 };

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One direction of one ONNX operator: layer `l` of a recurrent module, forward or its `_reverse` weights. */
export interface OnnxDirection {
  layer: RecurrentLayer;
  l: number;
  reverse: boolean;
}

/** One ONNX recurrent operator for 1 or 2 directions; `x` is time-major. Returns Y as [T, B, D·H]. */
export function recurrentOperator(x: OnnxValue, ctx: OnnxLoweringContext, directions: OnnxDirection[]): OnnxValue {
  const g = ctx.graph;
  const first = directions[0].layer;
  const cell = first.cellName;
  const G = GATES[cell];
  const H = first.hiddenSize;
  for (const { layer } of directions) {
    if (layer.cellName !== cell || layer.hiddenSize !== H || (cell === 'GRU' && layer.resetAfter !== first.resetAfter)) {
      throw onnxError(`ONNX needs both directions of one operator to be the same cell; ${first.toString()} and ${layer.toString()} differ`);
    }
  }
  const W: Float32Array[] = [], R: Float32Array[] = [], B: Float32Array[] = [];
  for (const { layer, l, reverse } of directions) {
    if (layer.layerNorm) throw onnxError(`ONNX has no layer-normalized ${cell}; ${layer.toString()} cannot be exported`);
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
  const inSize = W[0].length / (G * H);
  const attrs = [onnxAttribute.int('hidden_size', H), onnxAttribute.string('direction', D === 2 ? 'bidirectional' : 'forward')];
  if (cell === 'GRU') attrs.push(onnxAttribute.int('linear_before_reset', first.resetAfter ? 1 : 0));
  if (cell === 'RNN') attrs.push(onnxAttribute.strings('activations', directions.map(({ layer }) => ((layer as { nonlinearity?: string }).nonlinearity === 'relu' ? 'Relu' : 'Tanh'))));
  const inputs = [x.name, g.floats('W', [D, G * H, inSize], concat(W)), g.floats('R', [D, G * H, H], concat(R)), g.floats('B', [D, 2 * G * H], concat(B)), ctx.lengths];
  const y = g.name('y');
  g.node(cell, inputs, cell === 'LSTM' ? [y, g.name('y_h'), g.name('y_c')] : [y, g.name('y_h')], attrs);
  // Y [T, D, B, H] → [T, B, D, H] → [T, B, D·H]
  const swapped = g.op('Transpose', [y], [onnxAttribute.ints('perm', [0, 2, 1, 3])]);
  return { name: g.op('Reshape', [swapped, g.int64s('shape', [0, 0, -1])]), timeMajor: true };
}

/** Batch-first recurrent layers only: ONNX's time-major layout is the exporter's own business. */
export function checkBatchFirst(layer: RecurrentLayer, what: string): void {
  if (!layer.batchFirst) throw onnxError(`Export needs batch-first recurrent layers; ${what}`);
}

/** A whole (stacked, maybe bidirectional) recurrent layer: one operator per stacked layer. */
export function lowerRecurrent(layer: RecurrentLayer, x: OnnxValue, ctx: OnnxLoweringContext): OnnxValue {
  checkBatchFirst(layer, `${layer.toString()} is time-major`);
  let y = timeMajor(x, ctx.graph);
  for (let l = 0; l < layer.numLayers; l++) {
    const dirs: OnnxDirection[] = [{ layer, l, reverse: false }];
    if (layer.bidirectional) dirs.push({ layer, l, reverse: true });
    y = recurrentOperator(y, ctx, dirs);
  }
  return y;
}
