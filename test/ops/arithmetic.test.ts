import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';
import { Layout, gradcheck, randomInput } from '../gradcheck';
import { assertClose, rng } from '../helpers';

/** The expected result in float64, by logical indices with numpy broadcasting. */
function reference(a: Tensor, b: Tensor, f: (x: number, y: number) => number): { values: Float64Array; shape: number[] } {
  const rank = Math.max(a.rank, b.rank);
  const pad = (t: Tensor): number[] => [...new Array<number>(rank - t.rank).fill(1), ...t.shape];
  const [sa, sb] = [pad(a), pad(b)];
  const shape = sa.map((n, i) => Math.max(n, sb[i]));
  const size = shape.reduce((x, y) => x * y, 1);
  const values = new Float64Array(size);
  for (let k = 0; k < size; k++) {
    const index: number[] = [];
    for (let d = rank - 1, rest = k; d >= 0; d--, rest = Math.floor(rest / shape[d + 1])) index.unshift(rest % shape[d]);
    const at = (t: Tensor, padded: number[]): number =>
      t.get(...index.slice(rank - t.rank).map((i, d) => (padded[rank - t.rank + d] === 1 ? 0 : i)));
    values[k] = f(at(a, sa), at(b, sb));
  }
  return { values, shape };
}

const OPS: Array<[string, (a: Tensor | number, b: Tensor | number) => Tensor, (x: number, y: number) => number]> = [
  ['add', eddy.add, (x, y) => x + y],
  ['sub', eddy.sub, (x, y) => x - y],
  ['mul', eddy.mul, (x, y) => x * y],
  ['div', eddy.div, (x, y) => x / y],
];

// Shapes that broadcast in every way numpy allows: equal, missing leading
// dimensions, 1s on either side, rank 0.
const SHAPES: Array<[number[], number[]]> = [
  [[2, 3], [2, 3]],
  [[2, 3], [3]],
  [[4], [3, 1, 4]],
  [[2, 1, 4], [3, 1]],
  [[3, 1], [1, 4]],
  [[], [2, 3]],
  [[2, 3], []],
  [[], []],
];

// Keeps divisors in [1, 2]: near 0 the central difference of 1/y has a
// truncation error (eps²·6/y⁴/6) that swamps the tolerance.
function operand(shape: number[], random: () => number, layout: Layout, divisor: boolean): Tensor {
  return divisor ? randomInput(shape, random, layout, 1, 2) : randomInput(shape, random, layout);
}

describe('arithmetic', () => {
  it('broadcasts like numpy in the forward pass', () => {
    const random = rng(1);
    let worst = 0;
    for (const [name, op, f] of OPS) {
      for (const [sa, sb] of SHAPES) {
        for (const layout of ['contiguous', 'transposed', 'sliced'] as Layout[]) {
          const a = operand(sa, random, layout, false);
          const b = operand(sb, random, layout, name === 'div');
          const out = op(a, b);
          const ref = reference(a, b, f);
          assert.deepStrictEqual(out.shape, ref.shape, `${name} ${sa} ${sb}`);
          worst = Math.max(worst, assertClose(out.toFloat32Array(), ref.values, 1e-6, `${name} [${sa}] [${sb}] ${layout}`));
        }
      }
    }
    console.log(`      max scaled difference ${worst.toExponential(2)} (tolerance 1e-6)`);
  });

  it('accepts a number as either operand', () => {
    const t = eddy.tensor([[1, 2], [4, 8]]);
    assert.deepStrictEqual(eddy.add(t, 1).toArray(), [[2, 3], [5, 9]]);
    assert.deepStrictEqual(eddy.sub(10, t).toArray(), [[9, 8], [6, 2]]);
    assert.deepStrictEqual(eddy.mul(t, -2).toArray(), [[-2, -4], [-8, -16]]);
    assert.deepStrictEqual(eddy.div(8, t).toArray(), [[8, 4], [2, 1]]);
    assert.deepStrictEqual(eddy.neg(t).toArray(), [[-1, -2], [-4, -8]]);
    assert.deepStrictEqual(t.add(t).sub(1).mul(t).div(2).toArray(), [[0.5, 3], [14, 60]]);
    assert.deepStrictEqual(eddy.add(2, 3).shape, []);
  });

  for (const [name, op] of OPS) {
    it(`${name}: gradients match finite differences, broadcast and non-contiguous`, () => {
      const random = rng(name.length * 17);
      let worst = 0;
      let cases = 0;
      for (const [sa, sb] of SHAPES) {
        for (const layout of ['contiguous', 'transposed', 'sliced'] as Layout[]) {
          const a = operand(sa, random, layout, false);
          const b = operand(sb, random, layout, name === 'div');
          worst = Math.max(worst, ...gradcheck(op, [a, b]));
          cases++;
        }
      }
      // A number operand: only the tensor side has a gradient.
      const t = operand([2, 3], random, 'transposed', name === 'div');
      worst = Math.max(worst, ...gradcheck((x) => op(x, 1.5), [t]), ...gradcheck((x) => op(-0.7, x), [t]));
      console.log(`      ${cases + 2} cases, max scaled difference ${worst.toExponential(2)} (tolerance 2e-3)`);
    });
  }

  it('neg: gradient matches finite differences', () => {
    const random = rng(3);
    const worst = Math.max(...gradcheck(eddy.neg, [randomInput([3, 4], random, 'transposed')]));
    console.log(`      max scaled difference ${worst.toExponential(2)} (tolerance 2e-3)`);
  });

  it('sums the gradient over broadcast dimensions (a bias used by every row)', () => {
    const x = eddy.tensor([[1, 2, 3], [4, 5, 6]]);
    const bias = eddy.tensor([10, 20, 30], undefined, { requiresGrad: true });
    eddy.add(x, bias).sum().backward();
    assert.deepStrictEqual(bias.grad?.toArray(), [2, 2, 2]);
  });

  it('rejects shapes that do not broadcast and non-tensors with exact messages', () => {
    const a = eddy.zeros([2, 3]);
    assert.throws(() => eddy.add(a, eddy.zeros([2])), {
      name: 'ShapeError',
      message: 'Expected a and b of broadcastable shapes for add but received [2, 3] and [2]',
    });
    assert.throws(() => eddy.div(eddy.zeros([4, 1, 3]), eddy.zeros([2, 2, 1])), {
      name: 'ShapeError',
      message: 'Expected a and b of broadcastable shapes for div but received [4, 1, 3] and [2, 2, 1]',
    });
    assert.throws(() => eddy.mul(a, '2' as never), {
      name: 'ValidationError',
      message: 'Expected Tensor or number for b but received "2" of type string',
    });
    assert.throws(() => eddy.sub([1, 2] as never, a), {
      name: 'ValidationError',
      message: 'Expected Tensor or number for a but received an array of length 2',
    });
    assert.throws(() => eddy.neg(3 as never), { name: 'ValidationError', message: 'Expected Tensor for t but received 3 of type number' });
  });
});
