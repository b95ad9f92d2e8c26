/**
 * Finite-difference gradient checks of the native recurrent kernels. The
 * derivatives come from a float64 implementation of the same equations
 * (test/reference/recurrent64.ts) by central differences, so they are
 * accurate to ~1e-9; Eddy's float32 forward and backward must agree with
 * them to 1e-5 and 1e-4 (scaled by max(1, |value|)).
 */
import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';
import { assertClose, rng } from '../helpers';
import { Cell, parameterShapes, RefConfig, referenceForward, RefInputs } from '../reference/recurrent64';

const OUT_TOL = 1e-5;
const GRAD_TOL = 1e-4;
const EPS = 1e-6;

interface Case {
  name: string;
  config: RefConfig;
  lengths: number[] | null;
  /** Recurrent dropout probability (the layer runs in training mode with a seeded generator). */
  recurrentDropout?: number;
}

/** Random values that are exactly representable in float32, so both models hold identical numbers. */
function f32values(n: number, random: () => number, scale = 1): Float64Array {
  return Float64Array.from(Float32Array.from({ length: n }, () => (random() * 2 - 1) * scale));
}

function makeLayer(c: RefConfig, extra: { recurrentDropout?: number; generator?: eddy.Generator } = {}): eddy.RNN | eddy.LSTM | eddy.GRU {
  const base = { inputSize: c.inputSize, hiddenSize: c.hiddenSize, numLayers: c.numLayers, bidirectional: c.bidirectional, bias: c.bias, batchFirst: false, ...extra };
  const opts = c.layerNorm ? { ...base, layerNorm: true } : base;
  switch (c.cell) {
    case 'lstm':
      return new eddy.LSTM(opts);
    case 'gru':
      return new eddy.GRU(opts);
    case 'gru_reset_before':
      return new eddy.GRU({ ...opts, resetAfter: false });
    case 'rnn_tanh':
      return new eddy.RNN(opts);
    case 'rnn_relu':
      return new eddy.RNN({ ...opts, nonlinearity: 'relu' });
  }
}

function check(tc: Case, seed: number): number {
  const c = tc.config;
  const random = rng(seed);
  const D = c.bidirectional ? 2 : 1;
  const stateSize = c.numLayers * D * c.B * c.hiddenSize;
  const inp: RefInputs = {
    weights: {},
    x: f32values(c.T * c.B * c.inputSize, random),
    h0: f32values(stateSize, random, 0.5),
    c0: c.cell === 'lstm' ? f32values(stateSize, random, 0.5) : new Float64Array(stateSize),
    lengths: tc.lengths,
  };
  for (const [name, shape] of parameterShapes(c)) {
    const values = f32values(shape.reduce((a, b) => a * b, 1), random, 0.8);
    // Layer-norm gains around 1, so the normalized paths carry signal.
    if (name.startsWith('layer_norm_') && name.includes('_weight')) values.forEach((v, i) => (values[i] = Math.fround(1 + 0.5 * v)));
    inp.weights[name] = values;
  }
  const outSize = c.T * c.B * D * c.hiddenSize;
  const wOut = f32values(outSize, random), wH = f32values(stateSize, random), wC = f32values(stateSize, random);
  const loss = (o: { output: Float64Array; hn: Float64Array; cn: Float64Array }): number => {
    let s = 0;
    for (let i = 0; i < outSize; i++) s += o.output[i] * wOut[i];
    for (let i = 0; i < stateSize; i++) s += o.hn[i] * wH[i] + (c.cell === 'lstm' ? o.cn[i] * wC[i] : 0);
    return s;
  };

  // Recurrent dropout: the layer draws its mask from its generator, one
  // value per (layer, direction, sequence, unit) in that order — the test
  // draws the same values from an identically seeded generator.
  const generator = new eddy.Generator(seed);
  if (tc.recurrentDropout) {
    const g = new eddy.Generator(seed);
    const keep = 1 / (1 - tc.recurrentDropout);
    inp.recMask = Float64Array.from({ length: stateSize }, () => (g.next() < tc.recurrentDropout! ? 0 : Math.fround(keep)));
  }

  // Eddy, float32.
  const layer = makeLayer(c, tc.recurrentDropout ? { recurrentDropout: tc.recurrentDropout, generator } : {});
  const state: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(inp.weights)) state[k] = Float32Array.from(v);
  layer.loadStateDict(state);
  const t = (v: Float64Array, shape: number[]): Tensor => eddy.tensor(Float32Array.from(v), shape, { requiresGrad: true });
  const x = t(inp.x, [c.T, c.B, c.inputSize]);
  const h0 = t(inp.h0, [c.numLayers * D, c.B, c.hiddenSize]);
  const c0 = c.cell === 'lstm' ? t(inp.c0, [c.numLayers * D, c.B, c.hiddenSize]) : undefined;
  generator.seed(seed);
  const res = layer.forward(x, { h0, c0, lengths: tc.lengths ?? undefined });
  const ref = referenceForward(c, inp);
  let worst = 0;
  worst = Math.max(worst, assertClose(res.output.data, ref.output, OUT_TOL, `${tc.name}: output`));
  worst = Math.max(worst, assertClose(res.h.data, ref.hn, OUT_TOL, `${tc.name}: h`));
  const roots = [res.output, res.h];
  const grads = [eddy.tensor(Float32Array.from(wOut), res.output.shape), eddy.tensor(Float32Array.from(wH), res.h.shape)];
  if (res.c) {
    worst = Math.max(worst, assertClose(res.c.data, ref.cn, OUT_TOL, `${tc.name}: c`));
    roots.push(res.c);
    grads.push(eddy.tensor(Float32Array.from(wC), res.c.shape));
  }
  eddy.backward(roots, grads);

  // Central differences on the float64 model.
  const numeric = (values: Float64Array): Float64Array => {
    const g = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const keep = values[i];
      values[i] = keep + EPS;
      const up = loss(referenceForward(c, inp));
      values[i] = keep - EPS;
      const down = loss(referenceForward(c, inp));
      values[i] = keep;
      g[i] = (up - down) / (2 * EPS);
    }
    return g;
  };
  const gradOf = (name: string, got: Tensor | null, values: Float64Array): void => {
    assert.ok(got, `${tc.name}: no gradient for ${name}`);
    worst = Math.max(worst, assertClose(got.toFloat32Array(), numeric(values), GRAD_TOL, `${tc.name}: d ${name}`));
  };
  gradOf('input', x.grad, inp.x);
  gradOf('h0', h0.grad, inp.h0);
  if (c0) gradOf('c0', c0.grad, inp.c0);
  for (const [name, p] of layer.namedParameters()) gradOf(name, p.grad, inp.weights[name]);
  return worst;
}

