import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';

const t = (shape: number[], start: number): Tensor => eddy.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => start + i), shape);

describe('merge layers', () => {
  it('Concatenate joins along an axis and back-propagates to each input', () => {
    const a = t([2, 3], 0);
    const b = t([2, 2], 10);
    a.requiresGrad = true;
    b.requiresGrad = true;
    const y = new eddy.Concatenate().forward(a, b, {});
    assert.deepStrictEqual(y.toArray(), [[0, 1, 2, 10, 11], [3, 4, 5, 12, 13]]);
    y.sum().backward();
    assert.deepStrictEqual(Array.from(b.grad!.data), [1, 1, 1, 1]);
    assert.deepStrictEqual(new eddy.Concatenate({ axis: 0 }).forward(t([1, 2], 0), t([2, 2], 5)).shape, [3, 2]);
  });

  it('Add sums equal shapes and rejects others', () => {
    assert.deepStrictEqual(new eddy.Add().forward(t([2], 1), t([2], 3), t([2], 5)).toArray(), [9, 12]);
    assert.throws(() => new eddy.Add().forward(t([2], 1), t([3], 1)), { name: 'ShapeError', message: 'Expected inputs of equal shape for Add() but received [2] and [3]' });
    assert.throws(() => new eddy.Add().forward(t([2], 1)), { name: 'ValidationError', message: 'Expected at least two tensors for Add() but received 1' });
  });

  it('merge a decoder state with an attention context in a functional graph', () => {
    const dec = eddy.input({ shape: [null, 4] });
    const enc = eddy.input({ shape: [null, 4] });
    const attended = new eddy.DotAttention().apply([dec, enc]);
    const both = new eddy.Concatenate().apply([dec, attended]);
    const out = new eddy.Linear({ inFeatures: 8, outFeatures: 2 }).apply(both);
    const m = eddy.model({ inputs: [dec, enc], outputs: out });
    const y = m.forward([t([2, 3, 4], 0).reshape([2, 3, 4]), t([2, 5, 4], 1)]) as Tensor;
    assert.deepStrictEqual(y.shape, [2, 3, 2]);
    const config = JSON.parse(JSON.stringify(eddy.layerToConfig(m)));
    assert.strictEqual(eddy.layerFromConfig(config).toString(), m.toString());
  });
});
