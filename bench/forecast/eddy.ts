/**
 * The forecasting table: Eddy's default forecaster, walk-forward on every
 * series of bench/forecast/series.json over several seeds, next to the
 * naive, seasonal-naive and classical (statsmodels) forecasts that
 * classical.py wrote to classical.json. The one-step scores come from a
 * forecaster trained with horizon 1, the multi-step ones from one trained
 * with the series' horizon (direct), as the classical side fits one model
 * per series but a direct network predicts the steps it was trained for.
 *
 *   npx tsc -p . && node dist/bench/forecast/eddy.js [--seeds 5] [--from 0] [--only airpassengers] [--part one|multi] [--out bench/forecast/eddy.json]
 *   node dist/bench/forecast/eddy.js --merge part1.json part2.json … --out bench/forecast/eddy.json
 *
 * Parts and series can run in separate processes and be merged.
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

interface Run {
  seed: number;
  seconds: number;
  oneStep?: unknown;
  multiStep?: unknown;
  scaling: Record<string, string>;
  epochs: Record<string, number[]>;
}

async function main(argv: string[]): Promise<void> {
  const seeds = Number(flag(argv, '--seeds') ?? 5);
  const from = Number(flag(argv, '--from') ?? 0);
  const only = flag(argv, '--only');
  const parts = (flag(argv, '--part') ?? 'one,multi').split(',');
  const out = flag(argv, '--out');
  const settings = JSON.parse(readFileSync(path.join(HERE, 'series.json'), 'utf8')) as { series: Entry[] };
  const merge = argv.indexOf('--merge');
  if (merge >= 0) {
    // Joins runs of the same seeds from several files: parts of a run are merged by seed.
    const files = argv.slice(merge + 1).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--out');
    const found = new Map<string, Entry & { runs: Run[] }>();
    for (const file of files) {
      const doc = JSON.parse(readFileSync(file, 'utf8')) as { series: (Entry & { runs: Run[] })[] };
      for (const s of doc.series) {
        const into = found.get(s.name) ?? { ...s, runs: [] };
        for (const r of s.runs) {
          const same = into.runs.find((q) => q.seed === r.seed);
          if (same) Object.assign(same, { ...r, seconds: same.seconds + r.seconds, scaling: { ...same.scaling, ...r.scaling }, epochs: { ...same.epochs, ...r.epochs } });
          else into.runs.push(r);
        }
        found.set(s.name, into);
      }
    }
    const series = settings.series.filter((s) => found.has(s.name)).map((s) => ({ ...found.get(s.name)!, runs: found.get(s.name)!.runs.sort((a, b) => a.seed - b.seed) }));
    writeFileSync(out ?? path.join(HERE, 'eddy.json'), JSON.stringify({ seeds: Math.min(...series.map((s) => s.runs.length)), series }, null, 1) + '\n');
    return;
  }
  const results = [];
  for (const s of settings.series) {
    if (only && s.name !== only) continue;
    const table = await eddy.timeseries.readSeriesCsv(path.join(ROOT, 'examples', 'data', s.file), { missing: 'keep' });
    const values = table.column(0);
    const runs: Run[] = [];
    for (let i = from; i < seeds; i++) {
      const seed = i * 100;
      const run: Run = { seed, seconds: 0, scaling: {}, epochs: {} };
      for (const part of parts) {
        const started = Date.now();
        const horizon = part === 'one' ? 1 : s.horizon;
        const r = await eddy.timeseries.backtest(values, { season: s.season, horizon, testSize: s.testSize, missing: 'interpolate', seed });
        run.seconds += (Date.now() - started) / 1000;
        if (part === 'one') run.oneStep = r.oneStep;
        else run.multiStep = r.multiStep;
        run.scaling[part] = r.training.scaling;
        run.epochs[part] = r.training.epochs;
        const p = part === 'one' ? r.oneStep : r.multiStep;
        console.error(
          `${s.name} seed ${seed} horizon ${horizon}: MAE ${p.model.mae.toPrecision(4)} (naive ${p.naive.mae.toPrecision(4)}${p.seasonalNaive ? `, seasonal ${p.seasonalNaive.mae.toPrecision(4)}` : ''}), coverage ${p.coverage.map((c) => c.rate.toFixed(2)).join('/')}, ${r.training.scaling}, epochs ${r.training.epochs.join(',')}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
      }
      runs.push(run);
    }
    results.push({ ...s, runs });
  }
  if (out) writeFileSync(out, JSON.stringify({ seeds, series: results }, null, 1) + '\n');
}

main(process.argv.slice(2)).catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
