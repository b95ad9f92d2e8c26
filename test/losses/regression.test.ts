import * as assert from 'assert';
import * as eddy from '../../lib';
import { ShapeError, Tensor, ValidationError } from '../../lib';
import { Layout, gradcheck, randomInput } from '../gradcheck';
import { rng } from '../helpers';
import { RefTensor, assertRelative, loadCases, throwsExactly, toTensor } from './fixtures';

const TOL = 1e-5;

interface ElementwiseCase {
  name: string;
  loss: 'mse' | 'mae' | 'huber' | 'binaryCrossEntropyWithLogits';
  input: RefTensor;
  target: RefTensor;
  options: Record<string, unknown>;
  grad_output: RefTensor | null;
  value: RefTensor;
  grad_input: RefTensor;
  grad_target: RefTensor;
}

type LossFn = (x: Tensor, y: Tensor, opts?: never) => Tensor;
const LOSSES: Record<ElementwiseCase['loss'], LossFn> = {
  mse: eddy.losses.mse as LossFn,
  mae: eddy.losses.mae as LossFn,
  huber: eddy.losses.huber as LossFn,
  binaryCrossEntropyWithLogits: eddy.losses.binaryCrossEntropyWithLogits as LossFn,
};

function runCases(test: Mocha.Context, file: string): void {
  const cases = loadCases<ElementwiseCase>(test, file);
  let worstValue = 0;
  let worstGrad = 0;
  for (const c of cases) {
    const x = toTensor(c.input, true);
    const y = toTensor(c.target, true);
    const out = LOSSES[c.loss](x, y, c.options as never);
    assert.deepStrictEqual(out.shape, c.value.shape, `${c.name}: shape`);
    worstValue = Math.max(worstValue, assertRelative(out.toFloat32Array(), c.value.data, TOL, `${c.name}: value`));
    out.backward(c.grad_output ? toTensor(c.grad_output) : undefined);
    worstGrad = Math.max(worstGrad, assertRelative((x.grad as Tensor).toFloat32Array(), c.grad_input.data, TOL, `${c.name}: grad input`));
    worstGrad = Math.max(worstGrad, assertRelative((y.grad as Tensor).toFloat32Array(), c.grad_target.data, TOL, `${c.name}: grad target`));
  }
  console.log(`      ${cases.length} cases: largest relative difference ${worstValue.toExponential(2)} (values), ${worstGrad.toExponential(2)} (gradients); tolerance 1e-5`);
}

/** Inputs in a layout, and targets at least `gap` away from them (no kinks within the finite-difference step). */
function pair(shape: number[], layout: Layout, random: () => number, gap: number, avoid?: number): [Tensor, Tensor] {
  const x = randomInput(shape, random, layout);
  const flat = x.toFloat32Array();
  const y = flat.map((v) => {
    let d = (random() < 0.5 ? -1 : 1) * (gap + random());
    if (avoid !== undefined && Math.abs(Math.abs(d) - avoid) < gap) d += Math.sign(d) * 2 * gap;
    return v - d;
  });
  return [x, eddy.tensor(y, shape)];
}

describe('losses: mse, mae, huber', () => {
  it('match PyTorch (values and gradients for input and target)', function () {
    runCases(this, 'regression.json');
  });

  it('agree with hand-computed values', () => {
    const x = eddy.tensor([1, 2, 3, 5]);
    const y = eddy.tensor([0, 2, 5, 1.5]);
    // differences 1, 0, -2, 3.5
    assert.strictEqual(eddy.losses.mse(x, y).item(), (1 + 0 + 4 + 12.25) / 4);
    assert.strictEqual(eddy.losses.mse(x, y, { reduction: 'sum' }).item(), 17.25);
    assert.deepStrictEqual(eddy.losses.mae(x, y, { reduction: 'none' }).toArray(), [1, 0, 2, 3.5]);
    // huber, delta 1: 0.5, 0, 2 - 0.5, 3.5 - 0.5
    assert.strictEqual(eddy.losses.huber(x, y, { reduction: 'sum' }).item(), 0.5 + 0 + 1.5 + 3);
    // delta 2.5: 0.5, 0, 2, 2.5·(3.5 - 1.25)
    assert.deepStrictEqual(eddy.losses.huber(x, y, { delta: 2.5, reduction: 'none' }).toArray(), [0.5, 0, 2, 5.625]);
    // mae's gradient at x = y is 0, as in PyTorch
    const xs = eddy.tensor([2, 2], undefined, { requiresGrad: true });
    eddy.losses.mae(xs, eddy.tensor([2, 1])).backward();
    assert.deepStrictEqual((xs.grad as Tensor).toArray(), [0, 0.5]);
  });

  it('pass gradient checks for input and target in every layout', () => {
    const random = rng(401);
    for (const layout of ['contiguous', 'transposed', 'sliced'] as Layout[]) {
      for (const reduction of ['mean', 'sum', 'none'] as const) {
        gradcheck((a, b) => eddy.losses.mse(a, b, { reduction }), pair([3, 4], layout, random, 0.1));
        gradcheck((a, b) => eddy.losses.mae(a, b, { reduction }), pair([3, 4], layout, random, 0.1));
        gradcheck((a, b) => eddy.losses.huber(a, b, { reduction, delta: 0.7 }), pair([3, 4], layout, random, 0.05, 0.7));
      }
    }
  });

  it('reject bad arguments with exact messages', () => {
    const x = eddy.zeros([2, 3]);
    throwsExactly(() => eddy.losses.mse(x, eddy.zeros([3])), ShapeError, 'Expected target of shape [2, 3] (the shape of input) for mse but received [3]');
    throwsExactly(() => eddy.losses.huber(x, eddy.zeros([3, 2])), ShapeError, 'Expected target of shape [2, 3] (the shape of input) for huber but received [3, 2]');
    throwsExactly(() => eddy.losses.mae(x, x, { reduction: 'avg' as never }), ValidationError, `Expected one of 'mean', 'sum', 'none' for opts.reduction but received "avg" of type string`);
    throwsExactly(() => eddy.losses.huber(x, x, { delta: 0 }), ValidationError, 'Expected positive number for opts.delta but received 0 of type number');
    throwsExactly(() => eddy.losses.mse([1, 2] as never, x), ValidationError, 'Expected Tensor for input but received an array of length 2');
    throwsExactly(() => eddy.losses.mse(x, new Float32Array(6) as never), ValidationError, 'Expected Tensor for target but received Float32Array of length 6');
  });
});

