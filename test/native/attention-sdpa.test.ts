/**
 * The fused attention kernel in its double-precision instance (the same
 * tiles, online softmax, masks and dropout pattern as the float one):
 * forward against a direct float64 evaluation, backward against central
 * finite differences, at sizes that span several 64-row/64-key tiles.
 */
import * as assert from 'assert';
import { binding, SdpaCall } from '../../lib/native';
import * as eddy from '../../lib';
import { gradcheck } from '../gradcheck';
import { rng } from '../helpers';

interface Problem {
  B: number; H: number; Tq: number; Tk: number; D: number; Dv: number;
  causal?: boolean; causalOffset?: number; lengths?: number[]; mask?: 'shared' | 'per-head'; dropout?: number;
}

interface Arrays {
  q: Float64Array; k: Float64Array; v: Float64Array; mask: Float64Array | null;
}

/** Contiguous [B, H, T, D] operands. */
function callOf(p: Problem, a: Arrays): SdpaCall {
  const { B, H, Tq, Tk, D, Dv } = p;
  return {
    q: a.q, k: a.k, v: a.v,
    qSb: H * Tq * D, qSh: Tq * D, qSt: D, kSb: H * Tk * D, kSh: Tk * D, kSt: D,
    vSb: H * Tk * Dv, vSh: Tk * Dv, vSt: Dv, outSb: H * Tq * Dv, outSh: Tq * Dv, outSt: Dv,
    lengths: p.lengths ? Int32Array.from(p.lengths) : null, mask: a.mask, maskPerHead: p.mask === 'per-head',
    B, H, Tq, Tk, D, Dv, scale: 1 / Math.sqrt(D), causal: p.causal ?? false, causalOffset: p.causalOffset ?? 0,
    dropout: p.dropout ?? 0, seed: 1234,
  };
}

function arraysFor(p: Problem, seed: number): Arrays {
  const r = rng(seed);
  const fill = (n: number, scale = 1): Float64Array => Float64Array.from({ length: n }, () => (r() * 2 - 1) * scale);
  let mask: Float64Array | null = null;
  if (p.mask) {
    mask = fill((p.mask === 'per-head' ? p.B * p.H : 1) * p.Tq * p.Tk, 0.7);
    for (let i = 0; i < mask.length; i += 7) mask[i] = -Infinity;
    for (let i = 0; i < mask.length; i += p.Tk) mask[i] = 0;  // every query keeps key 0
  }
  return { q: fill(p.B * p.H * p.Tq * p.D, 1.5), k: fill(p.B * p.H * p.Tk * p.D, 1.5), v: fill(p.B * p.H * p.Tk * p.Dv), mask };
}

function forward(p: Problem, a: Arrays, weights = false): { out: Float64Array; lse: Float64Array; weights: Float64Array | null } {
  const out = new Float64Array(p.B * p.H * p.Tq * p.Dv);
  const lse = new Float64Array(p.B * p.H * p.Tq);
  const w = weights ? new Float64Array(p.B * p.H * p.Tq * p.Tk) : null;
  binding.sdpaForward({ ...callOf(p, a), out, lse, weights: w });
  return { out, lse, weights: w };
}

/** The definition, in float64 with the scores materialized; dropout off. */
function direct(p: Problem, a: Arrays): { out: Float64Array; weights: Float64Array } {
  const { B, H, Tq, Tk, D, Dv } = p;
  const out = new Float64Array(B * H * Tq * Dv);
  const weights = new Float64Array(B * H * Tq * Tk);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const bh = b * H + h;
    for (let i = 0; i < Tq; i++) {
      const s = new Float64Array(Tk).fill(-Infinity);
      for (let j = 0; j < Tk; j++) {
        if (p.lengths && j >= p.lengths[b]) continue;
        if (p.causal && j > i + (p.causalOffset ?? 0)) continue;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += a.q[(bh * Tq + i) * D + d] * a.k[(bh * Tk + j) * D + d];
        s[j] = dot / Math.sqrt(D) + (a.mask ? a.mask[((p.mask === 'per-head' ? bh : 0) * Tq + i) * Tk + j] : 0);
      }
      const m = Math.max(...s);
      let z = 0;
      for (let j = 0; j < Tk; j++) z += s[j] === -Infinity ? 0 : Math.exp(s[j] - m);
      for (let j = 0; j < Tk; j++) {
        const w = s[j] === -Infinity ? 0 : Math.exp(s[j] - m) / z;
        weights[(bh * Tq + i) * Tk + j] = w;
        for (let d = 0; d < Dv; d++) out[(bh * Tq + i) * Dv + d] += w * a.v[(bh * Tk + j) * Dv + d];
      }
    }
  }
  return { out, weights };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

