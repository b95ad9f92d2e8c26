import * as assert from 'assert';
import * as eddy from '../../lib';
import { LinearRows } from '../../lib/serving/linear-rows';

/** The lag network's shape: Linear → ReLU → Linear, plus a Linear straight from the inputs, summed. */
function lagShaped(features: number, hidden: number, outputs: number): eddy.GraphModel {
  eddy.manualSeed(7);
  const x = eddy.input({ shape: [features] });
  const h = new eddy.ReLU().apply(new eddy.Linear({ inFeatures: features, outFeatures: hidden }).apply(x));
  const out = new eddy.Add().apply([new eddy.Linear({ inFeatures: hidden, outFeatures: outputs }).apply(h), new eddy.Linear({ inFeatures: features, outFeatures: outputs }).apply(x)]);
  return eddy.model({ inputs: x, outputs: out }).eval();
}

describe('RowModel', () => {
  it('gives every row the same bits alone or in any batch, position and thread count, and agrees with forward', () => {
    const m = lagShaped(30, 160, 3);
    const rows = new eddy.serving.RowModel(m);
    const all = new eddy.Generator(3).uniform(new Float32Array(200 * 30), -2, 2);
    const row = (i: number): eddy.Tensor => eddy.tensor(all.slice(i * 30, (i + 1) * 30), [1, 30]);
    const alone = [0, 77, 199].map((i) => Array.from(rows.run(row(i)).toFloat32Array()));
    const threads = eddy.getNumThreads();
    try {
      for (const [n, t] of [[5, 1], [78, 2], [200, 1], [200, 2]] as const) {
        eddy.setNumThreads(t);
        const out = rows.run(eddy.tensor(all.slice(0, n * 30), [n, 30])).toFloat32Array();
        [0, 77, 199].forEach((i, k) => {
          if (i < n) assert.deepStrictEqual(Array.from(out.subarray(i * 3, (i + 1) * 3)), alone[k], `row ${i} of ${n}, ${t} threads`);
        });
      }
    } finally {
      eddy.setNumThreads(threads);
    }
    // Against BLAS: the same products summed in another order. Each output sums ≤ 190 products of
    // magnitude ≤ ~2, so the two differ by at most a few hundred float32 ulps of that sum: 1e-4.
    const x = eddy.tensor(all, [200, 30]);
    const ref = (eddy.noGrad(() => m.forward(x)) as eddy.Tensor).toFloat32Array();
    const got = rows.run(x).toFloat32Array();
    got.forEach((v, i) => assert.ok(Math.abs(v - ref[i]) <= 1e-4, `element ${i}: ${v} vs ${ref[i]}`));
  });

  it('runs ReLU and Add on plain arrays with the bits of the ops, and any other per-row layer through its forward', () => {
    eddy.manualSeed(9);
    const x = eddy.input({ shape: [6] });
    const [l1, l2, l3] = [new eddy.Linear({ inFeatures: 6, outFeatures: 5 }), new eddy.Linear({ inFeatures: 5, outFeatures: 5 }), new eddy.Linear({ inFeatures: 6, outFeatures: 5 })];
    const h = new eddy.ReLU().apply(l1.apply(x));
    const sum = new eddy.Add().apply([h, l2.apply(h), l3.apply(x)]);
    const m = eddy.model({ inputs: x, outputs: new eddy.Tanh().apply(sum) }).eval();
    const rows = eddy.tensor(new eddy.Generator(4).uniform(new Float32Array(7 * 6), -3, 3), [7, 6]);
    // The same graph op by op: the packed Linear, then relu, add (left to right) and tanh on Tensors.
    const [p1, p2, p3] = [l1, l2, l3].map((l) => new LinearRows(l));
    const hr = eddy.relu(p1.forward(rows));
    const expected = eddy.noGrad(() => eddy.tanh(eddy.add(eddy.add(hr, p2.forward(hr)), p3.forward(rows))));
    assert.deepStrictEqual(Array.from(new eddy.serving.RowModel(m).run(rows).toFloat32Array()), Array.from(expected.toFloat32Array()));
    // A Linear given the wrong width still says so.
    assert.throws(() => new eddy.serving.RowModel(m).run(eddy.tensor(new Float32Array(10), [2, 5])), { name: 'ShapeError' });
  });

  it('runs a Sequential too, and refuses layers that mix rows or steps', () => {
    eddy.manualSeed(2);
    const seq = eddy.sequential([new eddy.Linear({ inFeatures: 4, outFeatures: 8 }), new eddy.Tanh(), new eddy.Linear({ inFeatures: 8, outFeatures: 2 })]).eval();
    const x = eddy.tensor(new eddy.Generator(1).uniform(new Float32Array(12), -1, 1), [3, 4]);
    const ref = (eddy.noGrad(() => seq.forward(x)) as eddy.Tensor).toFloat32Array();
    new eddy.serving.RowModel(seq).run(x).toFloat32Array().forEach((v, i) => assert.ok(Math.abs(v - ref[i]) <= 1e-6, `element ${i}`));
    assert.throws(() => new eddy.serving.RowModel(eddy.sequential([new eddy.LSTM({ inputSize: 4, hiddenSize: 4 })])), (e: Error) => e instanceof eddy.ValidationError && /per-row layers/.test(e.message));
    assert.throws(() => new eddy.serving.RowModel(seq).run(eddy.tensor(new Float32Array(4), [4])), (e: Error) => e instanceof eddy.ShapeError && /\[rows, features\]/.test(e.message));
  });
});
