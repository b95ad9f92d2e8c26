/**
 * Batch invariance: within one kernel path (EDDY_ISA), a sequence's outputs
 * and final states are bit-identical whether it runs alone, inside a batch
 * of any size, at any position, with any thread count. The recurrent GEMMs
 * accumulate every element in one fixed order (native/packed_gemm.h), so
 * this is exact equality, not a tolerance.
 */
import * as assert from 'assert';
import * as os from 'os';
import * as eddy from '../../lib';
import { randomArray, rng } from '../helpers';

type Layer = eddy.LSTM | eddy.GRU | eddy.RNN;

const I = 7;
const H = 24;  // 4·24 = 96 gate columns: full and partial panels on every path
const T = 9;

const LAYERS: [string, () => Layer][] = [
  ['LSTM', () => new eddy.LSTM({ inputSize: I, hiddenSize: H })],
  ['LSTM, 2 layers', () => new eddy.LSTM({ inputSize: I, hiddenSize: H, numLayers: 2 })],
  ['LSTM, 2 layers, bidirectional', () => new eddy.LSTM({ inputSize: I, hiddenSize: H, numLayers: 2, bidirectional: true })],
  ['layer-normalized LSTM', () => new eddy.LSTM({ inputSize: I, hiddenSize: H, layerNorm: true })],
  ['GRU', () => new eddy.GRU({ inputSize: I, hiddenSize: H })],
  ['GRU, bidirectional', () => new eddy.GRU({ inputSize: I, hiddenSize: H, bidirectional: true })],
  ['GRU, reset before', () => new eddy.GRU({ inputSize: I, hiddenSize: H, resetAfter: false })],
  ['RNN tanh', () => new eddy.RNN({ inputSize: I, hiddenSize: H })],
  ['RNN tanh, no bias', () => new eddy.RNN({ inputSize: I, hiddenSize: H, bias: false })],
  ['RNN relu, 2 layers', () => new eddy.RNN({ inputSize: I, hiddenSize: H, numLayers: 2, nonlinearity: 'relu' })],
];

/**
 * Thread counts, each with the way a step is split across threads
 * (EDDY_RECURRENT_SPLIT, native/layer_loop.h; undefined: the rule decides).
 * Three threads splitting 24 units leave a member without a whole block on
 * the AVX-512 path.
 */
const THREADS_AND_SPLITS: [number, 'units' | 'batch' | undefined][] = [
  [1, undefined], [2, undefined], [2, 'units'], [2, 'batch'], [3, 'units'],
];

/** Runs fn with EDDY_RECURRENT_SPLIT set to split (unset when undefined), restoring it after. */
function withSplit<R>(split: string | undefined, fn: () => R): R {
  const before = process.env.EDDY_RECURRENT_SPLIT;
  if (split === undefined) delete process.env.EDDY_RECURRENT_SPLIT;
  else process.env.EDDY_RECURRENT_SPLIT = split;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.EDDY_RECURRENT_SPLIT;
    else process.env.EDDY_RECURRENT_SPLIT = before;
  }
}

/**
 * A layer's results on a [B, steps, I] batch: inference output and h, then a
 * training step's output, final states, input gradient and parameter
 * gradients, with the split the inference pass ran.
 */
function stepResults(layer: Layer, B: number, steps: number, seed: number): { split: string; bits: Float32Array[] } {
  const width = (layer.bidirectional ? 2 : 1) * layer.hiddenSize;
  const x = eddy.tensor(randomArray(B * steps * I, rng(seed + steps)), [B, steps, I], { requiresGrad: true });
  const y = eddy.noGrad(() => layer.eval().forward(x));
  const split = eddy.runtimeInfo().kernels.recurrentSplit;
  const r = layer.train().forward(x);
  layer.zeroGrad();
  x.grad = null;
  eddy.backward([r.output], [eddy.tensor(randomArray(B * steps * width, rng(seed + 1 + steps)), [B, steps, width])]);
  const states = [r.h, ...(r.c ? [r.c] : [])].map((t) => t.contiguous().data);
  return { split, bits: [y.output.contiguous().data, y.h.contiguous().data, r.output.contiguous().data, ...states, x.grad!.data, ...layer.parameters().map((p) => p.grad!.data)] };
}

