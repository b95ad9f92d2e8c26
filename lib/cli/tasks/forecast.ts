/**
 * `eddy train --task forecast`: the default forecaster
 * (`eddy.timeseries.fitForecaster`) for one column of a CSV series (the
 * bundled weekly CO2 by default), scored walk-forward on the held-out tail
 * one step and `--horizon` steps ahead against the naive and seasonal-naive
 * baselines, with prediction intervals in the report.
 */
import * as path from 'path';
import * as eddy from '../../index';
import { ValidationError } from '../../errors';
import { bundledData, TrainConfig } from '../config';
import { readColumn } from '../inputs';
import { CliMetadata, metadataJson, writeMetadata } from '../metadata';
import { Run } from '../run';
import type { EvaluateOptions, TrainTask } from '../task';

/** The forecaster a model file holds: its network and the `forecaster` metadata. */
export function forecasterOf(model: eddy.Model, metadata: CliMetadata): eddy.timeseries.SeriesForecaster {
  return eddy.timeseries.SeriesForecaster.fromJSON(model, metadataJson(metadata, 'forecaster'));
}

async function train(c: TrainConfig): Promise<void> {
  const { values, name } = await readColumn(c.data, c.column);
  const missing = values.filter(Number.isNaN).length;
  const season = c.season > 0 ? `season ${c.season}` : 'no season';
  console.log(`Forecasting ${JSON.stringify(name)} from ${path.basename(c.data)}: ${values.length} rows (${missing} missing, interpolated), last ${c.testSize} held out, ${season}, ${c.horizon} step${c.horizon === 1 ? '' : 's'} per forecast`);
  const run = new Run(c);
  let result: eddy.timeseries.BacktestResult;
  try {
    result = await eddy.timeseries.backtest(values, {
      testSize: c.testSize,
      season: c.season,
      horizon: c.horizon,
      missing: 'interpolate',
      hidden: c.hidden,
      epochs: c.epochs,
      lr: c.lr,
      seed: c.seed,
      ...(c.seqLen > 0 ? { inputSteps: c.seqLen } : {}),
      ...(c.batchSize > 0 ? { batchSize: c.batchSize } : {}),
      signal: run.controller.signal,
      distributed: c.distributed === true,
      onNetworkEnd: (e) => {
        const what = e.stage === 'validate' ? `${e.scaling} changes, best of ${e.epochs} epochs on the validation tail (loss ${e.valLoss!.toPrecision(3)})` : `${e.epochs} epochs on every training row`;
        console.log(`network ${e.member + 1}/${e.members}: ${what}`);
      },
    });
  } catch (e) {
    if (!run.interrupted) throw e;
    run.done();
    console.log('\nInterrupted: nothing saved (training a forecaster takes seconds; run it again)');
    process.exitCode = 130;
    return;
  }
  const r = result;
  run.history.loss = r.training.history.loss;
  run.history.valLoss = r.training.history.valLoss;
  const metadata = writeMetadata({ task: 'forecast', forecaster: JSON.stringify(r.forecaster), column: name });
  await run.finish(r.model, metadata, async () => {
    console.log(`\nWalk-forward over the last ${c.testSize} rows:`);
    console.log(`${r.report}\n`);
    const start = r.trainRows;
    const smooth = eddy.timeseries.handleMissing(values, 'interpolate') as number[];
    const baselines: Record<string, number[]> = { naive: smooth.slice(start - 1, values.length - 1) };
    if (c.season > 0) baselines['seasonal naive'] = smooth.slice(start - c.season, values.length - c.season);
    const f = r.forecaster.features;
    const mae = (s: eddy.timeseries.BacktestScores | undefined): string => (s ? s.mae.toPrecision(4) : '—');
    return {
      title: `eddy train: forecaster for ${name}`,
      facts: {
        model: `ensemble of ${r.training.epochs.length} lag networks (${f.inputSteps} lags${f.season >= 2 ? `, season ${f.season}` : ''}, hidden ${c.hidden}, ${f.horizon} output${f.horizon === 1 ? '' : 's'}), ${f.scaling} changes from the last value`,
        optimizer: `adam, lr ${c.lr}, Huber loss, early stopping on a validation tail`,
        'batch × sequence': `${c.batchSize > 0 ? c.batchSize : 'auto'} × ${f.inputSteps}`,
        'epochs per network': r.training.epochs.join(', '),
        rows: values.length,
        'missing values (interpolated)': missing,
        'held-out rows': c.testSize,
        'one-step MAE (model / naive / seasonal naive)': `${mae(r.oneStep.model)} / ${mae(r.oneStep.naive)} / ${mae(r.oneStep.seasonalNaive)}`,
        [`1–${r.horizon}-step MAE (model / naive / seasonal naive)`]: `${mae(r.multiStep.model)} / ${mae(r.multiStep.naive)} / ${mae(r.multiStep.seasonalNaive)}`,
        'one-step interval coverage': r.oneStep.coverage.map((cv) => `${Math.round(cv.level * 100)} %: ${(cv.rate * 100).toFixed(0)} %`).join(', '),
      },
      forecast: { x: r.forecasts.mean.map((_, i) => start + i), actual: smooth.slice(start), predicted: r.forecasts.mean, baselines, intervals: r.forecasts.intervals },
      next: `eddy forecast ${run.modelPath} --data ${c.data} --steps ${Math.max(c.horizon, c.season || 12)}`,
    };
  });
}

/** `eddy evaluate` of a model from an earlier version: a window model with a scaler, one step ahead. */
async function evaluateWindowModel(model: eddy.Sequential, metadata: CliMetadata, o: EvaluateOptions, values: number[], name: string): Promise<void> {
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
}

export const task: TrainTask = {
  defaults: { data: bundledData('co2.csv'), cell: 'gru', hidden: 32, seqLen: 0, batchSize: 0, epochs: 300, lr: 0.003, clipNorm: 0, dropout: 0 },
  unused: {
    keys: ['cell', 'layers', 'bidirectional', 'optimizer', 'clipNorm', 'dropout'],
    why: 'its forecaster is a small ensemble of lag networks trained with Adam in seconds (see eddy.timeseries.fitForecaster); --hidden, --seq-len, --batch-size, --epochs, --lr, --seed, --season and --horizon set it',
  },
  train,
  async evaluate(model, metadata, o) {
    if (!o.data) throw new ValidationError('Expected --data <series.csv> for `eddy evaluate` of a forecast model');
    const { values, name } = await readColumn(o.data, o.column ?? metadata.column);
    if (metadata.forecaster === undefined) return evaluateWindowModel(model, metadata, o, values, name);
    const forecaster = forecasterOf(model, metadata);
    const r = await eddy.timeseries.evaluateForecaster(forecaster, values, { testSize: o.testSize, season: o.season, missing: 'interpolate' });
    console.log(`Walk-forward over the last ${o.testSize} rows of ${name}:`);
    console.log(r.report);
  },
};