const CELLS: Cell[] = ['rnn_tanh', 'rnn_relu', 'lstm', 'gru', 'gru_reset_before'];

function cases(): Case[] {
  const out: Case[] = [];
  const base = { inputSize: 3, hiddenSize: 2, bias: true };
  for (const cell of CELLS) {
    out.push({ name: `${cell} 1 layer`, config: { ...base, cell, numLayers: 1, bidirectional: false, T: 4, B: 3 }, lengths: null });
    out.push({ name: `${cell} 2 layers, bidirectional, lengths`, config: { ...base, cell, numLayers: 2, bidirectional: true, T: 4, B: 3 }, lengths: [2, 4, 1] });
    out.push({ name: `${cell} T=1 B=1 H=1`, config: { cell, inputSize: 2, hiddenSize: 1, bias: true, numLayers: 1, bidirectional: false, T: 1, B: 1 }, lengths: null });
    out.push({ name: `${cell} one sequence shorter than T, no bias`, config: { ...base, bias: false, cell, numLayers: 1, bidirectional: true, T: 5, B: 1 }, lengths: [3] });
    out.push({ name: `${cell} recurrent dropout 0.4, 2 layers, bidirectional, lengths`, config: { ...base, hiddenSize: 3, cell, numLayers: 2, bidirectional: true, T: 4, B: 3 }, lengths: [3, 4, 2], recurrentDropout: 0.4 });
    // 17 units span several unit blocks of every kernel path (16 or 8 wide,
    // the last one partial), 7 rows a full tile and a tail; the lengths make
    // rows join (forward direction) and leave (reverse) the backward steps.
    out.push({ name: `${cell} 17 units in several kernel blocks, batch of 7, bidirectional, lengths, recurrent dropout`, config: { cell, inputSize: 3, hiddenSize: 17, bias: true, numLayers: 1, bidirectional: true, T: 3, B: 7 }, lengths: [3, 1, 2, 3, 2, 1, 3], recurrentDropout: 0.3 });
    // A single row runs wider tiles of unit blocks.
    out.push({ name: `${cell} 17 units, a single sequence, bidirectional`, config: { cell, inputSize: 3, hiddenSize: 17, bias: true, numLayers: 1, bidirectional: true, T: 3, B: 1 }, lengths: null });
    if (cell === 'lstm' || cell === 'gru') {
      out.push({ name: `${cell} layer-normalized, 2 layers, bidirectional, lengths`, config: { ...base, hiddenSize: 3, cell, numLayers: 2, bidirectional: true, T: 4, B: 3, layerNorm: true }, lengths: [3, 4, 2] });
      out.push({ name: `${cell} layer-normalized with recurrent dropout, no bias`, config: { ...base, bias: false, hiddenSize: 4, cell, numLayers: 1, bidirectional: false, T: 3, B: 2, layerNorm: true }, lengths: null, recurrentDropout: 0.3 });
    }
  }
  return out;
}

/** Batches big enough to be dealt into groups that run on separate threads. */
function groupedCases(): Case[] {
  const base = { inputSize: 2, hiddenSize: 2, bias: true, T: 3, B: 17 };
  const lengths = Array.from({ length: 17 }, (_, i) => 1 + ((i * 7) % 3));
  // Alternate uni- and bidirectional so both split into groups at 2 threads
  // or more, and recurrent dropout so its masks are split with the rows.
  return CELLS.map((cell, i) => {
    const bidirectional = i % 2 === 0;
    const recurrentDropout = i % 3 === 1 ? 0.3 : 0;
    const name = `${cell} batch of 17 in thread groups, ${bidirectional ? 'bidirectional' : 'unidirectional'}, lengths${recurrentDropout ? ', recurrent dropout' : ''}`;
    return { name, config: { ...base, cell, numLayers: 2, bidirectional }, lengths, recurrentDropout };
  });
}