/**
 * Checks that the split the rule picks on two threads (`expected`) gives the
 * bits of EDDY_RECURRENT_SPLIT=batch, and in inference those of one thread,
 * at an odd and an even step count (inference alternates h between two
 * buffers).
 */
function checkSplitBits(name: string, layer: Layer, B: number, seed: number, expected: string, batchName: string): void {
  try {
    for (const steps of [9, 4]) {
      eddy.setNumThreads(2);
      const rule = withSplit(undefined, () => stepResults(layer, B, steps, seed));
      assert.strictEqual(rule.split, expected, `${name}: the rule runs ${expected}`);
      const batch = withSplit('batch', () => stepResults(layer, B, steps, seed));
      assert.strictEqual(batch.split, 'batch');
      eddy.setNumThreads(1);
      const one = stepResults(layer, B, steps, seed);
      // Inference is batch invariant across thread counts too; a training
      // step's gradients are compared at the same thread count.
      rule.bits.forEach((a, i) => sameBits(a, batch.bits[i], `${name}, ${steps} steps: result ${i}, ${batchName}`));
      rule.bits.slice(0, 2).forEach((a, i) => sameBits(a, one.bits[i], `${name}, ${steps} steps: inference result ${i}, one thread`));
      assert.ok(rule.bits[0].some((v) => v !== 0) && rule.bits.at(-1)!.some((v) => v !== 0), 'non-trivial output and gradients');
    }
  } finally {
    eddy.setNumThreads(2);
  }
}

/** One sequence's input [1, len, I]. */
function sequence(seed: number, len: number): Float32Array {
  return randomArray(len * I, rng(seed));
}

/** Runs a batch (batch-first, padded to the longest) in inference mode; returns per-sequence outputs and final states. */
function run(layer: Layer, seqs: Float32Array[]): { out: Float32Array[]; h: Float32Array[] } {
  const lens = seqs.map((s) => s.length / I);
  const Tb = Math.max(...lens);
  const B = seqs.length;
  const x = new Float32Array(B * Tb * I);
  seqs.forEach((s, b) => x.set(s, b * Tb * I));
  const r = eddy.noGrad(() => layer.eval().forward(eddy.tensor(x, [B, Tb, I]), { lengths: lens }));
  const width = r.output.shape[2];
  const [states, , hidden] = r.h.shape;
  const y = r.output.contiguous().data;
  const h = r.h.contiguous().data;
  return {
    out: seqs.map((_, b) => y.slice(b * Tb * width, (b * Tb + lens[b]) * width)),
    h: seqs.map((_, b) => {
      const rows: number[] = [];
      for (let k = 0; k < states; k++) rows.push(...h.slice((k * B + b) * hidden, (k * B + b + 1) * hidden));
      return Float32Array.from(rows);
    }),
  };
}

function sameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.strictEqual(a.length, b.length, what);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) assert.fail(`${what}: element ${i} differs (${a[i]} vs ${b[i]})`);
  }
}

/** A batch-first [B, T, w] array as time-major [T, B, w]. */
function toTimeMajor(a: Float32Array, B: number, T: number, w: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) out.set(a.subarray((b * T + t) * w, (b * T + t + 1) * w), (t * B + b) * w);
  return out;
}

/**
 * Runs `equal` (sequences of one length) and `mixed` (some of them cut
 * short) as batches on 1, 2 and 3 threads and checks every row's output and
 * final state against the same sequence run alone on one thread, bit for bit.
 */
function equalAndMixedAsAlone(layer: Layer, equal: Float32Array[], mixed: Float32Array[]): void {
  eddy.setNumThreads(1);
  const alone = [...equal, ...mixed].map((s) => run(layer, [s]));
  for (const t of [1, 2, 3]) {
    eddy.setNumThreads(t);
    [equal, mixed].forEach((batch, k) => {
      const got = run(layer, batch);
      batch.forEach((_, b) => {
        const what = `${k ? 'mixed' : 'equal'} lengths, row ${b}, ${t} thread(s)`;
        sameBits(got.out[b], alone[k * batch.length + b].out[0], `output: ${what}`);
        sameBits(got.h[b], alone[k * batch.length + b].h[0], `final state: ${what}`);
      });
    });
  }
}

