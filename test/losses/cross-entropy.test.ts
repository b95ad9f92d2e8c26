import * as assert from 'assert';
import * as eddy from '../../lib';
import { ShapeError, Tensor, ValidationError } from '../../lib';
import { CrossEntropyOptions } from '../../lib/losses/cross-entropy';
import { Layout, gradcheck, randomInput } from '../gradcheck';
import { rng, withThreads } from '../helpers';
import { RefTensor, assertRelative, loadCases, throwsExactly, toTensor } from './fixtures';

const TOL = 1e-5;

interface CrossEntropyCase {
  name: string;
  input: RefTensor;
  target: RefTensor & { kind: 'indices' | 'probs' };
  options: CrossEntropyOptions & { lengths?: number[] };
  grad_output: RefTensor | null;
  value: RefTensor;
  grad_input: RefTensor;
  grad_target: RefTensor | null;
}

const ce = eddy.losses.crossEntropy;

describe('losses: crossEntropy', () => {
  it('matches PyTorch: indices, ignoreIndex, weights, label smoothing, probabilities, sequences with lengths', function () {
    const cases = loadCases<CrossEntropyCase>(this, 'cross_entropy.json');
    let worstValue = 0;
    let worstGrad = 0;
    for (const c of cases) {
      const z = toTensor(c.input, true);
      const probs = c.target.kind === 'probs';
      const target = probs ? toTensor(c.target, true) : Int32Array.from(c.target.data);
      const opts = { ...c.options, lengths: c.options.lengths && Int32Array.from(c.options.lengths) };
      const out = ce(z, target, opts);
      assert.deepStrictEqual(out.shape, c.value.shape, `${c.name}: shape`);
      worstValue = Math.max(worstValue, assertRelative(out.toFloat32Array(), c.value.data, TOL, `${c.name}: value`));
      out.backward(c.grad_output ? toTensor(c.grad_output) : undefined);
      worstGrad = Math.max(worstGrad, assertRelative((z.grad as Tensor).toFloat32Array(), c.grad_input.data, TOL, `${c.name}: grad logits`));
      if (probs) {
        const gt = ((target as Tensor).grad as Tensor).toFloat32Array();
        worstGrad = Math.max(worstGrad, assertRelative(gt, (c.grad_target as RefTensor).data, TOL, `${c.name}: grad target`));
      }
    }
    console.log(`      ${cases.length} cases: largest relative difference ${worstValue.toExponential(2)} (values), ${worstGrad.toExponential(2)} (gradients); tolerance 1e-5`);
  });

  it('agrees with hand-computed values', () => {
    // Uniform logits over 4 classes: log 4 per row, whatever the target.
    assert.ok(Math.abs(ce(eddy.zeros([3, 4]), [0, 1, 3]).item() - Math.log(4)) < 1e-6);
    // logits [ln 1, ln 3]: p = [1/4, 3/4]; target 1 → -log(3/4); target 0 → log 4
    const z = eddy.tensor([[0, Math.log(3)], [0, Math.log(3)]]);
    const none = ce(z, [1, 0], { reduction: 'none' }).toArray() as number[];
    assert.ok(Math.abs(none[0] - Math.log(4 / 3)) < 1e-6 && Math.abs(none[1] - Math.log(4)) < 1e-6);
    // weights [2, 1]: mean = (1·log(4/3) + 2·log 4) / (1 + 2)
    assert.ok(Math.abs(ce(z, [1, 0], { weight: [2, 1] }).item() - (Math.log(4 / 3) + 2 * Math.log(4)) / 3) < 1e-6);
    // label smoothing 0.5 on row 0: 0.75·(-log 3/4) + 0.25·(-log 1/4)
    assert.ok(Math.abs(ce(z, [1, -100], { labelSmoothing: 0.5 }).item() - (0.75 * Math.log(4 / 3) + 0.25 * Math.log(4))) < 1e-6);
    // The gradient of the mean is (softmax - onehot) / N.
    const zg = eddy.tensor([[0, Math.log(3)]], undefined, { requiresGrad: true });
    ce(zg, [0]).backward();
    const g = (zg.grad as Tensor).toArray() as number[][];
    assert.ok(Math.abs(g[0][0] - (0.25 - 1)) < 1e-7 && Math.abs(g[0][1] - 0.75) < 1e-7);
  });

  it('with lengths equals the loss over the real steps alone; padded steps get no gradient', () => {
    const random = rng(411);
    const z = randomInput([3, 5, 4], random, 'contiguous', -2, 2).requiresGrad_();
    const lengths = Int32Array.of(5, 2, 3);
    const target = [[0, 1, 2, 3, 0], [3, 2, -7, 99, 4], [1, 1, 1, 8, 8]];
    const masked = ce(z, target, { lengths, labelSmoothing: 0.1 });
    masked.backward();
    const rows: number[][] = [];
    const classes: number[] = [];
    lengths.forEach((n, b) => {
      for (let t = 0; t < n; t++) {
        rows.push(Array.from(z.select(0, b).select(0, t).toFloat32Array()));
        classes.push(target[b][t]);
      }
    });
    const packed = ce(eddy.tensor(rows), classes, { labelSmoothing: 0.1 });
    assert.ok(Math.abs(masked.item() - packed.item()) < 1e-6, `${masked.item()} vs ${packed.item()}`);
    const g = z.grad as Tensor;
    assert.deepStrictEqual(Array.from(g.select(0, 1).slice(0, 2).toFloat32Array()), new Array(12).fill(0));
    assert.ok(g.select(0, 1).select(0, 1).toFloat32Array().some((v) => v !== 0));
  });

  it('reads every target form alike and any logits layout', () => {
    const random = rng(412);
    const base = randomInput([2, 3, 4], random);
    const flat = Int32Array.of(0, 1, 2, 3, 2, 1);
    const expected = ce(base, flat, { reduction: 'none' }).toFloat32Array();
    const forms: unknown[] = [Array.from(flat), [[0, 1, 2], [3, 2, 1]], eddy.tensor([[0, 1, 2], [3, 2, 1]])];
    for (const t of forms) assert.deepStrictEqual(ce(base, t as never, { reduction: 'none' }).toFloat32Array(), expected);
    for (const layout of ['transposed', 'sliced'] as Layout[]) {
      const x = randomInput([4, 5], random, layout);
      assert.deepStrictEqual(ce(x, [0, 4, 2, 1], { reduction: 'none' }).toFloat32Array(), ce(x.contiguous(), [0, 4, 2, 1], { reduction: 'none' }).toFloat32Array());
    }
    // All rows ignored: mean is 0/0 = NaN (as in PyTorch), and the gradient is 0.
    const z = eddy.zeros([2, 3]).requiresGrad_();
    const loss = ce(z, [-100, -100]);
    assert.ok(Number.isNaN(loss.item()));
    loss.backward();
    assert.deepStrictEqual(Array.from((z.grad as Tensor).toFloat32Array()), [0, 0, 0, 0, 0, 0]);
  });

  it('passes gradient checks for logits and probability targets', () => {
    const random = rng(413);
    const weight = [0.5, 2, 1, 1.5];
    for (const layout of ['contiguous', 'transposed', 'sliced'] as Layout[]) {
      const z = randomInput([5, 4], random, layout, -2, 2);
      gradcheck((a) => ce(a, [0, 3, -100, 2, 1], { weight, labelSmoothing: 0.1 }), [z]);
      gradcheck((a) => ce(a, [0, 3, 1, 2, 1], { reduction: 'none', ignoreIndex: 1 }), [z]);
      gradcheck((a, t) => ce(a, t, { weight, labelSmoothing: 0.2, reduction: 'sum' }), [z, randomInput([5, 4], random, 'contiguous', 0, 1)]);
    }
    const seq = randomInput([2, 3, 4], random, 'transposed', -2, 2);
    gradcheck((a) => ce(a, [[1, 2, 3], [0, 9, 9]], { lengths: Int32Array.of(3, 1), reduction: 'none' }), [seq]);
    gradcheck((a, t) => ce(a, t, { lengths: Int32Array.of(2, 3) }), [seq, randomInput([2, 3, 4], random, 'contiguous', 0, 1)]);
  });

  it('runs large batches in the fused native pass: float64 reference, same bits on 1 and 2 threads', () => {
    // 517 rows × 75 classes: enough rows for the pool to split them, one
    // ignored row in 13, class weights and label smoothing on.
    const R = 517;
    const C = 75;
    const r = rng(7);
    const logits = Float32Array.from({ length: R * C }, () => 6 * r() - 3);
    const target = Int32Array.from({ length: R }, (_, i) => (i % 13 === 5 ? -100 : Math.floor(r() * C)));
    const weight = Float32Array.from({ length: C }, () => 0.5 + r());
    const eps = 0.1;
    // Float64 reference: a = (ε/C)·w + (1 − ε)·w_y·onehot(y); loss = Σ a_c (lse − z_c) / Σ w_y;
    // d/dz = (S·softmax − a) / Σ w_y.
    let total = 0;
    let divisor = 0;
    const grad = new Float64Array(R * C);
    for (let i = 0; i < R; i++) {
      if (target[i] < 0) continue;
      const z = Array.from(logits.subarray(i * C, (i + 1) * C));
      const m = Math.max(...z);
      const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
      const a = z.map((_, c) => (eps / C) * weight[c] + (c === target[i] ? (1 - eps) * weight[c] : 0));
      const S = a.reduce((s, v) => s + v, 0);
      total += a.reduce((s, v, c) => s + v * (lse - z[c]), 0);
      divisor += weight[target[i]];
      for (let c = 0; c < C; c++) grad[i * C + c] = S * Math.exp(z[c] - lse) - a[c];
    }
    const expected = total / divisor;
    for (let i = 0; i < grad.length; i++) grad[i] /= divisor;

    const run = (threads: number): [number, Float32Array] =>
      withThreads(threads, () => {
        const z = eddy.tensor(logits, [R, C], { requiresGrad: true });
        const loss = ce(z, target, { weight, labelSmoothing: eps });
        loss.backward();
        return [loss.item(), (z.grad as Tensor).toFloat32Array()];
      });
    const [one, gOne] = run(1);
    const [two, gTwo] = run(2);
    assert.strictEqual(two, one);
    assert.deepStrictEqual(gTwo, gOne);
    // Float32 logits and exponentials (2 ulp): the loss within a few 1e-7 of itself, the gradient likewise.
    const rel = Math.abs(one - expected) / expected;
    assert.ok(rel <= 1e-6, `loss ${one} vs float64 ${expected} (relative ${rel.toExponential(2)})`);
    const worst = assertRelative(gOne, grad, TOL, 'grad logits');
    console.log(`      loss relative difference ${rel.toExponential(1)}, gradient ${worst.toExponential(1)} (tolerances 1e-6, ${TOL})`);
  });

  it('rejects bad arguments with exact messages', () => {
    const z = eddy.zeros([4, 3]);
    const seq = eddy.zeros([2, 4, 3]);
    throwsExactly(() => ce(z, Int32Array.of(0, 1, 2, 0, 1)), ShapeError, 'Expected target of shape [4] (class indices) or [4, 3] (class probabilities) for crossEntropy with logits [4, 3] but received Int32Array of length 5');
    throwsExactly(() => ce(z, eddy.zeros([5])), ShapeError, 'Expected target of shape [4] (class indices) or [4, 3] (class probabilities) for crossEntropy with logits [4, 3] but received [5]');
    throwsExactly(() => ce(z, eddy.zeros([4, 2])), ShapeError, 'Expected target of shape [4] (class indices) or [4, 3] (class probabilities) for crossEntropy with logits [4, 3] but received [4, 2]');
    throwsExactly(() => ce(seq, [[0, 1, 2, 0], [1, 2]]), ShapeError, 'Expected target of shape [2, 4] (class indices) or [2, 4, 3] (class probabilities) for crossEntropy with logits [2, 4, 3] but received target[1] of length 2');
    throwsExactly(() => ce(z, [0, 1, 3, 0]), ValidationError, 'Expected class indices (integers between 0 and 2, or ignoreIndex -100) for target but received target[2] = 3');
    throwsExactly(() => ce(z, [0, 1.5, 2, 0]), ValidationError, 'Expected class indices (integers between 0 and 2, or ignoreIndex -100) for target but received target[1] = 1.5');
    throwsExactly(() => ce(seq, [[0, 1, 2, 0], [1, -1, 0, 0]]), ValidationError, 'Expected class indices (integers between 0 and 2, or ignoreIndex -100) for target but received target[1][1] = -1');
    // ignored and padded positions are not checked
    assert.doesNotThrow(() => ce(seq, [[0, 1, 2, 0], [1, 2, 5, 0]], { ignoreIndex: 5 }));
    assert.doesNotThrow(() => ce(seq, [[0, 1, 2, 0], [1, 2, 5, NaN]], { lengths: [4, 2] }));
    throwsExactly(() => ce(seq, Int32Array.of(0, 1, 2, 0, 1, 2, 7, 0)), ValidationError, 'Expected class indices (integers between 0 and 2, or ignoreIndex -100) for target but received target[6] = 7');
    throwsExactly(() => ce(seq, [[0, 1, 2, 0], [1, 2, 'a', 0]] as never), ValidationError, 'Expected number for target[1][2] but received "a" of type string');
    throwsExactly(() => ce(seq, [[0, 1, 2, 0], [1, 2, 1, 0]], { lengths: Int32Array.of(4, 2, 1) }), ValidationError, 'Expected opts.lengths to be an Int32Array with one entry per sequence (2) but received length 3');
    throwsExactly(() => ce(seq, [[0, 1, 2, 0], [1, 2, 1, 0]], { lengths: [4, 5] }), ValidationError, 'Expected opts.lengths between 1 and 4 (the number of time steps) but received opts.lengths[1] = 5');
    throwsExactly(() => ce(seq, [[0, 1, 2, 0], [1, 2, 1, 0]], { lengths: [0, 4] }), ValidationError, 'Expected opts.lengths between 1 and 4 (the number of time steps) but received opts.lengths[0] = 0');
    throwsExactly(() => ce(z, [0, 1, 2, 0], { lengths: [4, 4, 4, 4] }), ValidationError, 'Expected logits of shape [batch, time, classes] with opts.lengths for crossEntropy but received [4, 3]');
    throwsExactly(() => ce(eddy.zeros([3]), [0]), ShapeError, 'Expected logits of shape [batch, classes] or [batch, time, classes] with at least one class for crossEntropy but received [3]');
    throwsExactly(() => ce(z, [0, 1, 2, 0], { weight: [1, 2] }), ShapeError, 'Expected opts.weight of length 3 (one per class) for crossEntropy but received an array of length 2');
    throwsExactly(() => ce(z, [0, 1, 2, 0], { weight: eddy.zeros([1, 3]) }), ShapeError, 'Expected opts.weight of shape [3] (one per class) for crossEntropy but received [1, 3]');
    throwsExactly(() => ce(z, [0, 1, 2, 0], { labelSmoothing: 1.5 }), ValidationError, 'Expected number between 0 and 1 for opts.labelSmoothing but received 1.5 of type number');
    throwsExactly(() => ce(z, [0, 1, 2, 0], { ignoreIndex: 0.5 }), ValidationError, 'Expected integer for opts.ignoreIndex but received 0.5 of type number');
    throwsExactly(() => ce(z, [0, 1, 2, 0], { reduction: 'batchmean' as never }), ValidationError, `Expected one of 'mean', 'sum', 'none' for opts.reduction but received "batchmean" of type string`);
    throwsExactly(() => ce(z, 'abc' as never), ValidationError, 'Expected Tensor, Int32Array or array of class indices for target but received "abc" of type string');
  });
});
