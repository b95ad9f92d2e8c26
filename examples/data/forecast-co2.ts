/**
 * Forecasting Mauna Loa weekly CO2: read the CSV (its 59 missing weeks
 * interpolated for the model), scale on the training years only, train a GRU
 * that predicts 4 weeks at a time, compare it walk-forward with the naive
 * and seasonal-naive baselines on the last two years, then forecast the
 * quarter after the end of the data.
 * Run with `npx tsc -p . && node dist/examples/data/forecast-co2.js`.
 */
import * as path from 'path';
import * as eddy from '../../lib';

async function main(): Promise<void> {
  eddy.manualSeed(0);
  const table = await eddy.timeseries.readSeriesCsv(path.join(__dirname, '../../../examples/data/co2.csv'), { missing: 'keep' });
  const co2 = table.column('co2');
  const inputSteps = 26;
  const horizon = 4;

  const makeModel = () =>
    eddy.sequential([
      new eddy.GRU({ inputSize: 1, hiddenSize: 32 }),
      new eddy.SequencePooling({ mode: 'last' }),
      new eddy.Linear({ inFeatures: 32, outFeatures: horizon }),
    ]);

  const result = await eddy.timeseries.evaluateForecast({
    series: co2,
    inputSteps,
    horizon,
    testSize: 104,
    season: 52,
    missing: 'interpolate', // model inputs get the gaps filled; filled weeks are never scored
    scaler: new eddy.timeseries.StandardScaler(), // fitted on the training rows only
    fitModel: async ({ x, y }) => {
      const model = makeModel();
      // The model ends in Linear(32 → horizon), so the targets go flat: [N, horizon].
      await model.fit({ x, y: y.reshape([y.shape[0], horizon]) }, { epochs: 30, loss: 'mse', batchSize: 64, optimizer: new eddy.optim.Adam(model.parameters(), { lr: 0.01 }) });
      return model;
    },
  });
  console.log(`Walk-forward over the last 104 weeks, ${horizon} weeks ahead from each of ${result.origins.length} origins:`);
  console.log(result.report);

  // The scaler travels with the model (JSON.stringify(scaler), scalerFromJSON) so forecasts come back in ppm.
  const forecaster = new eddy.timeseries.Forecaster(result.fittedModel, { inputSteps, scaler: result.scaler ?? undefined, missing: 'interpolate' });
  // 13 weeks: the model runs 4 weeks at a time, its own forecasts fed back as inputs.
  const next = (await forecaster.forecast(co2, 13)) as number[];
  console.log(`Last week of data (${table.time!.at(-1)}): ${co2.at(-1)!.toFixed(1)} ppm; the next 13 weeks:`);
  console.log(next.map((v) => v.toFixed(1)).join(' '));
}

void main();
