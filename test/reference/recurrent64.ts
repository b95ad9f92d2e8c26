/**
 * A plain float64 implementation of the recurrent layers, written straight
 * from the equations, time-major. It is the ground truth for finite
 * differences: perturbing a float64 model by 1e-6 gives derivatives good to
 * ~1e-9, far below the float32 kernels' error, so a gradient check against
 * it tests the kernels rather than float32 rounding.
 */

export type Cell = 'lstm' | 'gru' | 'gru_reset_before' | 'rnn_tanh' | 'rnn_relu';

export interface RefConfig {
  cell: Cell;
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bidirectional: boolean;
  bias: boolean;
  T: number;
  B: number;
  /** Layer-normalized LSTM / GRU (reset-after): LN of each projection, and of c for LSTM. */
  layerNorm?: boolean;
}

export interface RefInputs {
  /** PyTorch names → values. */
  weights: Record<string, Float64Array>;
  x: Float64Array; // [T, B, I]
  h0: Float64Array; // [L·D, B, H]
  c0: Float64Array; // LSTM
  lengths: number[] | null;
  /** Recurrent dropout mask [L·D, B, H]: the recurrent weights see h ⊙ mask. */
  recMask?: Float64Array;
}

export interface RefOutputs {
  output: Float64Array; // [T, B, D·H]
  hn: Float64Array;
  cn: Float64Array;
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

export function gateCount(cell: Cell): number {
  return cell === 'lstm' ? 4 : cell.startsWith('gru') ? 3 : 1;
}

/** Parameter names and shapes in PyTorch's order. */
export function parameterShapes(c: RefConfig): [string, number[]][] {
  const G = gateCount(c.cell) * c.hiddenSize;
  const D = c.bidirectional ? 2 : 1;
  const out: [string, number[]][] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const inSize = l === 0 ? c.inputSize : D * c.hiddenSize;
    for (let d = 0; d < D; d++) {
      const s = `_l${l}${d ? '_reverse' : ''}`;
      out.push([`weight_ih${s}`, [G, inSize]], [`weight_hh${s}`, [G, c.hiddenSize]]);
      if (c.bias) out.push([`bias_ih${s}`, [G]], [`bias_hh${s}`, [G]]);
      if (c.layerNorm) {
        for (const part of ['ih', 'hh']) out.push([`layer_norm_${part}_weight${s}`, [G]], [`layer_norm_${part}_bias${s}`, [G]]);
        if (c.cell === 'lstm') out.push([`layer_norm_c_weight${s}`, [c.hiddenSize]], [`layer_norm_c_bias${s}`, [c.hiddenSize]]);
      }
    }
  }
  return out;
}

/** W (rows × cols, row-major) times v, plus optional bias, for rows [r0, r0 + n). */
function affine(W: Float64Array, cols: number, v: Float64Array, vOff: number, b: Float64Array | undefined, r0: number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let s = b ? b[r0 + r] : 0;
    for (let k = 0; k < cols; k++) s += W[(r0 + r) * cols + k] * v[vOff + k];
    out[r] = s;
  }
  return out;
}

/** Layer normalization with biased variance and eps 1e-5, then gain and shift. */
function layerNorm(v: Float64Array, gain: Float64Array, shift: Float64Array): Float64Array {
  const n = v.length;
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
  const rstd = 1 / Math.sqrt(variance + 1e-5);
  return v.map((e, i) => (e - mean) * rstd * gain[i] + shift[i]);
}

