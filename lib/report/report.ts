/**
 * The training report: one self-contained HTML file with inline SVG charts
 * (losses, learning rate, gradient norm; for forecasts the held-out series
 * against the forecast and the baselines; for text a sample).
 */
import { escapeXml, lineChart, Series } from './svg';

export interface ReportInput {
  title: string;
  /** Facts shown as a table: task, model, data, timing, … */
  facts?: Record<string, string | number>;
  /** Per-epoch values by name (`loss`, `valLoss`, metrics). */
  history?: Record<string, readonly number[]>;
  /** Learning rate per step or epoch. */
  learningRate?: readonly number[];
  /** Gradient norm before clipping, per step. */
  gradNorm?: readonly number[];
  /** Held-out series with the model's forecast, its prediction intervals and baselines, all aligned on `x`. */
  forecast?: {
    x?: readonly number[];
    actual: readonly number[];
    predicted: readonly number[];
    baselines?: Record<string, readonly number[]>;
    /** Prediction intervals of the forecast (level 0.8 for 80 %), drawn as shaded bands. */
    intervals?: readonly { level: number; lower: readonly number[]; upper: readonly number[] }[];
  };
  /** Generated text. */
  sample?: string;
}

const STYLE = `body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:720px;color:#222}
h1{font-size:22px}h2{font-size:16px;margin-top:28px}table{border-collapse:collapse}td{padding:2px 12px 2px 0}
td:first-child{color:#666}.title{font-weight:600;font-size:13px}.tick,.legend,.label{font-size:11px;fill:#444}
pre{white-space:pre-wrap;background:#f6f6f6;padding:12px;border-radius:4px}`;

/**
 * How a logged name reads where people see it (progress lines, chart
 * legends): snake_case, as Keras prints it, so `valAccuracy` shows as
 * `val_accuracy`. The names in logs and history stay camelCase.
 */
export function logLabel(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export function renderReport(r: ReportInput): string {
  const sections: string[] = [];
  if (r.facts && Object.keys(r.facts).length > 0) {
    const rows = Object.entries(r.facts).map(([k, v]) => `<tr><td>${escapeXml(k)}</td><td>${escapeXml(String(v))}</td></tr>`);
    sections.push(`<table>${rows.join('')}</table>`);
  }
  const history = r.history ?? {};
  const lossNames = Object.keys(history).filter((k) => /loss$/i.test(k));
  if (lossNames.length > 0) {
    const series: Series[] = lossNames.map((name) => ({ name, label: logLabel(name), values: history[name], x: history[name].map((_, i) => i + 1), dashed: name.startsWith('val') }));
    const positive = series.every((s) => s.values.every((v) => v > 0));
    sections.push(`<h2>Loss</h2>${lineChart(series, { title: 'Training and validation loss', xLabel: 'epoch', logY: positive })}`);
  }
  const metricNames = Object.keys(history).filter((k) => !/loss$/i.test(k));
  if (metricNames.length > 0) {
    const series: Series[] = metricNames.map((name) => ({ name, label: logLabel(name), values: history[name], x: history[name].map((_, i) => i + 1), dashed: name.startsWith('val') }));
    sections.push(`<h2>Metrics</h2>${lineChart(series, { title: 'Metrics', xLabel: 'epoch' })}`);
  }
  if (r.learningRate && r.learningRate.length > 0) {
    sections.push(`<h2>Learning rate</h2>${lineChart([{ name: 'lr', values: r.learningRate }], { title: 'Learning rate', xLabel: 'step' })}`);
  }
  if (r.gradNorm && r.gradNorm.length > 0) {
    sections.push(`<h2>Gradient norm</h2>${lineChart([{ name: 'norm before clipping', values: r.gradNorm }], { title: 'Gradient norm', xLabel: 'step', logY: r.gradNorm.every((v) => v > 0) })}`);
  }
  if (r.forecast) {
    const f = r.forecast;
    const series: Series[] = [
      { name: 'actual', values: f.actual, x: f.x },
      { name: 'forecast', values: f.predicted, x: f.x },
      ...Object.entries(f.baselines ?? {}).map(([name, values]) => ({ name, values, x: f.x, dashed: true })),
    ];
    // Widest first, so the narrower band is drawn over it and both stay visible.
    const bands = [...(f.intervals ?? [])].sort((a, b) => b.level - a.level).map((b) => ({ name: `${+(b.level * 100).toFixed(1)} % interval`, lower: b.lower, upper: b.upper, x: f.x, opacity: 0.14 }));
    const title = bands.length > 0 ? 'Held-out series, forecast with prediction intervals, and baselines' : 'Held-out series, forecast and baselines';
    sections.push(`<h2>Forecast on held-out data</h2>${lineChart(series, { title, xLabel: 'step', bands })}`);
  }
  if (r.sample !== undefined) sections.push(`<h2>Sample</h2><pre>${escapeXml(r.sample)}</pre>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(r.title)}</title><style>${STYLE}</style></head>
<body><h1>${escapeXml(r.title)}</h1>
${sections.join('\n')}
</body></html>
`;
}
