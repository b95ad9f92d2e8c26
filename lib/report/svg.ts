/**
 * Line charts as inline SVG: no scripts, no network, no dependencies, so a
 * report opens anywhere and stays readable in ten years.
 */

export interface Series {
  /** Identifies the series (the polyline's data-name). */
  name: string;
  /** What the legend shows. @default name */
  label?: string;
  values: readonly number[];
  /** x positions (default 0, 1, 2, …). */
  x?: readonly number[];
  color?: string;
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Logarithmic y axis (for losses spanning decades). @default false */
  logY?: boolean;
  /** Shaded ranges drawn under the lines (prediction intervals), widest first. @default none */
  bands?: readonly Band[];
}

/** A shaded range between two curves on the same x positions. */
export interface Band {
  /** Identifies the band (the polygon's data-name) and labels the legend. */
  name: string;
  lower: readonly number[];
  upper: readonly number[];
  /** x positions (default 0, 1, 2, …). */
  x?: readonly number[];
  color?: string;
  /** Fill opacity. @default 0.18 */
  opacity?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** Round, readable tick values covering [lo, hi]. */
function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

/** Ticks for a log axis spanning [lo, hi] in log10 units, at readable values (returned in log10 units). */
function logTicks(lo: number, hi: number): number[] {
  const fine = Array.from({ length: 90 }, (_, i) => 1 + i / 10);
  for (const mantissas of [[1], [1, 2, 5], [1, 1.5, 2, 3, 4, 5, 6, 8], fine]) {
    const out: number[] = [];
    for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
      for (const m of mantissas) {
        const t = Math.log10(m) + e;
        if (t >= lo && t <= hi) out.push(t);
      }
    }
    if (out.length >= 3) return mantissas === fine ? out.filter((_, i) => i % Math.ceil(out.length / 5) === 0) : out;
  }
  return ticks(lo, hi);
}

function format(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(1);
  return String(+v.toPrecision(4));
}

/** One chart: every series as a polyline, with axes, ticks and a legend. */
export function lineChart(series: readonly Series[], opts: ChartOptions): string {
  const width = opts.width ?? 640;
  const height = opts.height ?? 320;
  const m = { left: 64, right: 16, top: 32, bottom: 44 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const tf = (v: number): number => (opts.logY ? Math.log10(Math.max(v, 1e-30)) : v);
  const finite = (p: readonly [number, number]): boolean => Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!opts.logY || p[1] > 0);
  const points = series.map((s) => s.values.map((v, i) => [s.x ? s.x[i] : i, v] as const).filter(finite));
  const bands = (opts.bands ?? []).map((b) => {
    const x = (i: number): number => (b.x ? b.x[i] : i);
    const upper = b.upper.map((v, i) => [x(i), v] as const);
    const lower = b.lower.map((v, i) => [x(i), v] as const);
    // A band with a gap is dropped rather than drawn across it.
    return upper.every(finite) && lower.every(finite) ? [...upper, ...lower.reverse()] : [];
  });
  const xs = [...points.flat(), ...bands.flat()].map(([x]) => x);
  const ys = [...points.flat(), ...bands.flat()].map(([, y]) => tf(y));
  const title = `<text class="title" x="${m.left}" y="20">${escapeXml(opts.title)}</text>`;
  if (xs.length === 0) {
    return `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${title}<text x="${width / 2}" y="${height / 2}" text-anchor="middle">no data</text></svg>`;
  }
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) {
    // A constant series: a band around its value, not around zero.
    const d = opts.logY ? 0.1 : Math.abs(y0) * 0.1 || 0.5;
    [y0, y1] = [y0 - d, y1 + d];
  }
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const px = (x: number): number => m.left + ((x - x0) / (x1 - x0)) * plotW;
  const py = (y: number): number => m.top + plotH - ((tf(y) - y0) / (y1 - y0)) * plotH;
  const parts: string[] = [title];
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#ccc"/>`);
  for (const t of opts.logY ? logTicks(y0, y1) : ticks(y0, y1)) {
    const y = m.top + plotH - ((t - y0) / (y1 - y0)) * plotH;
    parts.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text class="tick" x="${m.left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${format(opts.logY ? 10 ** t : t)}</text>`);
  }
  for (const t of ticks(x0, x1)) {
    const x = px(t);
    parts.push(`<text class="tick" x="${x.toFixed(1)}" y="${m.top + plotH + 16}" text-anchor="middle">${format(t)}</text>`);
  }
  if (opts.xLabel) parts.push(`<text class="label" x="${m.left + plotW / 2}" y="${height - 6}" text-anchor="middle">${escapeXml(opts.xLabel)}</text>`);
  if (opts.yLabel) parts.push(`<text class="label" x="14" y="${m.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 14 ${m.top + plotH / 2})">${escapeXml(opts.yLabel)}</text>`);
  (opts.bands ?? []).forEach((b, i) => {
    const color = b.color ?? PALETTE[0];
    const d = bands[i].map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    if (d) parts.push(`<polygon class="band" data-name="${escapeXml(b.name)}" fill="${color}" fill-opacity="${b.opacity ?? 0.18}" stroke="none" points="${d}"/>`);
    const ly = m.top + 14 + (series.length + i) * 16;
    parts.push(`<rect x="${m.left + plotW - 150}" y="${ly - 9}" width="20" height="10" fill="${color}" fill-opacity="${b.opacity ?? 0.18}"/>`);
    parts.push(`<text class="legend" x="${m.left + plotW - 124}" y="${ly}">${escapeXml(b.name)}</text>`);
  });
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const d = points[i].map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    if (d) parts.push(`<polyline class="series" data-name="${escapeXml(s.name)}" fill="none" stroke="${color}" stroke-width="1.6"${s.dashed ? ' stroke-dasharray="5 4"' : ''} points="${d}"/>`);
    const ly = m.top + 14 + i * 16;
    parts.push(`<line x1="${m.left + plotW - 150}" x2="${m.left + plotW - 130}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/>`);
    parts.push(`<text class="legend" x="${m.left + plotW - 124}" y="${ly}">${escapeXml(s.label ?? s.name)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
}