describe('losses: binaryCrossEntropyWithLogits', () => {
  it('matches PyTorch, including saturated logits and posWeight', function () {
    runCases(this, 'bce_with_logits.json');
  });

  it('agrees with hand-computed values and stays finite for huge logits', () => {
    const bce = eddy.losses.binaryCrossEntropyWithLogits;
    // x = 0: log 2 whatever the target; x = ln 3, y = 1: -log σ(ln 3) = log(4/3)
    assert.ok(Math.abs(bce(eddy.tensor([0, Math.log(3)]), eddy.tensor([0.3, 1]), { reduction: 'sum' }).item() - (Math.LN2 + Math.log(4 / 3))) < 1e-6);
    // posWeight 2 doubles the positive term only
    assert.ok(Math.abs(bce(eddy.tensor([Math.log(3)]), eddy.tensor([1]), { posWeight: 2 }).item() - 2 * Math.log(4 / 3)) < 1e-6);
    const x = eddy.tensor([200, -200], undefined, { requiresGrad: true });
    const loss = bce(x, eddy.tensor([0, 1]), { reduction: 'none' });
    assert.deepStrictEqual(loss.toArray(), [200, 200]);
    loss.sum().backward();
    assert.deepStrictEqual((x.grad as Tensor).toArray(), [1, -1]);
  });

  it('passes gradient checks for logits and target', () => {
    const random = rng(402);
    for (const layout of ['contiguous', 'transposed', 'sliced'] as Layout[]) {
      for (const posWeight of [undefined, [0.5, 2, 3]]) {
        const x = randomInput([4, 3], random, layout, -3, 3);
        const y = randomInput([4, 3], random, 'contiguous', 0, 1);
        gradcheck((a, b) => eddy.losses.binaryCrossEntropyWithLogits(a, b, { posWeight, reduction: 'none' }), [x, y]);
        gradcheck((a, b) => eddy.losses.binaryCrossEntropyWithLogits(a, b, { posWeight }), [x, y]);
      }
    }
  });

  it('rejects bad arguments with exact messages', () => {
    const bce = eddy.losses.binaryCrossEntropyWithLogits;
    const x = eddy.zeros([4, 3]);
    throwsExactly(() => bce(x, eddy.zeros([4])), ShapeError, 'Expected target of shape [4, 3] (the shape of logits) for binaryCrossEntropyWithLogits but received [4]');
    throwsExactly(
      () => bce(x, x, { posWeight: [1, 2] }),
      ShapeError,
      'Expected opts.posWeight of length 3 (the last dimension of logits [4, 3]) for binaryCrossEntropyWithLogits but received an array of length 2',
    );
    throwsExactly(
      () => bce(x, x, { posWeight: eddy.zeros([3, 1]) }),
      ShapeError,
      'Expected opts.posWeight of shape [3] (the last dimension of logits [4, 3]) for binaryCrossEntropyWithLogits but received [3, 1]',
    );
    throwsExactly(() => bce(x, x, { posWeight: [1, NaN, 2] }), ValidationError, 'Expected finite numbers for opts.posWeight[1] but received NaN of type number');
    throwsExactly(() => bce(x, x, { reduction: 'mean ' as never }), ValidationError, `Expected one of 'mean', 'sum', 'none' for opts.reduction but received "mean " of type string`);
  });
});
