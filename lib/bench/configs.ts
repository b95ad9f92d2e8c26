/** The benchmark configurations C1–C5 and their FLOP counts. */

export type CellKind = 'lstm' | 'gru' | 'rnn_tanh' | 'rnn_relu';

export interface BenchConfig {
  id: string;
  name: string;
  cell: CellKind;
  layers: number;
  bidirectional: boolean;
  input: number;
  hidden: number;
  batch: number;
  seq: number;
}

/**
 * The canonical configurations C1–C5, float32, tokens = batch · seq per
 * iteration; the same as every comparison script uses.
 */
export const BENCH_CONFIGS: readonly BenchConfig[] = [
  { id: 'C1', name: 'lstm-256', cell: 'lstm', layers: 1, bidirectional: false, input: 128, hidden: 256, batch: 64, seq: 100 },
  { id: 'C2', name: 'gru-256', cell: 'gru', layers: 1, bidirectional: false, input: 128, hidden: 256, batch: 64, seq: 100 },
  { id: 'C3', name: 'bilstm-2x512', cell: 'lstm', layers: 2, bidirectional: true, input: 256, hidden: 512, batch: 32, seq: 50 },
  { id: 'C4', name: 'lstm-64-stream', cell: 'lstm', layers: 1, bidirectional: false, input: 32, hidden: 64, batch: 1, seq: 1000 },
  { id: 'C5', name: 'rnn-tanh-256', cell: 'rnn_tanh', layers: 1, bidirectional: false, input: 128, hidden: 256, batch: 64, seq: 100 },
];

export function gateCount(cell: CellKind): number {
  return cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
}

/** Forward FLOPs per token: sum over layers and directions of 2·G·H·(in + H). */
export function forwardFlopsPerToken(c: BenchConfig): number {
  const g = gateCount(c.cell);
  const dirs = c.bidirectional ? 2 : 1;
  let total = 0;
  for (let l = 0; l < c.layers; l++) {
    const inSize = l === 0 ? c.input : c.hidden * dirs;
    total += dirs * 2 * g * c.hidden * (inSize + c.hidden);
  }
  return total;
}
