import * as assert from 'assert';
import * as eddy from '../../lib';
import { ShapeError, Tensor, ValidationError } from '../../lib';
import { CtcOptions } from '../../lib/losses/ctc';
import { gradcheck, randomInput } from '../gradcheck';
import { assertClose, rng } from '../helpers';
import { RefTensor, assertRelative, loadCases, throwsExactly, toTensor } from './fixtures';

const TOL = 1e-5;

interface CtcCase {
  name: string;
  input: RefTensor;
  targets: number[][];
  input_lengths: number[];
  target_lengths: number[];
  options: CtcOptions;
  grad_output: RefTensor | null;
  value: RefTensor;
  grad_logits: RefTensor;
}

/** The gradient for logits z behind lp = log_softmax(z), from the gradient g for lp: g - softmax(z)·Σg per row. */
function throughLogSoftmax(lp: Float32Array, g: Float32Array, C: number): Float64Array {
  const out = new Float64Array(g.length);
  for (let r = 0; r < g.length / C; r++) {
    let sum = 0;
    let norm = 0;
    for (let c = 0; c < C; c++) {
      sum += g[r * C + c];
      norm += Math.exp(lp[r * C + c]);
    }
    for (let c = 0; c < C; c++) out[r * C + c] = g[r * C + c] - (Math.exp(lp[r * C + c]) / norm) * sum;
  }
  return out;
}

/**
 * Brute force over every path of length T through C classes: the paths
 * that collapse (merge repeats, drop blanks) to the target, their total
 * probability p, and d(-log p)/d lp(t, c) = -Σ_{paths with π_t = c} P(π) / p.
 */
function bruteForce(lp: number[][], target: number[], blank: number): { loss: number; grad: number[][] } {
  const T = lp.length;
  const C = lp[0].length;
  let p = 0;
  const mass = lp.map((row) => row.map(() => 0));
  const path = new Array<number>(T).fill(0);
  for (let k = 0; k < C ** T; k++) {
    for (let t = 0, r = k; t < T; t++, r = Math.floor(r / C)) path[t] = r % C;
    const collapsed = path.filter((c, t) => c !== blank && (t === 0 || c !== path[t - 1]));
    if (collapsed.length !== target.length || collapsed.some((c, i) => c !== target[i])) continue;
    const prob = Math.exp(path.reduce((s, c, t) => s + lp[t][c], 0));
    p += prob;
    path.forEach((c, t) => (mass[t][c] += prob));
  }
  return { loss: -Math.log(p), grad: mass.map((row) => row.map((m) => -m / p)) };
}

const ctc = eddy.losses.ctc;