describe('recurrent layers: gradient checks against float64 finite differences', () => {
  let seed = 100;
  const initialThreads = eddy.getNumThreads();
  for (const threads of [2, 3]) {
    describe(`with ${threads} threads`, () => {
      before(() => eddy.setNumThreads(threads));
      after(() => eddy.setNumThreads(initialThreads));
      for (const tc of groupedCases()) {
        const s = seed++;
        it(tc.name, () => {
          const worst = check(tc, s);
          console.log(`      max scaled difference ${worst.toExponential(1)} (outputs ${OUT_TOL}, gradients ${GRAD_TOL})`);
        });
      }
    });
  }

  for (const tc of cases()) {
    const s = seed++;
    it(tc.name, () => {
      const worst = check(tc, s);
      console.log(`      max scaled difference ${worst.toExponential(1)} (outputs ${OUT_TOL}, gradients ${GRAD_TOL})`);
    });
  }

  it('all lengths equal to T give exactly the result without lengths', () => {
    const layer = new eddy.LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true });
    const x = eddy.tensor(Float32Array.from({ length: 2 * 5 * 3 }, (_, i) => Math.sin(i)), [2, 5, 3]);
    const a = layer.forward(x);
    const b = layer.forward(x, { lengths: Int32Array.of(5, 5) });
    assert.deepStrictEqual(Array.from(b.output.data), Array.from(a.output.data));
    assert.deepStrictEqual(Array.from(b.h.data), Array.from(a.h.data));
    assert.deepStrictEqual(Array.from(b.c!.data), Array.from(a.c!.data));
  });

  it('a padded batch equals each sequence run on its own', () => {
    const layer = new eddy.GRU({ inputSize: 2, hiddenSize: 3, bidirectional: true });
    const T = 6;
    const lengths = [4, 6, 1];
    const x = eddy.tensor(Float32Array.from({ length: 3 * T * 2 }, (_, i) => Math.cos(i * 0.7)), [3, T, 2]);
    const batch = layer.forward(x, { lengths });
    for (let b = 0; b < 3; b++) {
      const own = layer.forward(x.slice(0, b, b + 1).slice(1, 0, lengths[b]).contiguous());
      const mine = batch.output.select(0, b).slice(0, 0, lengths[b]);
      assertClose(mine.toFloat32Array(), own.output.toFloat32Array(), 1e-6, `sequence ${b}`);
      assertClose(batch.h.select(1, b).toFloat32Array(), own.h.select(1, 0).toFloat32Array(), 1e-6, `h of sequence ${b}`);
      const padding = batch.output.select(0, b).slice(0, lengths[b]).toFloat32Array();
      assert.ok(padding.every((v) => v === 0), `padded outputs of sequence ${b} are zero`);
    }
  });
});

describe('GRU reset-before: a step computed by hand', () => {
  const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
  // One input, one unit: W_ih = [r, z, n] rows, W_hh likewise.
  const x = 0.5, h = 0.2;
  const wih = [0.1, 0.2, 0.3], whh = [0.4, 0.5, 0.6], bih = [0.01, 0.02, 0.03], bhh = [0.04, 0.05, 0.06];
  const r = sigmoid(wih[0] * x + bih[0] + whh[0] * h + bhh[0]);
  const z = sigmoid(wih[1] * x + bih[1] + whh[1] * h + bhh[1]);
  const expected = {
    // n = tanh(W_in x + b_in + W_hn (r·h) + b_hn)
    before: (1 - z) * Math.tanh(wih[2] * x + bih[2] + whh[2] * (r * h) + bhh[2]) + z * h,
    // n = tanh(W_in x + b_in + r·(W_hn h + b_hn))
    after: (1 - z) * Math.tanh(wih[2] * x + bih[2] + r * (whh[2] * h + bhh[2])) + z * h,
  };

  for (const resetAfter of [false, true]) {
    it(`resetAfter: ${resetAfter}`, () => {
      const gru = new eddy.GRU({ inputSize: 1, hiddenSize: 1, resetAfter });
      gru.loadStateDict({ weight_ih_l0: [[0.1], [0.2], [0.3]], weight_hh_l0: [[0.4], [0.5], [0.6]], bias_ih_l0: bih, bias_hh_l0: bhh });
      const out = gru.forward(eddy.tensor([[[x]]]), { h0: eddy.tensor([[[h]]]) });
      const want = resetAfter ? expected.after : expected.before;
      assert.ok(Math.abs(out.output.item() - want) < 1e-6, `got ${out.output.item()}, expected ${want}`);
      assert.ok(Math.abs(expected.after - expected.before) > 1e-3, 'the two variants differ on this example');
    });
  }
});