/**
 * `rows` sequences of `steps` steps (ids from `first`), and the same batch
 * with every `every`-th sequence cut to a random shorter length.
 */
function equalAndMixed(rows: number, steps: number, first: number, every: number, seed: number): [Float32Array[], Float32Array[]] {
  const random = rng(seed);
  const equal = Array.from({ length: rows }, (_, i) => sequence(first + i, steps));
  const mixed = equal.map((s, i) => (i % every === 0 ? s.subarray(0, (1 + Math.floor(random() * (steps - 1))) * I) : s));
  return [equal, mixed];
}

describe(`recurrent layers: batch invariance on the ${eddy.runtimeInfo().isa} kernels`, () => {
  const threads = eddy.getNumThreads();
  after(() => eddy.setNumThreads(threads));

  for (const [name, make] of LAYERS) {
    // Up to 40 rows project their input a chunk of steps at a time, row by
    // row (projection_chunk in native/workspace_layout.h); 48 rows step by step.
    it(`${name}: a sequence alone, in batches of 3, 17, 40 and 48, at any position and thread count, gives identical bits`, () => {
      eddy.manualSeed(11);
      const layer = make();
      const random = rng(5);
      const pool = Array.from({ length: 40 }, (_, i) => sequence(100 + i, 1 + Math.floor(random() * T)));
      eddy.setNumThreads(1);
      const alone = pool.map((s) => run(layer, [s]));
      for (const n of [3, 17, 40, 48]) {
        for (const [t, split] of THREADS_AND_SPLITS) {
          eddy.setNumThreads(t);
          const how = `${t} thread(s), ${split ?? 'the rule\'s'} split`;
          // A rotated slice of the pool: each sequence lands at other positions and beside other lengths.
          const idx = Array.from({ length: n }, (_, i) => (i * 7 + n) % pool.length);
          const got = withSplit(split, () => run(layer, idx.map((i) => pool[i])));
          idx.forEach((i, b) => {
            sameBits(got.out[b], alone[i].out[0], `${name}: output of sequence ${i} at row ${b} of ${n}, ${how}`);
            sameBits(got.h[b], alone[i].h[0], `${name}: final state of sequence ${i} at row ${b} of ${n}, ${how}`);
          });
        }
      }
    });
  }

  // A second layer whose W_ih (4·184 × 2·184 floats) outgrows an L2 projects
  // a block of steps of all rows in one GEMM (projection_block in
  // native/workspace_layout.h) when every row is live, step by step when not;
  // a sequence alone projects a chunk of its steps. With 48 rows a block is
  // 29 steps (4 MB of gates): 33 steps make a whole block and a partial one.
  it('a bidirectional LSTM projecting a block of steps at once gives the bits of each sequence alone', () => {
    eddy.manualSeed(13);
    const layer = new eddy.LSTM({ inputSize: I, hiddenSize: 184, numLayers: 2, bidirectional: true });
    equalAndMixedAsAlone(layer, ...equalAndMixed(48, 33, 300, 5, 6));
  });

  // W_ih (4·256 × 7) fits an L2 but W_ih and W_hh together do not: inference
  // projects blocks of 16 steps for 16 rows on one thread (1 MB of gates),
  // 21 steps making a whole block and a partial one; 2 and 3 threads split
  // the 16 rows' units and project step by step.
  it('an LSTM whose W_ih and W_hh together outgrow an L2 projects blocks in inference with the bits of each sequence alone', () => {
    eddy.manualSeed(17);
    const layer = new eddy.LSTM({ inputSize: I, hiddenSize: 256 });
    equalAndMixedAsAlone(layer, ...equalAndMixed(16, 21, 500, 3, 8));
  });

  // A W_hh of 4·264 × 264 floats (1.1 MB) is past the size the fused steps
  // keep in L2 between steps (kL2FetchFloats in native/packed_gemm_tiles.h):
  // on AVX-512 each unit block's tiles fetch the next block's panels, 17
  // blocks with a partial last one. The fetches change no arithmetic.
  it('an LSTM whose W_hh outgrows an L2 gives the bits of each sequence alone', () => {
    eddy.manualSeed(19);
    const layer = new eddy.LSTM({ inputSize: I, hiddenSize: 264 });
    equalAndMixedAsAlone(layer, ...equalAndMixed(20, 6, 700, 4, 9));
  });

  const TRAINED: [string, () => Layer][] = [
    ['LSTM', () => new eddy.LSTM({ inputSize: I, hiddenSize: H, numLayers: 2 })],
    ['GRU', () => new eddy.GRU({ inputSize: I, hiddenSize: H, numLayers: 2 })],
    ['RNN tanh', () => new eddy.RNN({ inputSize: I, hiddenSize: H, numLayers: 2 })],
  ];
  // 13 rows of mixed lengths run as one group; 20 rows of equal length as
  // two groups by batch, as one team (forward and backward) by units.
  const BATCHES: [string, number, (random: () => number) => number[]][] = [
    ['13 rows of mixed lengths', 13, (random) => Array.from({ length: 13 }, () => 1 + Math.floor(random() * T))],
    ['20 rows of equal length', 20, () => Array(20).fill(T)],
  ];
  for (const [name, make] of TRAINED) {
    for (const [what, B, lengthsOf] of BATCHES) {
      it(`${name}, ${what}: a training step gives identical bits whether its steps are split by batch groups or by hidden units`, () => {
        eddy.manualSeed(7);
        const layer = make();
        const lengths = lengthsOf(rng(8));
        const x = randomArray(B * T * I, rng(9));
        const dy = randomArray(B * T * H, rng(10));
        const step = (split: string) => withSplit(split, () => {
          layer.train();
          layer.zeroGrad();
          const input = eddy.tensor(x, [B, T, I], { requiresGrad: true });
          const r = layer.forward(input, { lengths });
          eddy.backward([r.output], [eddy.tensor(dy, [B, T, H])]);
          const c = r.c ? [r.c.contiguous().data] : [];
          return [r.output.contiguous().data, r.h.contiguous().data, ...c, input.grad!.data, ...layer.parameters().map((p) => p.grad!.data)];
        });
        eddy.setNumThreads(2);
        const batch = step('batch');
        const units = step('units');
        batch.forEach((a, i) => sameBits(units[i], a, `training result ${i}`));
        assert.ok(batch[0].some((v) => v !== 0), 'the layer produced a non-trivial output');
      });
    }
  }

  for (const batchFirst of [true, false]) {
    it(`equal lengths shorter than the padding (the caller's ${batchFirst ? 'batch-first' : 'time-major'} tensors used in place) give the bits of a mixed batch`, () => {
      eddy.manualSeed(4);
      const layer = new eddy.LSTM({ inputSize: I, hiddenSize: H, numLayers: 2, batchFirst });
      const B = 5;
      const full = randomArray((B + 1) * T * I, rng(12));
      // Element (b, t, i) of an n-sequence tensor in this layout.
      const at = (n: number, b: number, t: number, i: number, w: number) => (batchFirst ? (b * T + t) * w + i : (t * n + b) * w + i);
      const sub = new Float32Array(B * T * I);
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let i = 0; i < I; i++) sub[at(B, b, t, i, I)] = full[at(B + 1, b, t, i, I)];
      const shape = (n: number) => (batchFirst ? [n, T, I] : [T, n, I]);
      for (const [t, split] of THREADS_AND_SPLITS) {
        eddy.setNumThreads(t);
        const forward = (x: Float32Array, n: number, lengths: number[]) =>
          withSplit(split, () => eddy.noGrad(() => layer.eval().forward(eddy.tensor(x, shape(n)), { lengths })).output.contiguous().data);
        const alone = forward(sub, B, Array(B).fill(5));
        const mixed = forward(full, B + 1, [...Array(B).fill(5), T]);
        const y = new Float32Array(B * T * H);
        for (let b = 0; b < B; b++) for (let s = 0; s < T; s++) for (let j = 0; j < H; j++) y[at(B, b, s, j, H)] = mixed[at(B + 1, b, s, j, H)];
        sameBits(alone, y, `${t} thread(s), ${split ?? 'the rule\'s'} split`);
        assert.ok(alone.some((v) => v !== 0), 'a non-trivial output');
      }
    });
  }

  // With equal lengths the last layer writes the caller's output, and backward
  // reads its gradient, in place: rows T steps apart batch-first, B rows a
  // step time-major, offset by direction and, on 3 threads, by batch group.
  // The arithmetic is the same in both layouts, so every result matches bit
  // for bit; a wrong stride or offset in either does not.
  it('a bidirectional LSTM training step gives the same bits with batch-first and time-major tensors used in place', () => {
    eddy.manualSeed(15);
    const B = 16;
    const width = 2 * H;
    const x = randomArray(B * T * I, rng(16));
    const dy = randomArray(B * T * width, rng(17));
    const relayout = (a: Float32Array, w: number) => toTimeMajor(a, B, T, w);
    const base = new eddy.LSTM({ inputSize: I, hiddenSize: H, numLayers: 2, bidirectional: true });
    const step = (batchFirst: boolean) => {
      const layer = new eddy.LSTM({ inputSize: I, hiddenSize: H, numLayers: 2, bidirectional: true, batchFirst });
      layer.loadStateDict(base.stateDict());
      layer.train();
      const input = eddy.tensor(batchFirst ? x : relayout(x, I), batchFirst ? [B, T, I] : [T, B, I], { requiresGrad: true });
      const r = layer.forward(input);
      eddy.backward([r.output], [eddy.tensor(batchFirst ? dy : relayout(dy, width), r.output.shape)]);
      const y = r.output.contiguous().data;
      const dx = input.grad!.data;
      return [batchFirst ? relayout(y, width) : y, r.h.contiguous().data, r.c!.contiguous().data, batchFirst ? relayout(dx, I) : dx,
        ...layer.parameters().map((p) => p.grad!.data)];
    };
    for (const t of [1, 3]) {
      eddy.setNumThreads(t);
      const batchFirst = step(true);
      const timeMajor = step(false);
      batchFirst.forEach((a, i) => sameBits(a, timeMajor[i], `result ${i}, ${t} thread(s)`));
      assert.ok(batchFirst[0].some((v) => v !== 0) && batchFirst[3].some((v) => v !== 0), 'non-trivial output and input gradient');
    }
  });

  it('runtimeInfo() reports the split the rule chose, and EDDY_RECURRENT_SPLIT overrides it', () => {
    eddy.setNumThreads(2);
    const x = (n: number, rows = 16) => eddy.tensor(randomArray(rows * 3 * n, rng(13)), [rows, 3, n]);
    const split = (layer: Layer, how?: string, rows = 16) => withSplit(how, () => {
      // The rule afresh: a loaded machine may have made the previous team wait and the rule back off.
      eddy.setNumThreads(eddy.getNumThreads());
      eddy.noGrad(() => layer.eval().forward(x(4, rows)));
      return eddy.runtimeInfo().kernels.recurrentSplit;
    });
    assert.strictEqual(split(new eddy.LSTM({ inputSize: 4, hiddenSize: 256 })), 'units', 'a one-direction LSTM with 256 units');
    assert.strictEqual(split(new eddy.LSTM({ inputSize: 4, hiddenSize: 256 }), undefined, 19), 'units', 'LSTM 256, 19 rows: fewer than 10 a thread');
    assert.strictEqual(split(new eddy.LSTM({ inputSize: 4, hiddenSize: 256 }), undefined, 20), 'groups', 'LSTM 256, 20 rows: its W_hh fits L2, 10 a thread');
    assert.strictEqual(split(new eddy.LSTM({ inputSize: 4, hiddenSize: 384 }), undefined, 63), 'units', 'LSTM 384, 63 rows: fewer than 32 a thread');
    assert.strictEqual(split(new eddy.LSTM({ inputSize: 4, hiddenSize: 384 }), undefined, 64), 'groups', 'LSTM 384, 64 rows: 32 a thread share each panel load');
    assert.strictEqual(split(new eddy.RNN({ inputSize: 4, hiddenSize: 512 }), undefined, 64), 'groups', 'an RNN of 512 units, 64 rows');
    assert.strictEqual(split(new eddy.LSTM({ inputSize: 4, hiddenSize: 64 })), 'groups', 'few units: W_hh fits in L2');
    assert.strictEqual(split(new eddy.LSTM({ inputSize: 4, hiddenSize: 256, bidirectional: true })), 'directions', 'both directions at once');
    assert.strictEqual(split(new eddy.LSTM({ inputSize: 4, hiddenSize: 256, bidirectional: true }), 'batch'), 'batch', 'a direction per thread');
    // An RNN folds its input from 16 rows on every path (native/layer_loop.h folds_input).
    assert.strictEqual(split(new eddy.RNN({ inputSize: 4, hiddenSize: 64, bidirectional: true })), 'directions', 'small weights, 16 rows: the input folded into the steps');
    assert.strictEqual(split(new eddy.RNN({ inputSize: 4, hiddenSize: 64, bidirectional: true }), undefined, 8), 'batch', 'small weights, 8 rows: each direction projects its steps as it goes');
    assert.strictEqual(split(new eddy.GRU({ inputSize: 4, hiddenSize: 64, bidirectional: true })), 'batch', 'a small GRU projects its steps as it goes');
    assert.strictEqual(split(new eddy.GRU({ inputSize: 4, hiddenSize: 320 })), 'units', 'a one-direction GRU with 320 units');
    assert.strictEqual(split(new eddy.GRU({ inputSize: 4, hiddenSize: 320, resetAfter: false })), 'batch', 'reset-before GRU steps are not fused');
    assert.strictEqual(split(new eddy.GRU({ inputSize: 4, hiddenSize: 256 })), 'groups', 'a GRU of 256 units: W_hh fits in L2');
    assert.strictEqual(split(new eddy.RNN({ inputSize: 4, hiddenSize: 512 })), 'units', 'an RNN with 512 units');
    assert.strictEqual(split(new eddy.RNN({ inputSize: 4, hiddenSize: 256 })), 'groups', 'an RNN of 256 units: W_hh fits in L2');
    assert.strictEqual(split(new eddy.LSTM({ inputSize: 4, hiddenSize: 64 }), 'units'), 'units');
    assert.strictEqual(split(new eddy.LSTM({ inputSize: 4, hiddenSize: 256 }), 'batch'), 'batch');
    eddy.setNumThreads(1);
    assert.strictEqual(split(new eddy.LSTM({ inputSize: 4, hiddenSize: 256 })), 'batch', 'one thread');
  });

  // Bidirectional layers whose W_ih and W_hh outgrow an L2, every row live
  // at every step: both directions' projections of all steps go to the pool
  // as one job, then both time loops run at once in pieces of unit blocks
  // that either thread takes (native/layer_loop.h, forward_chains_together).
  // The second layer's W_ih outgrows an L2 alone, so training runs it that
  // way too. An odd and an even step count: inference alternates h between
  // two buffers.
  const TOGETHER: [string, (batchFirst?: boolean) => Layer][] = [
    ['LSTM', (batchFirst = true) => new eddy.LSTM({ inputSize: I, hiddenSize: 256, numLayers: 2, bidirectional: true, batchFirst })],
    ['GRU', (batchFirst = true) => new eddy.GRU({ inputSize: I, hiddenSize: 296, numLayers: 2, bidirectional: true, batchFirst })],
    ['RNN relu', (batchFirst = true) =>
      new eddy.RNN({ inputSize: I, hiddenSize: 512, numLayers: 2, bidirectional: true, nonlinearity: 'relu', batchFirst })],
  ];
  for (const [name, make] of TOGETHER) {
    it(`${name}, bidirectional: both directions at once give the bits of a direction per thread, in inference and training`, () => {
      eddy.manualSeed(23);
      checkSplitBits(name, make(), 16, 24, 'directions', 'a direction per thread');
    });
  }

  // There the first layer's projections read the caller's input in place:
  // batch-first, a GEMM per row of the batch over its steps (consecutive in
  // memory); time-major, one GEMM over all steps' rows. An element is the
  // same chain either way, so the bits agree; a wrong stride or offset in
  // either does not.
  for (const [name, make] of TOGETHER) {
    it(`${name}, bidirectional: inference on batch-first input gives the bits of time-major input`, () => {
      eddy.manualSeed(29);
      const B = 16, T = 9;
      const batchFirst = make(), timeMajor = make(false);
      timeMajor.loadStateDict(batchFirst.stateDict());
      const x = randomArray(B * T * I, rng(30));
      const [yb, yt] = eddy.noGrad(() => [
        batchFirst.eval().forward(eddy.tensor(x, [B, T, I])).output.contiguous().data,
        timeMajor.eval().forward(eddy.tensor(toTimeMajor(x, B, T, I), [T, B, I])).output.contiguous().data,
      ]);
      const ybt = toTimeMajor(yb, B, T, yb.length / (B * T));
      assert.ok(ybt.some((v) => v !== 0), 'non-trivial output');
      sameBits(ybt, yt, `${name}: batch-first against time-major`);
    });
  }

  // One-direction layers whose 21 rows make two batch groups (11 and 10) on
  // two threads: the groups' time loops run as two chains of pieces that
  // either thread takes (native/layer_loop.h, forward_chains_together), the
  // input projection a piece of its own where a group would project: every
  // step (the RNN, and the LSTM in training), a block of steps (the LSTM in
  // inference) or a chunk of steps (the GRU of 64 units).
  const GROUPS: [string, () => Layer][] = [
    ['LSTM', () => new eddy.LSTM({ inputSize: I, hiddenSize: 256 })],
    ['GRU', () => new eddy.GRU({ inputSize: I, hiddenSize: 64 })],
    ['RNN relu, 2 layers', () => new eddy.RNN({ inputSize: I, hiddenSize: 256, numLayers: 2, nonlinearity: 'relu' })],
  ];
  for (const [name, make] of GROUPS) {
    it(`${name}: two batch groups run together give the bits of a group per thread, in inference and training`, () => {
      eddy.manualSeed(29);
      checkSplitBits(name, make(), 21, 30, 'groups', 'a group per thread');
    });
  }

  it('falls back to batch groups while more threads than cores keep a team waiting', function () {
    // 16 threads at least twice the cores: members are taken off their cores mid-step.
    if (os.availableParallelism() * 2 > 16) this.skip();
    eddy.setNumThreads(16);
    const layer = new eddy.LSTM({ inputSize: 4, hiddenSize: 512 });  // 32 unit blocks or more: 16 members
    const x = eddy.tensor(randomArray(2 * 50 * 4, rng(14)), [2, 50, 4]);
    const split = () => withSplit(undefined, () => {
      eddy.noGrad(() => layer.eval().forward(x));
      return eddy.runtimeInfo().kernels.recurrentSplit;
    });
    assert.strictEqual(split(), 'units', 'the rule tries a team first');
    assert.strictEqual(split(), 'batch', 'then batch groups');
    eddy.setNumThreads(2);
    assert.strictEqual(split(), 'units', 'a new thread count starts the rule afresh');
  });

  it('the output does not depend on the rest of the batch even when the batch holds copies of one sequence', () => {
    eddy.manualSeed(3);
    const layer = new eddy.LSTM({ inputSize: I, hiddenSize: H });
    const s = sequence(9, T);
    const one = run(layer, [s]);
    const many = run(layer, Array.from({ length: 9 }, () => s));
    many.out.forEach((o, b) => sameBits(o, one.out[0], `row ${b}`));
    assert.ok(one.out[0].some((v) => v !== 0), 'the layer produced a non-trivial output');
  });
});
