import * as assert from 'assert';
import * as eddy from '../../lib';
import { Generator, ShapeError, Tensor, ValidationError } from '../../lib';
import { throwsExactly } from '../layers/module-gradcheck';

const { init } = eddy;

function stats(t: Tensor): { mean: number; std: number; min: number; max: number } {
  const v = t.toFloat32Array();
  let s = 0, s2 = 0, min = Infinity, max = -Infinity;
  for (const x of v) {
    s += x;
    s2 += x * x;
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  const mean = s / v.length;
  return { mean, std: Math.sqrt(s2 / v.length - mean * mean), min, max };
}

/** Largest |(A·Aᵀ or Aᵀ·A) − c·I| for the smaller Gram matrix of a rows×cols matrix. */
function orthogonality(a: Float32Array, rows: number, cols: number, c = 1): number {
  const tall = rows >= cols;
  const n = tall ? cols : rows, len = tall ? rows : cols;
  const at = (i: number, k: number): number => (tall ? a[k * cols + i] : a[i * cols + k]);
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < len; k++) s += at(i, k) * at(j, k);
      worst = Math.max(worst, Math.abs(s - (i === j ? c : 0)));
    }
  }
  return worst;
}

/** Q with a positive-diagonal R by classical Gram–Schmidt (twice) in float64, columns of a tall matrix. */
function gramSchmidt(a: Float64Array, m: number, n: number): Float64Array {
  const q = new Float64Array(m * n);
  for (let j = 0; j < n; j++) {
    const v = Float64Array.from({ length: m }, (_, i) => a[i * n + j]);
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < j; p++) {
        let d = 0;
        for (let i = 0; i < m; i++) d += q[i * n + p] * v[i];
        for (let i = 0; i < m; i++) v[i] -= d * q[i * n + p];
      }
    }
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    for (let i = 0; i < m; i++) q[i * n + j] = v[i] / norm;
  }
  return q;
}

