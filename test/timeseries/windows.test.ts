import * as assert from 'assert';
import * as eddy from '../../lib';

const { windows } = eddy.timeseries;

describe('timeseries.windows', () => {
  it('cuts a univariate series into inputs and the next value', () => {
    const { x, y, starts } = windows([1, 2, 3, 4, 5], { inputSteps: 3 });
    assert.deepStrictEqual(x.shape, [2, 3, 1]);
    assert.deepStrictEqual(y.shape, [2, 1, 1]);
    assert.deepStrictEqual(x.toArray(), [[[1], [2], [3]], [[2], [3], [4]]]);
    assert.deepStrictEqual(y.toArray(), [[[4]], [[5]]]);
    assert.deepStrictEqual(Array.from(starts), [0, 1]);
  });

  it('takes multi-step horizons and strides, like Keras plus horizons', () => {
    const series = Float32Array.from({ length: 10 }, (_, i) => i);
    const { x, y } = windows(series, { inputSteps: 3, horizon: 2, stride: 2 });
    // Starts 0, 2, 4 (start 6 would need rows up to 10).
    assert.deepStrictEqual(x.shape, [3, 3, 1]);
    assert.deepStrictEqual(x.toArray(), [[[0], [1], [2]], [[2], [3], [4]], [[4], [5], [6]]]);
    assert.deepStrictEqual(y.toArray(), [[[3], [4]], [[5], [6]], [[7], [8]]]);
    assert.deepStrictEqual(windows(series, { inputSteps: 3, horizon: 2, stride: 2, flatten: true }).y.toArray(), [[3, 4], [5, 6], [7, 8]]);
  });

  it('keeps every feature in x and the target columns in y', () => {
    const rows = [0, 1, 2, 3, 4].map((t) => [t, 10 * t, 100 * t]);
    const { x, y } = windows(rows, { inputSteps: 2, horizon: 2, targets: [2, 0] });
    assert.deepStrictEqual(x.shape, [2, 2, 3]);
    assert.deepStrictEqual(x.toArray(), [[[0, 0, 0], [1, 10, 100]], [[1, 10, 100], [2, 20, 200]]]);
    assert.deepStrictEqual(y.shape, [2, 2, 2]);
    assert.deepStrictEqual(y.toArray(), [[[200, 2], [300, 3]], [[300, 3], [400, 4]]]);
  });

  it('shuffles windows reproducibly with a seed, keeping inputs with their targets', () => {
    const series = Array.from({ length: 30 }, (_, i) => i);
    const a = windows(series, { inputSteps: 4, shuffle: true, seed: 7 });
    const b = windows(series, { inputSteps: 4, shuffle: true, seed: 7 });
    assert.deepStrictEqual(Array.from(a.starts), Array.from(b.starts));
    assert.notDeepStrictEqual(Array.from(a.starts), Array.from({ length: 26 }, (_, i) => i));
    assert.deepStrictEqual([...a.starts].sort((p, q) => p - q), Array.from({ length: 26 }, (_, i) => i));
    for (let i = 0; i < a.starts.length; i++) {
      assert.strictEqual(a.x.get(i, 0, 0), a.starts[i]);
      assert.strictEqual(a.y.get(i, 0, 0), a.starts[i] + 4);
    }
  });

  it('feeds fit directly', async () => {
    eddy.manualSeed(3);
    const series = Array.from({ length: 40 }, (_, i) => Math.sin(i / 3));
    const { x, y } = windows(series, { inputSteps: 5, flatten: true });
    const model = eddy.sequential([new eddy.GRU({ inputSize: 1, hiddenSize: 4 }), new eddy.SequencePooling({ mode: 'last' }), new eddy.Linear({ inFeatures: 4, outFeatures: 1 })]);
    const h = await model.fit({ x, y }, { loss: 'mse', epochs: 2, batchSize: 8 });
    assert.strictEqual(h.history.loss.length, 2);
  });

  it('refuses bad options and short series with messages naming them', () => {
    assert.throws(() => windows([1, 2, 3], { inputSteps: 3 }), {
      name: 'ShapeError',
      message: 'Expected a series of at least inputSteps + horizon = 4 rows for windows but received 3',
    });
    assert.throws(() => windows([1, 2, 3], { inputSteps: 0 }), { name: 'ValidationError', message: 'Expected positive integer for inputSteps but received 0 of type number' });
    assert.throws(() => windows([[1, 2], [3, 4], [5, 6]], { inputSteps: 1, targets: [2] }), {
      name: 'ValidationError',
      message: 'Expected column index between 0 and 1 for targets[0] but received 2 of type number',
    });
    assert.throws(() => windows([[1, 2], [3], [5, 6]], { inputSteps: 1 }), {
      name: 'ShapeError',
      message: 'Expected series[1] to be a row of 2 features like series[0] but received an array of length 1',
    });
    assert.throws(() => windows([1, 'a', 3] as never, { inputSteps: 1 }), {
      name: 'ValidationError',
      message: 'Expected number (or null/NaN for a missing value) for series[1] but received "a" of type string',
    });
  });
});
