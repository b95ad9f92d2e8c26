/**
 * `eddy train --task forecast`: a one-step-ahead forecaster for one column
 * of a CSV series (the bundled weekly CO2 by default), scored walk-forward
 * on the held-out tail against the naive and seasonal-naive baselines.
 */
import * as path from 'path';
import * as eddy from '../../index';
import { ValidationError } from '../../errors';
import { bundledData, TrainConfig } from '../config';
import { readColumn } from '../inputs';
import { metadataJson, writeMetadata } from '../metadata';
import { recurrent, Resumed, Run } from '../run';
import type { TrainTask } from '../task';

async function train(c: TrainConfig, resumed?: Resumed): Promise<void> {
  const { values, name } = await readColumn(c.data, c.column);
  const inputSteps = c.seqLen;
  if (values.length < inputSteps + c.testSize + 10) throw new ValidationError(`Expected more than ${inputSteps + c.testSize + 10} rows in ${c.data} for --seq-len ${inputSteps} and --test-size ${c.testSize} but received ${values.length}`);
  const missing = values.filter(Number.isNaN).length;
  console.log(`Forecasting ${JSON.stringify(name)} from ${path.basename(c.data)}: ${values.length} rows (${missing} missing, interpolated), last ${c.testSize} held out, ${inputSteps} steps of history per window`);
  const run = new Run(c, resumed);
  let interrupted = false;
  const result = await eddy.timeseries
    .evaluateForecast({
      series: values,
      inputSteps,
      horizon: 1,
      testSize: c.testSize,
      season: c.season > 0 ? c.season : undefined,
      missing: 'interpolate',
      scaler: new eddy.timeseries.StandardScaler(),
      fitModel: async ({ x, y }) => {
        const model = eddy.sequential([recurrent(c, 1), new eddy.SequencePooling({ mode: 'last' }), new eddy.Linear({ inFeatures: c.hidden * (c.bidirectional ? 2 : 1), outFeatures: 1 })] as never);
        const optimizer = await run.start(model);
        const fitted = await run.fit(model, optimizer, {
          data: { x, y: y.reshape([y.shape[0], 1]) },
          loss: 'mse',
          rows: x.shape[0],
          tokensPerBatch: c.batchSize * inputSteps,
          unit: 'steps',
          metadata: writeMetadata({ task: 'forecast' }),
        });
        if (!fitted) {
          interrupted = true;
          throw new eddy.AbortError('interrupted');
        }
        return model;
      },
    })
    .catch((e: unknown) => {
      if (interrupted) return null;
      throw e;
    });
  if (!result) return;
  const model = result.fittedModel as eddy.Sequential;
  const metadata = writeMetadata({ task: 'forecast', scaler: JSON.stringify(result.scaler), inputSteps: String(inputSteps), column: name });
  await run.finish(model, metadata, async () => {
    console.log(`\nOne step ahead over the last ${c.testSize} rows (walk-forward, ${result.scored} values scored):`);
    console.log(`${result.report}\n`);
    // The held-out tail for the report: one-step forecasts from the actual history before each row.
    const forecaster = new eddy.timeseries.Forecaster(model, { inputSteps, scaler: result.scaler ?? undefined, missing: 'interpolate' });
    const start = values.length - c.testSize;
    const smooth = eddy.timeseries.handleMissing(values, 'interpolate') as number[];
    const predicted: number[] = [];
    for (let t = start; t < values.length; t++) predicted.push(((await forecaster.forecast(values.slice(0, t), 1)) as number[])[0]);
    const baselines: Record<string, number[]> = { naive: smooth.slice(start - 1, values.length - 1) };
    if (c.season > 0) baselines['seasonal naive'] = smooth.slice(start - c.season, values.length - c.season);
    return {
      title: `eddy train: ${c.cell.toUpperCase()} forecaster for ${name}`,
      facts: {
        rows: values.length,
        'missing values (interpolated)': missing,
        'held-out rows': c.testSize,
        'model MAE': result.model.mae.toPrecision(4),
        'naive MAE': result.naive.mae.toPrecision(4),
        ...(result.seasonalNaive ? { 'seasonal-naive MAE': result.seasonalNaive.mae.toPrecision(4) } : {}),
      },
      forecast: { x: predicted.map((_, i) => start + i), actual: smooth.slice(start), predicted, baselines },
      next: `eddy forecast ${run.modelPath} --data ${c.data} --steps 52`,
    };
  });
}

export const task: TrainTask = {
  defaults: { data: bundledData('co2.csv'), cell: 'gru', hidden: 32, seqLen: 26, batchSize: 64, epochs: 30, lr: 0.01, clipNorm: 1, dropout: 0 },
  train,
  async evaluate(model, metadata, o) {
    if (!o.data) throw new ValidationError('Expected --data <series.csv> for `eddy evaluate` of a forecast model');
    const { values, name } = await readColumn(o.data, o.column ?? metadata.column);
    const result = await eddy.timeseries.evaluateForecast({
      series: values,
      model,
      inputSteps: Number(metadata.inputSteps),
      testSize: o.testSize,
      season: o.season > 0 ? o.season : undefined,
      missing: 'interpolate',
      scaler: metadata.scaler === undefined ? undefined : eddy.timeseries.scalerFromJSON(metadataJson(metadata, 'scaler')),
    });
    console.log(`One step ahead over the last ${o.testSize} rows of ${name} (${result.scored} values scored):`);
    console.log(result.report);
  },
};
