import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';
import { assertClose, rng } from '../helpers';
import { layerFor, loadReferences, Reference, toTensor } from './reference';

const OUT_TOL = 1e-5;
const GRAD_TOL = 1e-4;

/** [T, B, F] → [B, T, F], contiguous. */
function timeToBatch(t: Tensor): Tensor {
  return t.transpose(0, 1).contiguous().detach();
}

function runReference(ref: Reference, batchFirst: boolean): string[] {
  const layer = layerFor(ref, batchFirst);
  const xTime = toTensor(ref.input);
  const x = batchFirst ? timeToBatch(xTime) : xTime;
  x.requiresGrad = true;
  const h0 = ref.h0 ? toTensor(ref.h0, true) : undefined;
  const c0 = ref.c0 ? toTensor(ref.c0, true) : undefined;
  const lengths = ref.lengths ? Int32Array.from(ref.lengths) : undefined;
  const { output, h, c } = layer.forward(x, { h0, c0, lengths });
  const report: string[] = [];
  const check = (what: string, actual: Tensor, expected: { data: number[] }, tol: number): void => {
    const d = assertClose(actual.toFloat32Array(), expected.data, tol, `${ref.name}: ${what}`);
    report.push(`${what} ${d.toExponential(1)}`);
  };
  check('output', batchFirst ? output.transpose(0, 1) : output, ref.output, OUT_TOL);
  check('h_n', h, ref.h_n, OUT_TOL);
  if (ref.c_n) check('c_n', c!, ref.c_n, OUT_TOL);

  const w = ref.loss.weights;
  const gOut = toTensor(w.output);
  const roots = [output, h];
  const grads = [batchFirst ? timeToBatch(gOut) : gOut, toTensor(w.h_n)];
  if (c && w.c_n) {
    roots.push(c);
    grads.push(toTensor(w.c_n));
  }
  eddy.backward(roots, grads);
  check('d input', batchFirst ? x.grad!.transpose(0, 1) : x.grad!, ref.grads.input, GRAD_TOL);
  if (h0 && ref.grads.h0) check('d h0', h0.grad!, ref.grads.h0, GRAD_TOL);
  if (c0 && ref.grads.c0) check('d c0', c0.grad!, ref.grads.c0, GRAD_TOL);
  for (const [name, p] of layer.namedParameters()) check(`d ${name}`, p.grad!, ref.grads[name], GRAD_TOL);
  return report;
}

describe('recurrent layers against PyTorch (float64 references)', () => {
  const refs = loadReferences();

  it('has the reference files', () => {
    assert.ok(refs.length >= 11, `found ${refs.length} reference files`);
  });

  for (const ref of refs) {
    it(`${ref.name}: outputs within ${OUT_TOL}, gradients within ${GRAD_TOL} (time-major)`, () => {
      const report = runReference(ref, false);
      const worst = report.reduce((m, r) => Math.max(m, Number(r.split(' ').pop())), 0);
      console.log(`      largest scaled differences: ${report.join(', ')} (worst ${worst.toExponential(1)})`);
    });
    it(`${ref.name}: the same with batchFirst`, () => {
      runReference(ref, true);
    });
  }

  it('forwardAsync gives the same results as forward and records the same graph', async () => {
    const ref = refs.find((r) => r.name === 'lstm_bi_2layer_packed')!;
    const layer = layerFor(ref);
    const x = toTensor(ref.input);
    const lengths = Int32Array.from(ref.lengths!);
    const sync = layer.forward(x, { lengths });
    const asyncOut = await layer.forwardAsync(x, { lengths });
    assert.deepStrictEqual(Array.from(asyncOut.output.data), Array.from(sync.output.data));
    assert.deepStrictEqual(Array.from(asyncOut.h.data), Array.from(sync.h.data));
    assert.deepStrictEqual(Array.from(asyncOut.c!.data), Array.from(sync.c!.data));
    eddy.backward([asyncOut.output], [toTensor(ref.loss.weights.output)]);
    const g = layer.namedParameters()[0][1].grad!;
    layer.zeroGrad();
    eddy.backward([sync.output], [toTensor(ref.loss.weights.output)]);
    assert.deepStrictEqual(Array.from(g.data), Array.from(layer.namedParameters()[0][1].grad!.data));
  });

  it('forwardAsync reads its input and weights as they were at the call, also when the copies are recycled', async () => {
    // Weights and inputs of 64 KiB and more: the native side copies them into recycled memory.
    eddy.manualSeed(5);
    const layer = new eddy.LSTM({ inputSize: 64, hiddenSize: 128, batchFirst: true });
    const weights = layer.parameters().map((p) => p.data.data);
    const original = weights.map((w) => w.slice());
    const random = rng(9);
    for (let round = 0; round < 3; round++) {
      // Two jobs in flight with inputs of the same size (8 · 40 · 64 floats, 80 KiB): each must get copies of its own.
      const xs = [0, 1].map(() => eddy.tensor(Float32Array.from({ length: 8 * 40 * 64 }, () => random() * 2 - 1), [8, 40, 64]));
      const expected = xs.map((x) => eddy.noGrad(() => layer.forward(x)).output.toFloat32Array());
      const pending = xs.map((x) => eddy.noGrad(() => layer.forwardAsync(x)));
      // Overwritten while the jobs run: the jobs must not see it.
      for (const x of xs) x.data.fill(7);
      for (const w of weights) w.fill(-3);
      const got = await Promise.all(pending);
      weights.forEach((w, i) => w.set(original[i]));
      got.forEach((g, i) => assert.deepStrictEqual(Array.from(g.output.toFloat32Array()), Array.from(expected[i]), `round ${round}, job ${i}`));
    }
  });
});