const PROBLEMS: [string, Problem][] = [
  ['plain, several tiles', { B: 1, H: 2, Tq: 70, Tk: 135, D: 5, Dv: 3 }],
  ['causal with lengths', { B: 2, H: 1, Tq: 130, Tk: 130, D: 4, Dv: 4, causal: true, lengths: [130, 67] }],
  ['causal offset (cached keys)', { B: 1, H: 2, Tq: 3, Tk: 80, D: 4, Dv: 2, causal: true, causalOffset: 77 }],
  ['shared additive mask', { B: 2, H: 2, Tq: 9, Tk: 70, D: 3, Dv: 3, mask: 'shared' }],
  ['per-head mask and lengths', { B: 2, H: 2, Tq: 66, Tk: 11, D: 3, Dv: 2, mask: 'per-head', lengths: [11, 5] }],
];

describe('fused attention kernel (float64 instance)', () => {
  for (const [name, p] of PROBLEMS) {
    it(`forward and weights match the definition: ${name}`, () => {
      const a = arraysFor(p, 3);
      const got = forward(p, a, true);
      const want = direct(p, a);
      // Both are float64 evaluations of the same sums in different orders.
      const dOut = maxDiff(got.out, want.out), dW = maxDiff(got.weights!, want.weights);
      console.log(`      max |difference| ${dOut.toExponential(2)} (outputs), ${dW.toExponential(2)} (weights), tol 1e-12`);
      assert.ok(dOut < 1e-12 && dW < 1e-12);
      for (let i = 0; i < want.weights.length; i++) if (want.weights[i] === 0) assert.strictEqual(got.weights![i], 0, `masked weight ${i} is exactly 0`);
    });
  }

  const GRAD_PROBLEMS: [string, Problem, boolean][] = [
    ['tiles, causal, lengths, weights', { B: 2, H: 1, Tq: 67, Tk: 67, D: 2, Dv: 2, causal: true, lengths: [67, 40] }, true],
    ['per-head mask, dropout', { B: 1, H: 2, Tq: 5, Tk: 70, D: 3, Dv: 2, mask: 'per-head', dropout: 0.3 }, false],
    ['causal offset, weights', { B: 1, H: 1, Tq: 2, Tk: 66, D: 3, Dv: 3, causal: true, causalOffset: 64 }, true],
  ];
  for (const [name, p, withWeights] of GRAD_PROBLEMS) {
    it(`backward matches central differences: ${name}`, () => {
      const a = arraysFor(p, 5);
      const r = rng(9);
      const wOut = Float64Array.from({ length: p.B * p.H * p.Tq * p.Dv }, () => r() * 2 - 1);
      const wW = withWeights ? Float64Array.from({ length: p.B * p.H * p.Tq * p.Tk }, () => r() * 2 - 1) : null;
      const loss = (): number => {
        const f = forward(p, a, withWeights);
        let s = 0;
        for (let i = 0; i < wOut.length; i++) s += wOut[i] * f.out[i];
        if (wW) for (let i = 0; i < wW.length; i++) s += wW[i] * f.weights![i];
        return s;
      };
      const f = forward(p, a, withWeights);
      const grads = { dq: new Float64Array(a.q.length), dk: new Float64Array(a.k.length), dv: new Float64Array(a.v.length) };
      binding.sdpaBackward({ ...callOf(p, a), out: f.out, lse: f.lse, weights: f.weights, dout: wOut, dweights: wW, ...grads });
      // Central differences in float64 with h = 1e-6: truncation ~h²·|f'''| ≈ 1e-12,
      // rounding ~1e-16·|loss|/h ≈ 1e-9; so 1e-6 separates noise from any real error.
      const h = 1e-6;
      let worst = 0;
      for (const [name, x, g] of [['q', a.q, grads.dq], ['k', a.k, grads.dk], ['v', a.v, grads.dv]] as const) {
        for (let i = 0; i < x.length; i += Math.max(1, Math.floor(x.length / 150))) {
          const x0 = x[i];
          x[i] = x0 + h;
          const up = loss();
          x[i] = x0 - h;
          const down = loss();
          x[i] = x0;
          const numeric = (up - down) / (2 * h);
          const d = Math.abs(numeric - g[i]) / Math.max(1, Math.abs(numeric));
          assert.ok(d < 1e-6, `d${name}[${i}]: kernel ${g[i]} vs finite difference ${numeric}`);
          worst = Math.max(worst, d);
        }
      }
      console.log(`      max scaled difference ${worst.toExponential(2)} (tol 1e-6)`);
    });
  }

  it('dropout keeps about 1 − p of the weights, scaled by 1/(1 − p), the same pattern every call', () => {
    const p: Problem = { B: 1, H: 1, Tq: 1, Tk: 4000, D: 1, Dv: 1, dropout: 0.25 };
    const a = arraysFor(p, 1);
    a.q.fill(0);  // uniform weights 1/Tk: the output is the mean of the kept values ÷ (1 − p)
    a.v.fill(1);
    const once = forward(p, a).out[0], again = forward(p, a).out[0];
    assert.strictEqual(once, again);
    // E[out] = 1, sd = sqrt(p/(1−p)/Tk) ≈ 0.009; 5 sd.
    assert.ok(Math.abs(once - 1) < 0.05, `mean kept fraction ${once}`);
    assert.notStrictEqual(once, 1);
  });

  it('the float32 op passes a finite-difference gradcheck on strided views', () => {
    const r = rng(11);
    const x = eddy.tensor(Float32Array.from({ length: 2 * 5 * 12 }, () => r() * 2 - 1), [2, 5, 12]);
    // q, k, v as head views of one packed [B, T, 3·2·2] projection.
    const fn = (packed: eddy.Tensor): eddy.Tensor => {
      const heads = (i: number): eddy.Tensor => packed.slice(2, i * 4, i * 4 + 4).reshape([2, 5, 2, 2]).transpose(1, 2);
      return eddy.scaledDotProductAttention(heads(0), heads(1), heads(2), { isCausal: true, keyLengths: [5, 3] }).output;
    };
    const worst = gradcheck((t) => fn(t), [x]);
    console.log(`      max scaled difference ${worst[0].toExponential(2)}`);
  });
});

describe('fused attention kernel: the binding checks what it receives', () => {
  it('refuses arrays shorter than the views reach, and dropout of 1', () => {
    const p: Problem = { B: 1, H: 2, Tq: 3, Tk: 4, D: 2, Dv: 2 };
    const a = arraysFor(p, 1);
    const call = callOf(p, a);
    const out = new Float64Array(12), lse = new Float64Array(6);
    assert.throws(() => binding.sdpaForward({ ...call, k: a.k.subarray(1), out, lse, weights: null }), /Expected at least 16 elements for k but received 15/);
    assert.throws(() => binding.sdpaForward({ ...call, out: new Float32Array(12), lse, weights: null }), /Expected Float64Array for out/);
    assert.throws(() => binding.sdpaForward({ ...call, dropout: 1, out, lse, weights: null }), /dropout in \[0, 1\)/);
    assert.throws(() => binding.sdpaForward({ ...call, lengths: new Int32Array(2), out, lse, weights: null }), /Int32Array of 1 elements for lengths/);
  });
});
