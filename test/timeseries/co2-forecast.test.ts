/**
 * End to end on real data: Mauna Loa weekly CO2 (examples/data/co2.csv,
 * 59 missing weeks, interpolated for the model and never scored). A small GRU trained briefly
 * forecasts 1–4 weeks ahead over the last two years, walk-forward, and must
 * beat the seasonal-naive forecast (the same week one year earlier).
 */
import * as assert from 'assert';
import * as path from 'path';
import * as eddy from '../../lib';

const CO2 = path.join(__dirname, '../../../examples/data/co2.csv');

describe('CO2 forecasting (end to end)', () => {
  it('a GRU forecaster beats seasonal-naive on the held-out last two years', async () => {
    const started = Date.now();
    eddy.manualSeed(0);
    const table = await eddy.timeseries.readSeriesCsv(CO2, { missing: 'keep' });
    const co2 = table.column('co2');
    const horizon = 4;
    const result = await eddy.timeseries.evaluateForecast({
      series: co2,
      inputSteps: 26,
      horizon,
      testSize: 104,
      season: 52,
      missing: 'interpolate', // model inputs get the gaps filled; filled weeks are never scored
      scaler: new eddy.timeseries.StandardScaler(),
      fitModel: async ({ x, y }) => {
        const model = eddy.sequential([
          new eddy.GRU({ inputSize: 1, hiddenSize: 32 }),
          new eddy.SequencePooling({ mode: 'last' }),
          new eddy.Linear({ inFeatures: 32, outFeatures: horizon }),
        ]);
        await model.fit(
          { x, y: y.reshape([y.shape[0], horizon]) },
          { epochs: 30, batchSize: 64, loss: 'mse', optimizer: new eddy.optim.Adam(model.parameters(), { lr: 0.01 }), generator: new eddy.Generator(1) },
        );
        return model;
      },
    });
    console.log(`      ${co2.length} weeks, ${result.origins.length} origins × ${horizon} steps (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    console.log(result.report.replace(/^/gm, '      '));
    assert.ok(result.model.mae < result.seasonalNaive!.mae, `model MAE ${result.model.mae} vs seasonal naive ${result.seasonalNaive!.mae}`);
  });
});
