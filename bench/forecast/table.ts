/**
 * The forecasting table in Markdown, from bench/forecast/eddy.json (Eddy,
 * several seeds) and bench/forecast/classical.json (statsmodels), with the
 * gates: Eddy's mean MAE below naive and seasonal naive on every series,
 * within 10 % of the classical model's, and ahead of it on at least 4 of 6.
 *
 *   node dist/bench/forecast/table.js [eddy.json] [classical.json]
 */
import { readFileSync } from 'fs';
import * as path from 'path';

const HERE = path.join(__dirname, '..', '..', '..', 'bench', 'forecast');

interface Scores {
  mae: number;
  rmse: number;
  mape: number;
  mase: number;
}
interface Part {
  model: Scores;
  naive: Scores;
  seasonalNaive?: Scores;
  coverage: { level: number; rate: number }[];
}
interface EddyRun {
  seed: number;
  oneStep: Part;
  multiStep: Part;
}
interface EddySeries {
  name: string;
  season: number;
  testSize: number;
  horizon: number;
  runs: EddyRun[];
}
interface ClassicalModel {
  model: string;
  oneStep: Scores;
  multiStep: Scores;
}
interface ClassicalSeries {
  name: string;
  models: Record<'ets' | 'arima', ClassicalModel>;
  classical: 'ets' | 'arima';
}

const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
const sd = (v: number[]): number => Math.sqrt(v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / Math.max(1, v.length - 1));
/** Decimals for a value of this size: 4 significant digits or one decimal. */
const decimals = (v: number): number => (Math.abs(v) >= 100 ? 1 : Math.abs(v) >= 1 ? 3 : 4);
const fmt = (v: number, like = v): string => v.toFixed(decimals(like));
const pct = (v: number): string => `${v >= 0 ? '+' : '−'}${Math.abs(v * 100).toFixed(1)} %`;

function main(argv: string[]): void {
  const eddy = JSON.parse(readFileSync(argv[0] ?? path.join(HERE, 'eddy.json'), 'utf8')) as { seeds: number; series: EddySeries[] };
  const classical = JSON.parse(readFileSync(argv[1] ?? path.join(HERE, 'classical.json'), 'utf8')) as { series: ClassicalSeries[] };
  const byName = new Map(classical.series.map((s) => [s.name, s]));
  const lines: string[] = [];
  const gates: string[] = [];
  let ahead = 0;
  let passed = true;
  for (const part of ['oneStep', 'multiStep'] as const) {
    lines.push(
      part === 'oneStep' ? `**One step ahead** (MAE, walk-forward over the held-out rows; Eddy: mean ± sd over ${eddy.seeds} seeds)` : '**Multi-step** (MAE over every step 1…h from every origin in the held-out rows)',
      '',
      `| series (season, held out${part === 'multiStep' ? ', h' : ''}) | Eddy | naive | seasonal naive | ETS | ARIMA | classical (chosen on validation) | Eddy vs classical | Eddy MASE | Eddy 80 % / 95 % coverage |`,
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const s of eddy.series) {
      const c = byName.get(s.name);
      const maes = s.runs.map((r) => r[part].model.mae);
      const m = mean(maes);
      const first = s.runs[0][part];
      const ets = c?.models.ets[part].mae;
      const arima = c?.models.arima[part].mae;
      const chosen = c ? c.models[c.classical][part].mae : undefined;
      const gap = chosen === undefined ? undefined : m / chosen - 1;
      const coverage = [0, 1].map((i) => mean(s.runs.map((r) => r[part].coverage[i]?.rate ?? NaN)));
      lines.push(
        `| ${s.name} (${s.season || '—'}, ${s.testSize}${part === 'multiStep' ? `, ${s.horizon}` : ''}) | ${fmt(m)} ± ${fmt(sd(maes), m)} | ${fmt(first.naive.mae)} | ${first.seasonalNaive ? fmt(first.seasonalNaive.mae) : '—'} | ${ets === undefined ? '—' : fmt(ets)} | ${arima === undefined ? '—' : fmt(arima)} | ${chosen === undefined ? '—' : `${fmt(chosen)} (${c!.classical.toUpperCase()})`} | ${gap === undefined ? '—' : pct(gap)} | ${mean(s.runs.map((r) => r[part].model.mase)).toFixed(3)} | ${coverage.map((v) => `${(v * 100).toFixed(0)} %`).join(' / ')} |`,
      );
      if (part === 'oneStep') {
        const beatsNaive = m < first.naive.mae && (first.seasonalNaive === undefined || m < first.seasonalNaive.mae);
        const within = gap !== undefined && gap <= 0.1;
        if (gap !== undefined && gap < 0) ahead++;
        passed &&= beatsNaive && within;
        gates.push(`* ${s.name}: ${beatsNaive ? 'beats' : 'does NOT beat'} naive${first.seasonalNaive ? ' and seasonal naive' : ''}; ${gap === undefined ? 'no classical result' : `${pct(gap)} against ${c!.models[c!.classical].model}`}${within ? '' : ' — outside the 10 % gate'}`);
      }
    }
    lines.push('');
  }
  lines.push(`Gates (one step): ${passed ? 'met on every series' : 'NOT met on every series'}; ahead of the classical model on ${ahead} of ${eddy.series.length}.`, '', ...gates);
  console.log(lines.join('\n'));
}

main(process.argv.slice(2));