export function referenceForward(c: RefConfig, inp: RefInputs): RefOutputs {
  const { T, B, hiddenSize: H } = c;
  const D = c.bidirectional ? 2 : 1;
  const lengths = inp.lengths ?? new Array<number>(B).fill(T);
  const hn = new Float64Array(c.numLayers * D * B * H);
  const cn = new Float64Array(c.numLayers * D * B * H);
  let layerIn = inp.x;
  let inSize = c.inputSize;
  for (let l = 0; l < c.numLayers; l++) {
    const out = new Float64Array(T * B * D * H);
    for (let d = 0; d < D; d++) {
      const s = `_l${l}${d ? '_reverse' : ''}`;
      const Wih = inp.weights[`weight_ih${s}`], Whh = inp.weights[`weight_hh${s}`];
      const bih = inp.weights[`bias_ih${s}`], bhh = inp.weights[`bias_hh${s}`];
      const k = l * D + d;
      for (let b = 0; b < B; b++) {
        const mask = inp.recMask ? inp.recMask.subarray((k * B + b) * H, (k * B + b + 1) * H) : null;
        const masked = (v: Float64Array): Float64Array => (mask ? v.map((e, j) => e * mask[j]) : v);
        let h = inp.h0.slice((k * B + b) * H, (k * B + b + 1) * H);
        let cs = inp.c0.slice((k * B + b) * H, (k * B + b + 1) * H);
        const len = lengths[b];
        for (let step = 0; step < len; step++) {
          const t = d === 0 ? step : len - 1 - step;
          const xo = (t * B + b) * inSize;
          const hNew = new Float64Array(H);
          // The two projections, layer-normalized when configured, then their biases.
          const project = (W: Float64Array, cols: number, v: Float64Array, off: number, bias: Float64Array | undefined, part: 'ih' | 'hh', n: number): Float64Array => {
            if (!c.layerNorm) return affine(W, cols, v, off, bias, 0, n);
            const normed = layerNorm(affine(W, cols, v, off, undefined, 0, n), inp.weights[`layer_norm_${part}_weight${s}`], inp.weights[`layer_norm_${part}_bias${s}`]);
            return bias ? normed.map((e, i) => e + bias[i]) : normed;
          };
          if (c.cell === 'lstm') {
            const gx = project(Wih, inSize, layerIn, xo, bih, 'ih', 4 * H);
            const gh = project(Whh, H, masked(h), 0, bhh, 'hh', 4 * H);
            const cNew = new Float64Array(H);
            for (let j = 0; j < H; j++) {
              const i = sigmoid(gx[j] + gh[j]), f = sigmoid(gx[H + j] + gh[H + j]);
              const g = Math.tanh(gx[2 * H + j] + gh[2 * H + j]), o = sigmoid(gx[3 * H + j] + gh[3 * H + j]);
              cNew[j] = f * cs[j] + i * g;
              hNew[j] = o;
            }
            const cOut = c.layerNorm ? layerNorm(cNew, inp.weights[`layer_norm_c_weight${s}`], inp.weights[`layer_norm_c_bias${s}`]) : cNew;
            for (let j = 0; j < H; j++) hNew[j] *= Math.tanh(cOut[j]);
            cs = cNew;
          } else if (c.layerNorm) {
            // Layer-normalized GRU (reset-after): LN over all three gates of each projection.
            const gx = project(Wih, inSize, layerIn, xo, bih, 'ih', 3 * H);
            const gh = project(Whh, H, masked(h), 0, bhh, 'hh', 3 * H);
            for (let j = 0; j < H; j++) {
              const r = sigmoid(gx[j] + gh[j]), z = sigmoid(gx[H + j] + gh[H + j]);
              const n = Math.tanh(gx[2 * H + j] + r * gh[2 * H + j]);
              hNew[j] = (1 - z) * n + z * h[j];
            }
          } else if (c.cell === 'gru' || c.cell === 'gru_reset_before') {
            const gx = affine(Wih, inSize, layerIn, xo, bih, 0, 3 * H);
            const gh = affine(Whh, H, masked(h), 0, bhh, 0, 2 * H);
            const r = new Float64Array(H), z = new Float64Array(H);
            for (let j = 0; j < H; j++) {
              r[j] = sigmoid(gx[j] + gh[j]);
              z[j] = sigmoid(gx[H + j] + gh[H + j]);
            }
            let hnPart: Float64Array;
            if (c.cell === 'gru') {
              const raw = affine(Whh, H, masked(h), 0, bhh, 2 * H, H);
              hnPart = raw.map((v, j) => r[j] * v);
            } else {
              hnPart = affine(Whh, H, masked(h).map((v, j) => r[j] * v), 0, bhh, 2 * H, H);
            }
            for (let j = 0; j < H; j++) {
              const n = Math.tanh(gx[2 * H + j] + hnPart[j]);
              hNew[j] = (1 - z[j]) * n + z[j] * h[j];
            }
          } else {
            const gx = affine(Wih, inSize, layerIn, xo, bih, 0, H);
            const gh = affine(Whh, H, masked(h), 0, bhh, 0, H);
            for (let j = 0; j < H; j++) {
              const v = gx[j] + gh[j];
              hNew[j] = c.cell === 'rnn_tanh' ? Math.tanh(v) : Math.max(0, v);
            }
          }
          h = hNew;
          out.set(h, (t * B + b) * D * H + d * H);
        }
        hn.set(h, (k * B + b) * H);
        cn.set(cs, (k * B + b) * H);
      }
    }
    layerIn = out;
    inSize = D * H;
  }
  return { output: layerIn, hn, cn };
}
