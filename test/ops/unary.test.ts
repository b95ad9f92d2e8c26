import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';
import { Layout, gradcheck, randomInput } from '../gradcheck';
import { assertClose, rng } from '../helpers';

interface Case {
  name: string;
  op: (t: Tensor) => Tensor;
  reference: (x: number) => number;
  /** Input range: inside the domain, and away from kinks by more than gradcheck's eps. */
  lo: number;
  hi: number;
}

const CASES: Case[] = [
  { name: 'tanh', op: eddy.tanh, reference: Math.tanh, lo: -2, hi: 2 },
  { name: 'sigmoid', op: eddy.sigmoid, reference: (x) => 1 / (1 + Math.exp(-x)), lo: -3, hi: 3 },
  { name: 'relu', op: eddy.relu, reference: (x) => Math.max(x, 0), lo: -1, hi: 1 },
  { name: 'exp', op: eddy.exp, reference: Math.exp, lo: -1, hi: 1 },
  { name: 'log', op: eddy.log, reference: Math.log, lo: 0.5, hi: 2 },
  { name: 'square', op: eddy.square, reference: (x) => x * x, lo: -1.5, hi: 1.5 },
  { name: 'pow 3', op: (t) => eddy.pow(t, 3), reference: (x) => x ** 3, lo: -1.5, hi: 1.5 },
  { name: 'pow 0.5', op: (t) => eddy.pow(t, 0.5), reference: Math.sqrt, lo: 0.5, hi: 2 },
  { name: 'pow -1', op: (t) => eddy.pow(t, -1), reference: (x) => 1 / x, lo: 1, hi: 2 },
  { name: 'pow 0', op: (t) => eddy.pow(t, 0), reference: () => 1, lo: -1, hi: 1 },
];

const LAYOUTS: Layout[] = ['contiguous', 'transposed', 'sliced'];

/** Moves values within 0.05 of 0 away from it: relu has a kink there. */
function awayFromZero(t: Tensor): Tensor {
  const data = t.data;
  for (let i = 0; i < data.length; i++) if (Math.abs(data[i]) < 0.05) data[i] = data[i] < 0 ? -0.05 : 0.05;
  return t;
}

describe('unary', () => {
  it('computes each function like Math in float64', () => {
    const random = rng(11);
    let worst = 0;
    for (const { name, op, reference, lo, hi } of CASES) {
      for (const layout of LAYOUTS) {
        const x = randomInput([3, 5], random, layout, lo, hi);
        const expected = Float64Array.from(x.toFloat32Array(), reference);
        worst = Math.max(worst, assertClose(op(x).toFloat32Array(), expected, 1e-6, `${name} ${layout}`));
      }
    }
    console.log(`      max scaled difference ${worst.toExponential(2)} (tolerance 1e-6)`);
  });

  for (const { name, op, lo, hi } of CASES) {
    it(`${name}: gradient matches finite differences in every layout`, () => {
      const random = rng(name.length * 31 + 7);
      let worst = 0;
      for (const layout of LAYOUTS) {
        for (const shape of [[4, 5], [2, 3, 2], []]) {
          const x = awayFromZero(randomInput(shape, random, layout, lo, hi));
          worst = Math.max(worst, ...gradcheck(op, [x]));
        }
      }
      console.log(`      9 cases, max scaled difference ${worst.toExponential(2)} (tolerance 2e-3)`);
    });
  }

  it('handles extreme inputs without NaN where the function is defined', () => {
    const x = eddy.tensor([-1000, -30, 0, 30, 1000], undefined, { requiresGrad: true });
    const y = eddy.sigmoid(x);
    assert.deepStrictEqual(Array.from(y.data), [0, Math.fround(1 / (1 + Math.exp(30))), 0.5, Math.fround(1 / (1 + Math.exp(-30))), 1]);
    y.sum().backward();
    assert.ok(x.grad?.toFloat32Array().every(Number.isFinite));
    const t = eddy.tensor([-1000, 0, 1000], undefined, { requiresGrad: true });
    eddy.tanh(t).sum().backward();
    assert.deepStrictEqual(Array.from(t.grad?.data ?? []), [0, 1, 0]);
    const r = eddy.tensor([-1, 0, 2], undefined, { requiresGrad: true });
    eddy.relu(r).sum().backward();
    assert.deepStrictEqual(Array.from(r.grad?.data ?? []), [0, 0, 1]); // 0 at the kink, as in PyTorch
    const z = eddy.tensor([0, 2], undefined, { requiresGrad: true });
    eddy.pow(z, 0).sum().backward();
    assert.deepStrictEqual(Array.from(z.grad?.data ?? []), [0, 0]);
  });

  it('rejects bad arguments with exact messages', () => {
    assert.throws(() => eddy.tanh([1, 2] as never), { name: 'ValidationError', message: 'Expected Tensor for t but received an array of length 2' });
    assert.throws(() => eddy.pow(eddy.zeros([2]), NaN), { name: 'ValidationError', message: 'Expected finite number for exponent but received NaN of type number' });
    assert.throws(() => eddy.pow(eddy.zeros([2]), '2' as never), {
      name: 'ValidationError',
      message: 'Expected finite number for exponent but received "2" of type string',
    });
  });
});
