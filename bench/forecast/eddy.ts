/**
 * The forecasting table: Eddy's default forecaster, walk-forward on every
 * series of bench/forecast/series.json over several seeds, next to the
 * naive, seasonal-naive and classical (statsmodels) forecasts that
 * classical.py wrote to classical.json.
 *
 *   npx tsc -p . && node dist/bench/forecast/eddy.js [--seeds 5] [--only airpassengers] [--out bench/forecast/eddy.json]
 */
import { readFileSync, writeFileSync } from 'fs';
import * as path from 'path';
import * as eddy from '../../lib';

const ROOT = path.join(__dirname, '..', '..', '..');
const HERE = path.join(ROOT, 'bench', 'forecast');

interface Entry {
  name: string;
  file: string;
  season: number;
  testSize: number;
  horizon: number;
}

function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: string[]): Promise<void> {
  const seeds = Number(flag(argv, '--seeds') ?? 5);
  const only = flag(argv, '--only');
  const out = flag(argv, '--out');
  const settings = JSON.parse(readFileSync(path.join(HERE, 'series.json'), 'utf8')) as { series: Entry[] };
  const results = [];
  for (const s of settings.series) {
    if (only && s.name !== only) continue;
    const table = await eddy.timeseries.readSeriesCsv(path.join(ROOT, 'examples', 'data', s.file), { missing: 'keep' });
    const values = table.column(0);
    const runs = [];
    for (let seed = 0; seed < seeds; seed++) {
      const started = Date.now();
      const r = await eddy.timeseries.backtest(values, { season: s.season, horizon: s.horizon, testSize: s.testSize, missing: 'interpolate', seed: seed * 100 });
      runs.push({ seed: seed * 100, seconds: (Date.now() - started) / 1000, oneStep: r.oneStep, multiStep: r.multiStep, scaling: r.training.scaling, validationMae: r.training.validationMae, epochs: r.training.epochs });
      console.error(`${s.name} seed ${seed * 100}: one-step MAE ${r.oneStep.model.mae.toPrecision(4)} (naive ${r.oneStep.naive.mae.toPrecision(4)}${r.oneStep.seasonalNaive ? `, seasonal ${r.oneStep.seasonalNaive.mae.toPrecision(4)}` : ''}), ${s.horizon}-step ${r.multiStep.model.mae.toPrecision(4)} (naive ${r.multiStep.naive.mae.toPrecision(4)}), coverage ${r.oneStep.coverage.map((c) => c.rate.toFixed(2)).join('/')}, ${r.training.scaling}, epochs ${r.training.epochs.join(',')}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    results.push({ ...s, runs });
  }
  if (out) writeFileSync(out, JSON.stringify({ seeds, series: results }, null, 1) + '\n');
}

main(process.argv.slice(2)).catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
