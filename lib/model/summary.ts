/** A printable table of a model's layers, output shapes and parameter counts. */
import type { Module } from '../nn/module';

export function parameterCount(m: Module, onlyTrainable = false): number {
  return m.parameters().reduce((a, p) => a + (onlyTrainable && !p.data.requiresGrad ? 0 : p.data.size), 0);
}

/** One row of a model summary: a layer call with its output shape and parameter count. */
export interface SummaryRow {
  /** The layer's path in the model. */
  name: string;
  /** The layer's class and options, as printed. */
  layer: string;
  /** The output shape, batch first; null where it is not known. */
  outputShape: readonly number[] | null;
  /** Parameters the layer owns. */
  params: number;
}

export function formatSummary(title: string, rows: SummaryRow[], model: Module): string {
  const total = parameterCount(model);
  const trainable = parameterCount(model, true);
  const shape = (s: readonly number[] | null): string => (s ? `[${s.map((d, i) => (i === 0 ? 'batch' : String(d))).join(', ')}]` : '-');
  const cells = rows.map((r) => [r.name, r.layer, shape(r.outputShape), r.params.toLocaleString('en-US')]);
  const header = ['name', 'layer', 'output shape', 'params'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]): string => c.map((v, i) => (i === 3 ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd();
  const rule = '─'.repeat(widths.reduce((a, w) => a + w + 2, -2));
  return [
    title,
    rule,
    line(header),
    rule,
    ...cells.map(line),
    rule,
    `Parameters: ${total.toLocaleString('en-US')} (trainable ${trainable.toLocaleString('en-US')})`,
  ].join('\n');
}