describe('losses: ctc', () => {
  it('equals a brute-force sum over all alignments, with its gradient (T ≤ 5, C ≤ 3)', () => {
    const random = rng(421);
    const cases: { C: number; blank: number; targets: number[][]; steps: number[] }[] = [
      { C: 3, blank: 0, targets: [[1, 2], [1, 1], [2], []], steps: [5, 5, 4, 3] },
      { C: 3, blank: 2, targets: [[0, 1, 0], [1, 1], [0]], steps: [5, 4, 1] },
      { C: 2, blank: 0, targets: [[1, 1], [1]], steps: [4, 5] },
    ];
    let worstLoss = 0;
    let worstGrad = 0;
    for (const { C, blank, targets, steps } of cases) {
      const B = targets.length;
      const T = 5;
      // Not normalized: the loss is a function of arbitrary log-probabilities too.
      const x = randomInput([T, B, C], random, 'contiguous', -2, 0).requiresGrad_();
      const out = ctc(x, targets, steps, targets.map((t) => t.length), { blank, reduction: 'none' });
      out.sum().backward();
      const grad = (x.grad as Tensor).toArray() as number[][][];
      const lp = x.toArray() as number[][][];
      targets.forEach((target, b) => {
        const rows = lp.slice(0, steps[b]).map((row) => row[b]);
        const expected = bruteForce(rows, target, blank);
        worstLoss = Math.max(worstLoss, assertClose([out.get(b)], [expected.loss], 1e-5, `loss ${b} of C=${C}`));
        const actualGrad = grad.map((row) => row[b]);
        const expectedGrad = lp.map((_, t) => (t < steps[b] ? expected.grad[t] : new Array(C).fill(0)));
        worstGrad = Math.max(worstGrad, assertClose(actualGrad.flat(), expectedGrad.flat(), 1e-5, `gradient ${b} of C=${C}`));
      });
    }
    console.log(`      largest difference from brute force ${worstLoss.toExponential(2)} (loss), ${worstGrad.toExponential(2)} (gradient); tolerance 1e-5`);
  });

  it('matches PyTorch: reductions, blank, zeroInfinity, padded and concatenated targets', function () {
    const cases = loadCases<CtcCase>(this, 'ctc.json');
    let worstValue = 0;
    let worstGrad = 0;
    for (const c of cases) {
      const C = c.input.shape[2];
      for (const form of ['padded', 'concatenated'] as const) {
        const x = toTensor(c.input, true);
        const targets = form === 'padded' ? eddy.tensor(c.targets) : Int32Array.from(c.targets.flatMap((row, b) => row.slice(0, c.target_lengths[b])));
        const out = ctc(x, targets, Int32Array.from(c.input_lengths), c.target_lengths, c.options);
        assert.deepStrictEqual(out.shape, c.value.shape, `${c.name}: shape`);
        worstValue = Math.max(worstValue, assertRelative(out.toFloat32Array(), c.value.data, TOL, `${c.name} (${form}): value`));
        out.backward(c.grad_output ? toTensor(c.grad_output) : undefined);
        // PyTorch's gradient was taken through log_softmax (see lib/losses/ctc-alignment.ts).
        const g = throughLogSoftmax(x.toFloat32Array(), (x.grad as Tensor).toFloat32Array(), C);
        worstGrad = Math.max(worstGrad, assertRelative(g, c.grad_logits.data, TOL, `${c.name} (${form}): gradient`));
      }
    }
    console.log(`      ${cases.length} cases × 2 target forms: largest relative difference ${worstValue.toExponential(2)} (values), ${worstGrad.toExponential(2)} (gradients); tolerance 1e-5`);
  });

  it('handles impossible alignments and empty inputs like PyTorch', () => {
    const x = randomInput([3, 2, 3], rng(422), 'contiguous', -2, -0.5).requiresGrad_();
    // Target [1, 1] needs 3 steps; sequence 1 has 2.
    const none = ctc(x, [[1, 1], [1, 1]], [3, 2], [2, 2], { reduction: 'none' });
    assert.ok(Number.isFinite(none.get(0)));
    assert.strictEqual(none.get(1), Infinity);
    none.sum().backward();
    const g = (x.grad as Tensor).toArray() as number[][][];
    assert.ok(g[0][1].every(Number.isNaN) && g[1][1].every(Number.isNaN) && g[2][1].every((v) => v === 0));
    x.zeroGrad();
    const zeroed = ctc(x, [[1, 1], [1, 1]], [3, 2], [2, 2], { reduction: 'none', zeroInfinity: true });
    assert.strictEqual(zeroed.get(1), 0);
    zeroed.sum().backward();
    assert.ok(((x.grad as Tensor).toArray() as number[][][]).every((row) => row[1].every((v) => v === 0)));
    // No input steps: loss 0 for an empty target, Infinity otherwise.
    assert.ok(ctc(x, [[], []], [0, 0], [0, 0], { reduction: 'none' }).toFloat32Array().every((v) => v === 0));
    assert.strictEqual(ctc(x, [1], [0, 3], [1, 0], { reduction: 'none' }).get(0), Infinity);
  });

  it('passes gradient checks for logProbs with every reduction', () => {
    const random = rng(423);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      const x = randomInput([5, 3, 4], random, 'transposed', -2.5, -0.2);
      gradcheck((a) => ctc(a, [[1, 1, 3], [2, 0, 0], [3, 2, 0]], [5, 4, 3], [3, 1, 2], { reduction }), [x]);
      gradcheck((a) => ctc(a, Int32Array.of(0, 0, 1, 2, 0), [5, 3, 4], [2, 1, 2], { reduction, blank: 3 }), [x]);
    }
  });

  it('rejects bad arguments with exact messages', () => {
    const x = eddy.zeros([5, 2, 3]);
    throwsExactly(() => ctc(eddy.zeros([5, 3]), [1], [5], [1]), ShapeError, 'Expected logProbs of shape [time, batch, classes] for ctc but received [5, 3]');
    throwsExactly(() => ctc(x, [[1], [2]], [5, 6], [1, 1]), ValidationError, 'Expected inputLengths between 0 and 5 (the number of time steps) but received inputLengths[1] = 6');
    throwsExactly(() => ctc(x, [[1], [2]], [5], [1, 1]), ValidationError, 'Expected inputLengths to be an Int32Array with one entry per sequence (2) but received length 1');
    throwsExactly(() => ctc(x, [[1], [2]], [5, 5], Int32Array.of(1)), ValidationError, 'Expected targetLengths to be an Int32Array with one entry per sequence (2) but received length 1');
    throwsExactly(() => ctc(x, [[1], [2, 1]], [5, 5], [2, 2]), ValidationError, 'Expected targetLengths between 0 and 1 (the length of targets[0]) but received targetLengths[0] = 2');
    throwsExactly(() => ctc(x, eddy.tensor([[1, 2], [2, 1]]), [5, 5], [2, 3]), ValidationError, 'Expected targetLengths between 0 and 2 (the length of the longest row of targets) but received targetLengths[1] = 3');
    throwsExactly(() => ctc(x, Int32Array.of(1, 2, 1, 1), [5, 5], [1, 2]), ShapeError, 'Expected targets of length 3 (the sum of targetLengths) for ctc but received Int32Array of length 4');
    throwsExactly(() => ctc(x, [[1, 2], [0, 1]], [5, 5], [2, 2]), ValidationError, 'Expected target labels (integers between 0 and 2 other than blank 0) for targets but received targets[1][0] = 0');
    throwsExactly(() => ctc(x, [1, 2, 3], [5, 5], [2, 1]), ValidationError, 'Expected target labels (integers between 0 and 2 other than blank 0) for targets but received targets[2] = 3');
    throwsExactly(() => ctc(x, [[1], [2]], [5, 5], [1, 1], { blank: 3 }), ValidationError, 'Expected integer between 0 and 2 for opts.blank but received 3 of type number');
    throwsExactly(() => ctc(x, eddy.zeros([3, 2]), [5, 5], [1, 1]), ShapeError, 'Expected targets of shape [2, maxTargetLength] (padded) or [sum of targetLengths] (concatenated) for ctc but received [3, 2]');
    throwsExactly(() => ctc(x, [[1], [2]], [5, 5], [1, 1], { reduction: 'avg' as never }), ValidationError, `Expected one of 'mean', 'sum', 'none' for opts.reduction but received "avg" of type string`);
    throwsExactly(() => ctc(x, [[1], [2]], [5, 5], [1, 1], { zeroInfinity: 1 as never }), ValidationError, 'Expected boolean for opts.zeroInfinity but received 1 of type number');
  });
});
