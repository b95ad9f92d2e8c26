import * as assert from 'assert';
import * as eddy from '../../lib';
import { ShapeError, Tensor, ValidationError } from '../../lib';
import { gradcheck } from '../gradcheck';
import { assertClose, randomArray, rng } from '../helpers';
import { throwsExactly } from '../layers/module-gradcheck';

/** Reference batched product in float64 over logical indices. */
function naiveBmm(a: Tensor, b: Tensor): Float64Array {
  const [B, n, k] = a.shape;
  const m = b.shape[2];
  const out = new Float64Array(B * n * m);
  for (let s = 0; s < B; s++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc += a.get(s, i, p) * b.get(s, p, j);
        out[(s * n + i) * m + j] = acc;
      }
    }
  }
  return out;
}

type Layout = 'contiguous' | 'transposed' | 'sliced' | 'batch-strided';

/** A [B, rows, cols] tensor laid out one of several ways. */
function operand(B: number, rows: number, cols: number, layout: Layout, random: () => number): Tensor {
  const t = (shape: number[]): Tensor => eddy.tensor(randomArray(shape.reduce((x, y) => x * y, 1), random), shape);
  switch (layout) {
    case 'contiguous':
      return t([B, rows, cols]);
    case 'transposed': // each matrix column-major
      return t([B, cols, rows]).transpose(1, 2);
    case 'sliced': // rows wider than cols, non-zero offset
      return t([B, rows, cols + 3]).slice(2, 2, 2 + cols);
    case 'batch-strided': // time-major storage: batch entries interleaved row by row
      return t([rows, B, cols]).transpose(0, 1);
  }
}

const LAYOUTS: Layout[] = ['contiguous', 'transposed', 'sliced', 'batch-strided'];

describe('bmm', () => {
  it('matches a float64 loop for every pair of layouts', () => {
    const random = rng(5);
    let worst = 0;
    for (let trial = 0; trial < 6; trial++) {
      const B = 1 + Math.floor(random() * 4), n = 1 + Math.floor(random() * 7), k = 1 + Math.floor(random() * 9), m = 1 + Math.floor(random() * 6);
      for (const la of LAYOUTS) {
        for (const lb of LAYOUTS) {
          const a = operand(B, n, k, la, random);
          const b = operand(B, k, m, lb, random);
          const c = eddy.bmm(a, b);
          assert.deepStrictEqual(c.shape, [B, n, m]);
          worst = Math.max(worst, assertClose(c.data, naiveBmm(a, b), 1e-5, `${la} × ${lb}`));
        }
      }
    }
    console.log(`      max scaled difference ${worst.toExponential(2)} (tolerance 1e-5)`);
  });

  it('gradients match finite differences for both operands', () => {
    const random = rng(9);
    for (const [la, lb] of [['contiguous', 'contiguous'], ['transposed', 'sliced'], ['batch-strided', 'transposed']] as [Layout, Layout][]) {
      const worst = gradcheck(eddy.bmm, [operand(3, 2, 4, la, random), operand(3, 4, 5, lb, random)]);
      console.log(`      ${la} × ${lb}: max scaled difference ${Math.max(...worst).toExponential(1)}`);
    }
  });

  it('gives zeros for an empty inner dimension', () => {
    const c = eddy.bmm(eddy.zeros([2, 3, 0]), eddy.zeros([2, 0, 4]));
    assert.deepStrictEqual(c.shape, [2, 3, 4]);
    assert.ok(c.data.every((v) => v === 0));
  });

  it('rejects operands that are not 3-D or do not chain', () => {
    throwsExactly(() => eddy.bmm(eddy.zeros([2, 3]), eddy.zeros([2, 3, 4])), ShapeError, 'Expected a 3-D tensor for a in bmm but received shape [2, 3]');
    throwsExactly(() => eddy.bmm(eddy.zeros([2, 3, 4]), eddy.zeros([2, 5, 4])), ShapeError, 'Expected b of shape [2, 4, m] for bmm with a of shape [2, 3, 4] but received [2, 5, 4]');
    throwsExactly(() => eddy.bmm(eddy.zeros([2, 3, 4]), eddy.zeros([3, 4, 4])), ShapeError, 'Expected b of shape [2, 4, m] for bmm with a of shape [2, 3, 4] but received [3, 4, 4]');
    throwsExactly(() => eddy.bmm(eddy.zeros([2, 3, 4]), [1] as never), ValidationError, 'Expected Tensor for b but received an array of length 1');
  });
});
