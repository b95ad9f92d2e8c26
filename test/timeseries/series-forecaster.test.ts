/**
 * The default forecaster: its features, the ensemble merged into one
 * network, training on a bundled series (it must beat the naive and
 * seasonal-naive forecasts), interval coverage on a series whose noise is
 * known, saving, and its errors.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as eddy from '../../lib';
import { encodeOrigin, featureWidth, fromChange, LagFeatures, toChange } from '../../lib/timeseries/lag-features';
import { averageNetworks, lagNetwork } from '../../lib/timeseries/lag-network';
import { normalQuantile } from '../../lib/timeseries/normal-quantile';

const DATA = path.resolve(__dirname, '../../../examples/data');

async function column(file: string): Promise<number[]> {
  return (await eddy.timeseries.readSeriesCsv(path.join(DATA, file), { missing: 'keep' })).column(0);
}

/** A seasonal series with a trend and Gaussian noise of standard deviation `sigma`. */
function synthetic(n: number, sigma: number, seed: number): number[] {
  const noise = new eddy.Generator(seed).normal(new Float32Array(n), 0, sigma);
  return Array.from({ length: n }, (_, t) => 50 + 0.05 * t + 5 * Math.sin((2 * Math.PI * t) / 12) + noise[t]);
}

describe('default forecaster', () => {
  describe('lag features', () => {
    for (const scaling of ['absolute', 'relative'] as const) {
      it(`measure values from the last one (${scaling}) and map back exactly`, () => {
        const f: LagFeatures = { inputSteps: 4, season: 3, horizon: 2, scaling, scale: 0.5 };
        const y = [10, 12, 11, 13, 14, 12, 15, 16];
        const x = new Float32Array(featureWidth(f));
        assert.strictEqual(x.length, 3 + 2 + 1);
        const level = encodeOrigin(f, y, 6, x, 0); // forecasts rows 6 and 7 from rows 0..5
        assert.strictEqual(level, 12);
        // lags y[2..4]; seasonal naive of rows 6, 7 (rows 3, 4); the level a season back (row 2)
        const expected = [11, 13, 14, 13, 14, 11].map((v) => toChange(f, 12, v));
        assert.deepStrictEqual(Array.from(x), Array.from(Float32Array.from(expected)));
        for (const v of [0.5, 12, 31]) assert.ok(Math.abs(fromChange(f, 12, toChange(f, 12, v)) - v) < 1e-12);
        assert.strictEqual(fromChange(f, 12, 0), 12, 'a change of zero is the naive forecast');
      });
    }
  });

  it('an ensemble merges into one network whose output is the members’ mean', async () => {
    const gen = new eddy.Generator(3);
    const members = [0, 1, 2].map(() => lagNetwork(5, 4, 2, gen));
    // Non-zero output layers, as after training.
    for (const m of members) for (const l of [m.output, m.linear]) gen.uniform(l.weight.data.data, -1, 1);
    const x = new eddy.Tensor(gen.normal(new Float32Array(7 * 5)), [7, 5]);
    const outs = await Promise.all(members.map(async (m) => (await m.model.predict(x)).toFloat32Array()));
    const merged = (await averageNetworks(members).model.predict(x)).toFloat32Array();
    let worst = 0;
    merged.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (outs[0][i] + outs[1][i] + outs[2][i]) / 3))));
    // float32 sums of a dozen terms of order 1: a few ulps each.
    console.log(`      max |merged − mean of members| = ${worst.toExponential(2)} (tolerance 1e-5)`);
    assert.ok(worst < 1e-5);
  });

  it('an untrained network forecasts the last value (the naive forecast)', async () => {
    const net = lagNetwork(featureWidth({ inputSteps: 6, season: 0, horizon: 3, scaling: 'absolute', scale: 1 }), 8, 3);
    const f = new eddy.timeseries.SeriesForecaster(net.model, { type: 'SeriesForecaster', inputSteps: 6, season: 0, horizon: 3, scaling: 'absolute', scale: 1, levels: [0.9], halfWidths: [[1, 1, 1]] });
    const out = await f.forecast([1, 2, 3, 4, 5, 6, 7], 5);
    assert.deepStrictEqual(out.mean, [7, 7, 7, 7, 7]);
    assert.deepStrictEqual(out.intervals[0].upper.slice(0, 3), [8, 8, 8]);
    assert.ok(out.intervals[0].upper[4] > 8, 'wider past the horizon');
  });

  it('normalQuantile matches the normal distribution', () => {
    // Reference values of the standard normal quantile to 9 digits.
    for (const [p, z] of [[0.975, 1.959963985], [0.9, 1.281551566], [0.5, 0], [0.01, -2.326347874], [0.999, 3.090232306]]) assert.ok(Math.abs(normalQuantile(p) - z) < 1e-8, `${p}`);
  });

  it('beats the naive and seasonal-naive forecasts on air passengers, one step and 12 steps ahead', async function () {
    this.timeout(120000);
    const passengers = await column('airpassengers.csv');
    const r = await eddy.timeseries.backtest(passengers, { season: 12, horizon: 12, testSize: 24, ensemble: 2, seed: 1 });
    console.log(r.report.replace(/^/gm, '      '));
    assert.ok(r.oneStep.model.mae < r.oneStep.naive.mae && r.oneStep.model.mae < r.oneStep.seasonalNaive!.mae, `one step: ${r.oneStep.model.mae}`);
    assert.ok(r.multiStep.model.mae < r.multiStep.naive.mae && r.multiStep.model.mae < r.multiStep.seasonalNaive!.mae, `12 steps: ${r.multiStep.model.mae}`);
    assert.strictEqual(r.oneStep.scored, 24);
    assert.strictEqual(r.multiStep.scored, 13 * 12);
    assert.strictEqual(r.forecasts.mean.length, 24);
  });

  it('prediction intervals cover about their level on a series with known noise', async function () {
    this.timeout(120000);
    const sigma = 2;
    const y = synthetic(600, sigma, 7);
    const r = await eddy.timeseries.backtest(y, { season: 12, testSize: 300, ensemble: 2, seed: 2, levels: [0.8, 0.95] });
    const [c80, c95] = r.oneStep.coverage.map((c) => c.rate);
    // 300 one-step errors: the binomial standard error of a coverage is about 0.02–0.025, and the
    // widths come from about 60 validation residuals (σ known to about ±10 %), so allow ±0.1.
    console.log(`      coverage: 80 % → ${(c80 * 100).toFixed(1)} %, 95 % → ${(c95 * 100).toFixed(1)} %; MAE ${r.oneStep.model.mae.toFixed(3)} (noise alone: ${(sigma * Math.sqrt(2 / Math.PI)).toFixed(3)})`);
    assert.ok(Math.abs(c80 - 0.8) < 0.1, `80 %: ${c80}`);
    assert.ok(Math.abs(c95 - 0.95) < 0.06, `95 %: ${c95}`);
    // The MAE of a perfect forecast is σ·√(2/π) ≈ 1.6; the naive forecast's is far above.
    assert.ok(r.oneStep.model.mae < 1.3 * sigma * Math.sqrt(2 / Math.PI), `MAE ${r.oneStep.model.mae}`);
  });

  it('fills gaps for the inputs but never scores a filled value', async function () {
    this.timeout(60000);
    const y: (number | null)[] = synthetic(160, 1, 5);
    for (const row of [20, 150, 151, 158]) y[row] = null;
    const r = await eddy.timeseries.backtest(y, { season: 12, horizon: 3, testSize: 12, missing: 'interpolate', ensemble: 1, epochs: 5 });
    assert.strictEqual(r.oneStep.scored, 12 - 3);
    // Blocks of 3 from the 10 origins 148…157: rows 150, 151 and 158 fall in 3, 3 and 2 of them.
    assert.strictEqual(r.multiStep.scored, 10 * 3 - 8);
    await assert.rejects(eddy.timeseries.backtest(y, { season: 12, testSize: 12 }), { name: 'FormatError', message: /row 20 of series/ });
  });

  it('saves as a model file with its JSON and forecasts the same after loading', async function () {
    this.timeout(60000);
    const y = synthetic(200, 1, 3);
    const { forecaster, model } = await eddy.timeseries.fitForecaster(y, { season: 12, horizon: 3, ensemble: 2, epochs: 20 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-forecaster-'));
    try {
      const file = path.join(dir, 'f.safetensors');
      await eddy.save(model, file, { metadata: { forecaster: JSON.stringify(forecaster) } });
      const loaded = await eddy.loadModelFile(file);
      const again = eddy.timeseries.SeriesForecaster.fromJSON(loaded.model as eddy.Model, JSON.parse(loaded.metadata.forecaster));
      assert.deepStrictEqual(await again.forecast(y, 7), await forecaster.forecast(y, 7));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forecastMany answers many histories with batched network calls, bit-identical to each forecast alone on a row-invariant network', async function () {
    this.timeout(60000);
    const y = synthetic(160, 1, 5);
    const { forecaster, model } = await eddy.timeseries.fitForecaster(y, { season: 12, horizon: 2, ensemble: 2, epochs: 5 });
    const rows = new eddy.serving.RowModel(model);
    const calls: number[] = [];
    const f = eddy.timeseries.SeriesForecaster.fromJSON((x: eddy.Tensor) => (calls.push(x.shape[0]), rows.run(x)), forecaster.toJSON());
    const histories = [y, y.slice(0, 120), y.slice(0, 141)];
    const steps = [1, 5, 3];
    const many = await f.forecastMany(histories, steps);
    // Rounds of the horizon (2): every history in the first, the two longer ones next, then the 5-step one.
    assert.deepStrictEqual(calls, [3, 2, 1]);
    for (const [i, h] of histories.entries()) assert.deepStrictEqual(many[i], await f.forecast(h, steps[i]), `history ${i}`);
    assert.deepStrictEqual(await f.forecastMany(histories, 2), await Promise.all(histories.map((h) => f.forecast(h, 2))));
    await assert.rejects(f.forecastMany(histories, [1, 2]), { name: 'ValidationError', message: /one per history/ });
    await assert.rejects(f.forecastMany([y, [1, 2]], 1), { name: 'ShapeError', message: /histories\[1\]/ });
  });

  describe('errors', () => {
    const y = synthetic(120, 1, 1);

    it('rejects unknown options, naming the closest', async () => {
      await assert.rejects(eddy.timeseries.fitForecaster(y, { seasson: 12 } as never), { name: 'UnknownOptionError', message: /options\.seasson.*did you mean season\?/ });
      await assert.rejects(eddy.timeseries.backtest(y, { testSize: 12, horizn: 2 } as never), { name: 'UnknownOptionError', message: /did you mean horizon\?/ });
    });

    it('rejects what it cannot forecast', async () => {
      await assert.rejects(eddy.timeseries.fitForecaster([[1, 2], [3, 4]]), { name: 'ShapeError', message: 'Expected a univariate series (one value per row) for series but received rows of 2 values' });
      await assert.rejects(eddy.timeseries.fitForecaster(y.slice(0, 20), { season: 12 }), { name: 'ShapeError', message: /^Expected at least \d+ rows .* for fitForecaster but received 20$/ });
      await assert.rejects(eddy.timeseries.fitForecaster(y.map((v) => v - 60), { scaling: 'relative' }), { name: 'ValidationError', message: /positive values for scaling 'relative'/ });
      await assert.rejects(eddy.timeseries.fitForecaster(y, { levels: [95] }), { name: 'ValidationError', message: 'Expected non-empty array of numbers in (0, 1) for levels but received an array of length 1' });
      await assert.rejects(eddy.timeseries.fitForecaster([1, 2, null, 4]), { name: 'FormatError', message: /row 2 of series/ });
    });

    it('rejects a damaged forecaster JSON with a FormatError', () => {
      const model = (x: eddy.Tensor): eddy.Tensor => x;
      const good = { type: 'SeriesForecaster', inputSteps: 4, season: 0, horizon: 2, scaling: 'absolute', scale: 1, levels: [0.8], halfWidths: [[1, 1]] };
      assert.doesNotThrow(() => eddy.timeseries.SeriesForecaster.fromJSON(model, good));
      assert.throws(() => eddy.timeseries.SeriesForecaster.fromJSON(model, { ...good, scaling: 'log' }), { name: 'FormatError', message: 'Expected "absolute" or "relative" for SeriesForecaster.scaling but received "log" of type string' });
      assert.throws(() => eddy.timeseries.SeriesForecaster.fromJSON(model, { ...good, halfWidths: [[1]] }), { name: 'FormatError', message: /SeriesForecaster\.halfWidths/ });
      assert.throws(() => eddy.timeseries.SeriesForecaster.fromJSON(model, null), { name: 'FormatError' });
    });

    it('asks for enough history', async () => {
      const net = lagNetwork(featureWidth({ inputSteps: 4, season: 0, horizon: 1, scaling: 'absolute', scale: 1 }), 2, 1);
      const f = new eddy.timeseries.SeriesForecaster(net.model, { type: 'SeriesForecaster', inputSteps: 4, season: 0, horizon: 1, scaling: 'absolute', scale: 1, levels: [0.8], halfWidths: [[1]] });
      await assert.rejects(f.forecast([1, 2, 3], 1), { name: 'ShapeError', message: 'Expected at least 4 rows for history but received 3' });
      await assert.rejects(f.forecast([1, 2, 3, 4], 0), { name: 'ValidationError', message: /steps/ });
    });
  });
});