describe('init', () => {
  it('computes fans and gains exactly as PyTorch does', () => {
    assert.deepStrictEqual(init.calculateFanInAndFanOut(eddy.zeros([3, 4])), { fanIn: 4, fanOut: 3 });
    assert.deepStrictEqual(init.calculateFanInAndFanOut(eddy.zeros([8, 4, 3, 5])), { fanIn: 60, fanOut: 120 });
    assert.strictEqual(init.calculateGain('linear'), 1);
    assert.strictEqual(init.calculateGain('sigmoid'), 1);
    assert.strictEqual(init.calculateGain('tanh'), 5 / 3);
    assert.strictEqual(init.calculateGain('relu'), Math.SQRT2);
    assert.strictEqual(init.calculateGain('selu'), 0.75);
    assert.strictEqual(init.calculateGain('leaky_relu'), Math.sqrt(2 / (1 + 0.01 ** 2)));
    assert.strictEqual(init.calculateGain('leaky_relu', 0.2), Math.sqrt(2 / 1.04));
  });

  it('xavier: bounds and standard deviations from fanIn + fanOut', () => {
    const w = eddy.zeros([200, 300]);
    const a = Math.sqrt(6 / 500);
    let s = stats(init.xavierUniform(w, 1, new Generator(1)));
    assert.ok(s.min >= -a && s.max <= a && s.max > 0.99 * a, `within ±${a}: ${s.min}, ${s.max}`);
    assert.ok(Math.abs(s.std / (a / Math.sqrt(3)) - 1) < 0.02, `uniform std ${s.std}`);
    s = stats(init.xavierUniform(w, 2, new Generator(2)));
    assert.ok(s.max <= 2 * a && s.max > 1.98 * a);
    s = stats(init.xavierNormal(w, 1, new Generator(3)));
    assert.ok(Math.abs(s.std / Math.sqrt(2 / 500) - 1) < 0.03 && Math.abs(s.mean) < 1e-3, `normal std ${s.std}, mean ${s.mean}`);
  });

  it('kaiming: gain for the nonlinearity over the chosen fan', () => {
    const w = eddy.zeros([100, 400]);
    let s = stats(init.kaimingUniform(w, {}, new Generator(4)));
    const bound = Math.sqrt(3) * Math.SQRT2 / Math.sqrt(400); // leaky_relu with a = 0 is relu's gain
    assert.ok(s.min >= -bound && s.max <= bound && s.max > 0.99 * bound, `kaimingUniform bound ${bound}: ${s.max}`);
    s = stats(init.kaimingUniform(w, { mode: 'fanOut', nonlinearity: 'tanh' }, new Generator(5)));
    assert.ok(s.max <= (Math.sqrt(3) * 5) / 3 / 10 && s.max > 0.99 * ((Math.sqrt(3) * 5) / 3 / 10));
    s = stats(init.kaimingNormal(w, { a: 0.5 }, new Generator(6)));
    const std = Math.sqrt(2 / 1.25) / 20;
    assert.ok(Math.abs(s.std / std - 1) < 0.03, `kaimingNormal std ${s.std} vs ${std}`);
    const empty = eddy.zeros([0, 3]);
    assert.strictEqual(init.kaimingNormal(empty), empty);
  });

  it('orthogonal: QᵀQ = I for tall, QQᵀ = I for wide, trailing dimensions flattened, scaled by gain', () => {
    let worst = 0;
    for (const [shape, gain] of [[[64, 64], 1], [[50, 20], 1], [[20, 50], 1], [[10, 4, 5], 1], [[30, 7], 2]] as [number[], number][]) {
      const t = init.orthogonal(eddy.zeros(shape), gain, new Generator(7));
      const d = orthogonality(t.data, shape[0], t.size / shape[0], gain * gain);
      assert.ok(d < 1e-5, `${JSON.stringify(shape)}: max |Gram − gain²·I| ${d}`);
      worst = Math.max(worst, d);
    }
    console.log(`      max |QᵀQ − I| ${worst.toExponential(2)} (tolerance 1e-5)`);
  });

  it('orthogonal: Q of the QR of the normal draw with R\'s diagonal positive, as torch.nn.init.orthogonal_', () => {
    for (const [rows, cols] of [[6, 4], [4, 6]]) {
      const draw = new Generator(8).normal(new Float32Array(rows * cols));
      const [m, n] = rows >= cols ? [rows, cols] : [cols, rows];
      const a = Float64Array.from({ length: m * n }, (_, k) => (rows >= cols ? draw[k] : draw[(k % n) * cols + Math.floor(k / n)]));
      const q = gramSchmidt(a, m, n);
      const expected = Array.from({ length: rows * cols }, (_, k) => (rows >= cols ? q[k] : q[(k % cols) * n + Math.floor(k / cols)]));
      const t = init.orthogonal(eddy.zeros([rows, cols]), 1, new Generator(8));
      t.data.forEach((v, k) => assert.ok(Math.abs(v - expected[k]) < 1e-6, `[${rows}, ${cols}] element ${k}: ${v} vs ${expected[k]}`));
    }
  });

  it('orthogonalPerGate: every gate block of W_hh is orthogonal on its own', () => {
    const w = init.orthogonalPerGate(new eddy.LSTM({ inputSize: 3, hiddenSize: 8 }).namedParameters()[1][1], 4, 1, new Generator(9));
    assert.deepStrictEqual(w.shape, [32, 8]);
    for (let g = 0; g < 4; g++) assert.ok(orthogonality(w.data.data.subarray(g * 64, (g + 1) * 64), 8, 8) < 1e-5, `gate ${g}`);
    assert.ok(orthogonality(w.data.data, 32, 8) > 0.5, 'the whole matrix is not orthogonal');
    throwsExactly(() => init.orthogonalPerGate(eddy.zeros([10, 3]), 4), ShapeError, 'Expected a first dimension divisible by gates (4) for t in orthogonalPerGate but received shape [10, 3]');
  });

  it('constant, zeros, ones, uniform and normal fill in place, views included, and return their argument', () => {
    const t = eddy.zeros([3, 4]);
    assert.strictEqual(init.ones(t.slice(1, 1, 3)).shape[1], 2);
    assert.deepStrictEqual(t.toArray(), [[0, 1, 1, 0], [0, 1, 1, 0], [0, 1, 1, 0]]);
    init.constant(t.transpose(0, 1).select(0, 3), 0.5);
    assert.deepStrictEqual(t.toArray(), [[0, 1, 1, 0.5], [0, 1, 1, 0.5], [0, 1, 1, 0.5]]);
    const p = eddy.Parameter.zeros([10000]);
    assert.strictEqual(init.ones(p), p);
    assert.ok(init.zeros(p).data.data.every((v) => v === 0));
    let s = stats(init.uniform(p, -2, 3, new Generator(10)).data);
    assert.ok(s.min >= -2 && s.max < 3 && Math.abs(s.mean - 0.5) < 0.05, `uniform ${JSON.stringify(s)}`);
    s = stats(init.normal(p, 1, 0.5, new Generator(11)).data);
    assert.ok(Math.abs(s.mean - 1) < 0.02 && Math.abs(s.std / 0.5 - 1) < 0.03, `normal ${JSON.stringify(s)}`);
    s = stats(init.uniform(p).data);
    assert.ok(s.min >= 0 && s.max < 1);
  });

  it('draws from the global generator by default, so manualSeed makes it reproducible', () => {
    eddy.manualSeed(12);
    const a = init.xavierNormal(eddy.zeros([5, 6])).toArray();
    eddy.manualSeed(12);
    assert.deepStrictEqual(init.xavierNormal(eddy.zeros([5, 6])).toArray(), a);
    assert.deepStrictEqual(init.xavierNormal(eddy.zeros([5, 6]), 1, new Generator(12)).toArray(), a);
  });

  it('lstmForgetBias sets the forget slice of bias_ih and zeroes that of bias_hh, in every layer and direction', () => {
    const lstm = new eddy.LSTM({ inputSize: 3, hiddenSize: 2, numLayers: 2, bidirectional: true });
    const before = lstm.stateDict();
    const copy = Object.fromEntries(Object.entries(before).map(([k, v]) => [k, v.toFloat32Array()]));
    assert.strictEqual(init.lstmForgetBias(lstm, 2), lstm);
    let biases = 0;
    for (const [name, v] of Object.entries(lstm.stateDict())) {
      const old = copy[name];
      const expected = Array.from(old);
      if (name.startsWith('bias_ih')) expected.splice(2, 2, 2, 2);
      if (name.startsWith('bias_hh')) expected.splice(2, 2, 0, 0);
      if (name.startsWith('bias')) biases++;
      assert.deepStrictEqual(Array.from(v.data), expected.map(Math.fround), name);
    }
    assert.strictEqual(biases, 8);
    const bi = new eddy.Bidirectional(() => new eddy.LSTM({ inputSize: 3, hiddenSize: 2 }));
    init.lstmForgetBias(bi);
    assert.deepStrictEqual(Array.from(bi.stateDict()['backward_layer.bias_ih_l0'].data.subarray(2, 4)), [1, 1]);
    assert.deepStrictEqual(Array.from(bi.stateDict()['forward_layer.bias_hh_l0'].data.subarray(2, 4)), [0, 0]);
  });

  it('rejects bad arguments with exact messages', () => {
    throwsExactly(() => init.xavierUniform(eddy.zeros([5])), ShapeError, 'Expected a tensor of at least 2 dimensions for t in xavierUniform but received shape [5]');
    throwsExactly(() => init.orthogonal(eddy.zeros([5])), ShapeError, 'Expected a tensor of at least 2 dimensions for t in orthogonal but received shape [5]');
    throwsExactly(() => init.kaimingNormal(eddy.zeros([5])), ShapeError, 'Expected a tensor of at least 2 dimensions for t in kaimingNormal but received shape [5]');
    throwsExactly(() => init.ones([1, 2, 3] as never), ValidationError, 'Expected Tensor or Parameter for t but received an array of length 3');
    throwsExactly(() => init.kaimingUniform(eddy.zeros([2, 2]), { mode: 'fan_in' as never }), ValidationError, `Expected one of 'fanIn', 'fanOut' for mode but received "fan_in" of type string`);
    throwsExactly(() => init.kaimingUniform(eddy.zeros([2, 2]), { nonlinearity: 'gelu' as never }), ValidationError, `Expected one of 'linear', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu' for nonlinearity but received "gelu" of type string`);
    throwsExactly(() => init.uniform(eddy.zeros([2]), 1, 0), ValidationError, 'Expected number >= 1 for b but received 0 of type number');
    throwsExactly(() => init.normal(eddy.zeros([2]), 0, -1), ValidationError, 'Expected number >= 0 for std but received -1 of type number');
    throwsExactly(() => init.xavierNormal(eddy.zeros([2, 2]), 1, {} as never), ValidationError, 'Expected an eddy Generator for generator but received an object');
    throwsExactly(() => init.orthogonalPerGate(eddy.zeros([4, 2]), 0), ValidationError, 'Expected positive integer for gates but received 0 of type number');
    throwsExactly(() => init.lstmForgetBias(new eddy.GRU({ inputSize: 1, hiddenSize: 1 })), ValidationError, 'Expected an LSTM or a module containing one for module but received GRU(inputSize=1, hiddenSize=1)');
    throwsExactly(() => init.lstmForgetBias(new eddy.LSTM({ inputSize: 1, hiddenSize: 1, bias: false })), ValidationError, 'Expected an LSTM with bias: true for lstmForgetBias but received LSTM(inputSize=1, hiddenSize=1, bias=false)');
    throwsExactly(() => init.lstmForgetBias({} as never), ValidationError, 'Expected an LSTM or a module containing one for module but received an object');
  });
});
