import * as assert from 'assert';
import * as eddy from '../../lib';
import { assertClose } from '../helpers';

const { StandardScaler, MinMaxScaler, scalerFromJSON } = eddy.timeseries;

describe('timeseries scalers', () => {
  const rows = [
    [1, 10],
    [2, 20],
    [3, 60],
  ];

  it('StandardScaler: zero mean, unit (population) std per feature, and back', () => {
    const s = new StandardScaler().fit(rows);
    assertClose(s.mean, [2, 30], 1e-12);
    assertClose(s.std, [Math.sqrt(2 / 3), Math.sqrt(1400 / 3)], 1e-12);
    const z = s.transform(rows) as number[][];
    assertClose(z.map((r) => r[0]), [-Math.sqrt(1.5), 0, Math.sqrt(1.5)], 1e-12);
    assertClose((s.inverseTransform(z) as number[][]).flat(), rows.flat(), 1e-12);
  });

  it('MinMaxScaler: the fitted range onto featureRange, and back', () => {
    const s = new MinMaxScaler({ featureRange: [-1, 1] }).fit(rows);
    assertClose((s.transform(rows) as number[][]).flat(), [-1, -1, 0, -0.6, 1, 1], 1e-12);
    assertClose((s.inverseTransform(s.transform(rows)) as number[][]).flat(), rows.flat(), 1e-12);
    // Values beyond the training range map beyond featureRange (a trending series).
    assert.deepStrictEqual(new MinMaxScaler().fit([0, 10]).transform([20]), [2]);
  });

  it('transforms tensors on the last axis, and subsets of features by columns', () => {
    const s = new StandardScaler().fit(rows);
    const t = eddy.tensor([[[1, 10]], [[3, 60]]]);
    const out = s.transform(t);
    assert.deepStrictEqual(out.shape, [2, 1, 2]);
    assertClose(s.inverseTransform(out).toFloat32Array(), t.toFloat32Array(), 1e-6);
    // Predictions of feature 1 only come back in its units.
    assertClose(s.inverseTransform([0, 1], { columns: [1] }) as number[], [30, 30 + Math.sqrt(1400 / 3)], 1e-12);
    assert.throws(() => s.transform([1, 2, 3]), { name: 'ShapeError', message: 'Expected data with 2 features (what the StandardScaler was fitted on) for transform but received 1' });
  });

  it('round-trips through JSON, as stored with a model', () => {
    for (const s of [new StandardScaler().fit(rows), new MinMaxScaler({ featureRange: [0, 2] }).fit(rows)]) {
      const back = scalerFromJSON(JSON.parse(JSON.stringify(s)));
      assert.strictEqual(back.constructor, s.constructor);
      assert.deepStrictEqual(back.transform(rows), s.transform(rows));
    }
  });

  it('refuses to transform before fitting and malformed JSON', () => {
    assert.throws(() => new StandardScaler().transform([1]), {
      name: 'ValidationError',
      message: 'Expected a fitted StandardScaler for transform but received an unfitted one; call fit(trainingSeries) first',
    });
    assert.throws(() => StandardScaler.fromJSON({ type: 'StandardScaler', mean: [1, 2], std: [1] }), {
      name: 'FormatError',
      message: 'Expected an array of 2 finite numbers for json.std but received an array of length 1',
    });
    assert.throws(() => scalerFromJSON({ type: 'RobustScaler' }), {
      name: 'FormatError',
      message: 'Expected a scaler JSON object with type "StandardScaler" or "MinMaxScaler" for json but received type "RobustScaler" of type string',
    });
  });

  it('ignores missing values when fitting and keeps them when transforming (like sklearn)', () => {
    const s = new StandardScaler().fit([1, NaN, 3]);
    assert.deepStrictEqual(s.mean, [2]);
    const out = s.transform([NaN, 3]) as number[];
    assert.ok(Number.isNaN(out[0]));
    assert.strictEqual(out[1], 1);
  });
});
