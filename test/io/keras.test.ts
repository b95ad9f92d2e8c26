/**
 * Keras weights checked against steps computed here by Keras' own
 * formulas, in Keras' layout (kernel columns in Keras gate order), in
 * float64.
 */
import * as assert from 'assert';
import * as eddy from '../../lib';
import { ShapeError } from '../../lib';
import { assertClose, rng } from '../helpers';

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
const random = rng(12);
const matrix = (r: number, c: number): number[][] => Array.from({ length: r }, () => Array.from({ length: c }, () => random() - 0.5));
const vector = (n: number): number[] => Array.from({ length: n }, () => random() - 0.5);
/** x·W (+ b) for x of length rows, W (rows, cols). */
const dot = (x: number[], W: number[][], b?: number[]): number[] => W[0].map((_, j) => x.reduce((a, xi, i) => a + xi * W[i][j], b ? b[j] : 0));
const gate = (v: number[], g: number, U: number): number[] => v.slice(g * U, (g + 1) * U);

const B = 2;
const T = 3;
const I = 3;
const U = 4;
const xs = Array.from({ length: B }, () => Array.from({ length: T }, () => vector(I)));
const input = eddy.tensor(Float32Array.from(xs.flat(2)), [B, T, I]);

/** Runs a Keras cell step function over every sequence; returns [B, T, U] flat. */
function run(step: (x: number[], state: number[][]) => number[][]): number[] {
  const out: number[] = [];
  for (const seq of xs) {
    let state = [new Array(U).fill(0), new Array(U).fill(0)];
    for (const x of seq) {
      state = step(x, state);
      out.push(...state[0]);
    }
  }
  return out;
}

function check(layer: eddy.LSTM | eddy.GRU | eddy.RNN, expected: number[], what: string): void {
  const y = eddy.noGrad(() => layer.forward(input)).output;
  const diff = assertClose(y.toFloat32Array(), expected, 1e-5, what);
  console.log(`      ${what}: max difference from the hand-computed Keras steps ${diff.toExponential(2)} (tolerance 1e-5)`);
}

describe('io: Keras weights', () => {
  it('LSTM: gates i, f, c, o, kernels transposed, one bias', () => {
    const kernel = matrix(I, 4 * U);
    const recurrentKernel = matrix(U, 4 * U);
    const bias = vector(4 * U);
    const expected = run((x, [h, c]) => {
      const z = dot(h, recurrentKernel, dot(x, kernel, bias));
      const i = gate(z, 0, U).map(sigmoid);
      const f = gate(z, 1, U).map(sigmoid);
      const cc = gate(z, 2, U).map(Math.tanh);
      const o = gate(z, 3, U).map(sigmoid);
      const c2 = c.map((cv, k) => f[k] * cv + i[k] * cc[k]);
      return [c2.map((cv, k) => o[k] * Math.tanh(cv)), c2];
    });
    check(eddy.io.fromKeras('LSTM', { kernel, recurrentKernel, bias }), expected, 'LSTM');
  });

  for (const resetAfter of [true, false]) {
    it(`GRU reset_after=${resetAfter}: gates z, r, h onto r, z, n`, () => {
      const kernel = matrix(I, 3 * U);
      const recurrentKernel = matrix(U, 3 * U);
      const bias = resetAfter ? [vector(3 * U), vector(3 * U)] : vector(3 * U);
      const expected = run((x, [h]) => {
        const xb = dot(x, kernel, resetAfter ? (bias as number[][])[0] : (bias as number[]));
        const Uz = recurrentKernel.map((row) => row.slice(0, U));
        const Ur = recurrentKernel.map((row) => row.slice(U, 2 * U));
        const Uh = recurrentKernel.map((row) => row.slice(2 * U));
        const rb = resetAfter ? (bias as number[][])[1] : new Array(3 * U).fill(0);
        const z = dot(h, Uz, gate(rb, 0, U)).map((v, k) => sigmoid(v + xb[k]));
        const r = dot(h, Ur, gate(rb, 1, U)).map((v, k) => sigmoid(v + xb[U + k]));
        const hh = resetAfter
          ? dot(h, Uh, gate(rb, 2, U)).map((v, k) => Math.tanh(xb[2 * U + k] + r[k] * v))
          : dot(h.map((hv, k) => r[k] * hv), Uh).map((v, k) => Math.tanh(xb[2 * U + k] + v));
        return [h.map((hv, k) => z[k] * hv + (1 - z[k]) * hh[k])];
      });
      check(eddy.io.fromKeras('GRU', { kernel, recurrentKernel, bias }, { resetAfter }), expected, `GRU reset_after=${resetAfter}`);
    });
  }

  it('SimpleRNN (tanh and relu, with and without bias)', () => {
    const kernel = matrix(I, U);
    const recurrentKernel = matrix(U, U);
    const bias = vector(U);
    for (const activation of ['tanh', 'relu'] as const) {
      const act = activation === 'tanh' ? Math.tanh : (v: number) => Math.max(0, v);
      check(eddy.io.fromKeras('SimpleRNN', { kernel, recurrentKernel, bias }, { activation }), run((x, [h]) => [dot(h, recurrentKernel, dot(x, kernel, bias)).map(act)]), `SimpleRNN ${activation}`);
    }
    const noBias = eddy.io.fromKeras('SimpleRNN', { kernel, recurrentKernel });
    assert.strictEqual(noBias.bias, false);
    check(noBias, run((x, [h]) => [dot(h, recurrentKernel, dot(x, kernel)).map(Math.tanh)]), 'SimpleRNN use_bias=False');
  });

  it('names shapes that do not fit', () => {
    assert.throws(() => eddy.io.fromKeras('LSTM', { kernel: matrix(3, 6), recurrentKernel: matrix(2, 8) }), (e: Error) => e instanceof ShapeError && e.message === 'Expected kernel of shape [inputSize, 4 * units] for a Keras LSTM but received [3, 6]');
    assert.throws(() => eddy.io.fromKeras('GRU', { kernel: matrix(3, 6), recurrentKernel: matrix(2, 6), bias: vector(6) }), /Expected shape \[2, 6\] for bias but received \[6\]/);
    assert.throws(() => eddy.io.fromKeras('GRU', { kernel: matrix(3, 6), recurrentKernel: matrix(3, 6) }), /Expected shape \[2, 6\] for recurrentKernel but received \[3, 6\]/);
    assert.throws(() => eddy.io.kerasToStateDict('Conv1D' as 'LSTM', { kernel: [], recurrentKernel: [] }), /Expected one of 'LSTM', 'GRU', 'SimpleRNN' for cell but received "Conv1D"/);
  });
});
