import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';
import { assertClose } from '../helpers';

const { Forecaster, forecast, evaluateForecast, StandardScaler } = eddy.timeseries;

/** A "model" continuing a linear trend: the last value plus the last difference, for h steps and every feature. */
function trendModel(h: number, calls: number[] = []) {
  return (x: Tensor): Tensor => {
    const [B, T, F] = x.shape;
    calls.push(B);
    const out = new Float32Array(B * h * F);
    for (let b = 0; b < B; b++) {
      for (let f = 0; f < F; f++) {
        const last = x.get(b, T - 1, f);
        const step = last - x.get(b, T - 2, f);
        for (let k = 0; k < h; k++) out[(b * h + k) * F + f] = last + (k + 1) * step;
      }
    }
    return new Tensor(out, [B, h, F]);
  };
}

describe('timeseries forecasting', () => {
  it('feeds predictions back to forecast past the model horizon', async () => {
    const calls: number[] = [];
    const out = await forecast(trendModel(2, calls), [1, 2, 3, 4], 5, { inputSteps: 3 });
    assert.deepStrictEqual(out, [5, 6, 7, 8, 9]);
    assert.strictEqual(calls.length, 3); // 2 + 2 + 1 steps
  });

  it('scales inputs and returns original units with a scaler', async () => {
    const history = [10, 20, 30, 40];
    const scaler = new StandardScaler().fit(history);
    const f = new Forecaster(trendModel(1), { inputSteps: 2, scaler });
    assertClose((await f.forecast(history, 3)) as number[], [50, 60, 70], 1e-5);
  });

  it('forecasts multivariate rows, and needs every feature to recurse', async () => {
    const rows = [
      [1, 10],
      [2, 20],
      [3, 30],
    ];
    assert.deepStrictEqual(await forecast(trendModel(1), rows, 2, { inputSteps: 2 }), [
      [4, 40],
      [5, 50],
    ]);
    const onlySecond = (x: Tensor): Tensor => new Tensor(Float32Array.of(x.get(0, 1, 1) + 10), [1, 1]);
    assert.deepStrictEqual(await forecast(onlySecond, rows, 1, { inputSteps: 2, targets: [1] }), [[40]]);
    await assert.rejects(forecast(onlySecond, rows, 2, { inputSteps: 2, targets: [1] }), {
      name: 'ValidationError',
      message: 'Expected a model predicting every feature (2) to forecast 2 steps recursively but received one predicting 1 of them 1 step at a time; train it with horizon ≥ 2 or on every column',
    });
  });

  it('works with a trained eddy model', async () => {
    eddy.manualSeed(4);
    const model = eddy.sequential([new eddy.GRU({ inputSize: 1, hiddenSize: 3 }), new eddy.SequencePooling({ mode: 'last' }), new eddy.Linear({ inFeatures: 3, outFeatures: 1 })]);
    const out = (await forecast(model, [0.1, 0.2, 0.3], 4, { inputSteps: 3 })) as number[];
    assert.strictEqual(out.length, 4);
    assert.ok(out.every(Number.isFinite));
  });

  it('walk-forward evaluation scores the model and both baselines on the same values', async () => {
    // Period-4 pattern on a trend: seasonal naive is off by exactly the trend over a season (4 · 0.5 = 2).
    const series = Array.from({ length: 40 }, (_, t) => 0.5 * t + [0, 3, 1, 2][t % 4]);
    const res = await evaluateForecast({ series, model: trendModel(1), inputSteps: 4, horizon: 1, testSize: 8, season: 4 });
    assert.deepStrictEqual(res.origins, [32, 33, 34, 35, 36, 37, 38, 39]);
    assert.strictEqual(res.scored, 8);
    assertClose([res.seasonalNaive!.mae], [2], 1e-12);
    // Naive: the last value; the differences alternate in size.
    const naive = res.origins.map((t) => Math.abs(series[t] - series[t - 1]));
    assertClose([res.naive.mae], [naive.reduce((a, b) => a + b) / naive.length], 1e-12);
    assert.match(res.report, /^method +MAE +RMSE +MAPE %\nmodel +[\d.]+ +[\d.]+ +[\d.]+\nnaive .*\nseasonal naive \(4\) +2\.000 /);
  });

  it('fits the model through fitModel on the training rows only, and never scores filled values', async () => {
    const series: (number | null)[] = Array.from({ length: 30 }, (_, t) => t);
    series[27] = null;
    let seen: { rows: number; y: number[] } | null = null;
    const res = await evaluateForecast({
      series,
      missing: 'interpolate',
      inputSteps: 3,
      testSize: 6,
      scaler: new StandardScaler(),
      fitModel: ({ x, y, series: train }) => {
        seen = { rows: (train as number[]).length, y: Array.from(y.toFloat32Array()) };
        assert.deepStrictEqual(x.shape, [21, 3, 1]);
        return trendModel(1);
      },
    });
    assert.strictEqual(seen!.rows, 24);
    // Scaled with statistics of rows 0..23 only.
    assertClose([seen!.y[0]], [(3 - 11.5) / Math.sqrt((24 * 24 - 1) / 12)], 1e-6);
    assert.strictEqual(res.scored, 5);
    assertClose([res.model.mae, res.naive.mae], [0, 1], 1e-5);
    assert.strictEqual(res.seasonalNaive, undefined);
  });

  it('checks its options', async () => {
    await assert.rejects(evaluateForecast({ series: [1, 2, 3], inputSteps: 1, testSize: 1 }), {
      name: 'ValidationError',
      message: 'Expected exactly one of model and fitModel for evaluateForecast but received neither',
    });
    await assert.rejects(evaluateForecast({ series: Array.from({ length: 20 }, (_, i) => i), model: trendModel(1), inputSteps: 4, testSize: 10, season: 12 }), {
      name: 'ShapeError',
      message: 'Expected at least 12 training rows (inputSteps + horizon, and one season) before the test tail for evaluateForecast but received 10 (20 rows, testSize 10)',
    });
    await assert.rejects(forecast(trendModel(1), [1, 2], 1, { inputSteps: 3 }), { name: 'ShapeError', message: 'Expected a history of at least inputSteps = 3 rows for forecast but received 2' });
    assert.throws(() => new Forecaster({} as never, { inputSteps: 2 }), { name: 'ValidationError', message: 'Expected a model with predict(x) or a function of x for model but received an object' });
  });
});
