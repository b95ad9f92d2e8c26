/** The benchmark configurations C1–C5 (bench/configs.json) and their FLOP counts. */
import * as fs from 'fs';
import * as path from 'path';

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

export function loadConfigs(): BenchConfig[] {
  // Compiled to dist/bench; the JSON stays in bench/.
  const file = path.resolve(__dirname, '..', '..', 'bench', 'configs.json');
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as { configs: Record<string, Omit<BenchConfig, 'id'>> };
  return Object.entries(raw.configs).map(([id, c]) => ({ id, ...c }));
}

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
