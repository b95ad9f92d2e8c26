import * as assert from 'assert';
import * as eddy from '../../lib';
import { ShapeError, Tensor, ValidationError } from '../../lib';
import { rng } from '../helpers';
import { moduleGradcheck, throwsExactly } from './module-gradcheck';

// [2, 3, 2]; sequence 1 has two real steps, its third is padding.
const x = (): Tensor => eddy.tensor([[[1, -4], [3, 2], [2, 8]], [[5, 1], [-1, 7], [100, 100]]]);
const lengths = Int32Array.of(3, 2);

/** Distinct values at least 0.1 apart, so no max is within eps of a tie. */
function spacedTensor(shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const r = rng(seed);
  const values = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.1);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [values[i], values[j]] = [values[j], values[i]];
  }
  return eddy.tensor(Float32Array.from(values), shape, { requiresGrad: true });
}

describe('poolSequence', () => {
  it('pools only the real steps: last, mean and max', () => {
    assert.deepStrictEqual(eddy.poolSequence(x(), { mode: 'last', lengths }).toArray(), [[2, 8], [-1, 7]]);
    assert.deepStrictEqual(eddy.poolSequence(x(), { mode: 'mean', lengths }).toArray(), [[2, 2], [2, 4]]);
    assert.deepStrictEqual(eddy.poolSequence(x(), { mode: 'max', lengths }).toArray(), [[3, 8], [5, 7]]);
    assert.deepStrictEqual(eddy.poolSequence(x(), { mode: 'last' }).toArray(), [[2, 8], [100, 100]]);
    assert.deepStrictEqual(eddy.poolSequence(x(), { mode: 'max', lengths: [3, 3] }).toArray(), [[3, 8], [100, 100]]);
  });

  it('reads non-contiguous inputs', () => {
    const tm = eddy.tensor(x().transpose(0, 1).toFloat32Array(), [3, 2, 2]).transpose(0, 1);
    assert.deepStrictEqual(eddy.poolSequence(tm, { mode: 'mean', lengths }).toArray(), [[2, 2], [2, 4]]);
  });

  it('sends gradient only to real steps: 1/L for mean, the chosen step for last and max', () => {
    const grad = (mode: eddy.PoolingMode): unknown => {
      const t = x().requiresGrad_();
      eddy.poolSequence(t, { mode, lengths }).sum().backward();
      return t.grad!.toArray();
    };
    assert.deepStrictEqual(grad('mean'), [[[1 / 3, 1 / 3].map(Math.fround), [1 / 3, 1 / 3].map(Math.fround), [1 / 3, 1 / 3].map(Math.fround)], [[0.5, 0.5], [0.5, 0.5], [0, 0]]]);
    assert.deepStrictEqual(grad('last'), [[[0, 0], [0, 0], [1, 1]], [[0, 0], [1, 1], [0, 0]]]);
    assert.deepStrictEqual(grad('max'), [[[0, 0], [1, 0], [0, 1]], [[1, 0], [0, 1], [0, 0]]]);
  });

  it('gradients match finite differences in every mode', () => {
    for (const mode of ['last', 'mean', 'max'] as const) {
      const t = spacedTensor([3, 4, 5], 7);
      const worst = moduleGradcheck(() => eddy.poolSequence(t, { mode, lengths: [4, 1, 3] }), [t]);
      console.log(`      ${mode}: max scaled difference ${worst.toExponential(1)}`);
    }
  });

  it('rejects bad modes, shapes and lengths with exact messages', () => {
    throwsExactly(() => eddy.poolSequence(x(), { mode: 'min' as never }), ValidationError, `Expected one of 'last', 'mean', 'max' for mode but received "min" of type string`);
    throwsExactly(() => eddy.poolSequence(x(), undefined as never), ValidationError, `Expected one of 'last', 'mean', 'max' for mode but received undefined`);
    throwsExactly(() => eddy.poolSequence(eddy.zeros([2, 3]), { mode: 'max' }), ShapeError, 'Expected x of shape [batch, time, features] for poolSequence but received [2, 3]');
    throwsExactly(() => eddy.poolSequence(eddy.zeros([2, 0, 3]), { mode: 'mean' }), ShapeError, 'Expected at least one time step in x for poolSequence but received shape [2, 0, 3]');
    throwsExactly(() => eddy.poolSequence(x(), { mode: 'mean', lengths: [3, 0] }), ValidationError, 'Expected lengths between 1 and 3 (the number of time steps) but received lengths[1] = 0');
    throwsExactly(() => eddy.poolSequence(x(), { mode: 'mean', lengths: [3] }), ValidationError, 'Expected lengths to be an Int32Array with one entry per sequence (2) but received length 1');
  });
});

describe('SequencePooling', () => {
  it('is poolSequence as a module without parameters', () => {
    const pool = new eddy.SequencePooling({ mode: 'max' });
    assert.deepStrictEqual(pool.forward(x(), { lengths }).toArray(), [[3, 8], [5, 7]]);
    assert.deepStrictEqual(pool.forward(x()).toArray(), [[3, 8], [100, 100]]);
    assert.deepStrictEqual(pool.namedParameters(), []);
    assert.strictEqual(pool.toString(), "SequencePooling(mode='max')");
  });

  it('names itself in errors', () => {
    throwsExactly(() => new eddy.SequencePooling({ mode: 'sum' as never }), ValidationError, `Expected one of 'last', 'mean', 'max' for mode but received "sum" of type string`);
    throwsExactly(() => new eddy.SequencePooling({ mode: 'last' }).forward(eddy.zeros([4])), ShapeError, "Expected x of shape [batch, time, features] for SequencePooling(mode='last') but received [4]");
  });
});
