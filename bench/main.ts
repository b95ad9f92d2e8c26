/**
 * `npm run bench -- <suite> [--threads N] [--configs C1,C3]`: prints one
 * JSON line per measurement. Suites: gemm (sgemm on the layers' GEMM
 * shapes), rnn (the recurrent layers, inference and training), step (one
 * token per native call through a stepper, C4, one thread), distributed
 * (data-parallel training on 1 and 2 MPI ranks; not in the default run),
 * stream (256 streams through a StreamBatcher), serve (a load test of
 * `eddy serve` on 127.0.0.1; not in the default run),
 * attention (the fused attention kernel beside PyTorch's SDPA), train (the
 * character LSTM end to end: Embedding → LSTM → Linear, cross-entropy, Adam,
 * clipping; tokens/s and the first losses, with the step called
 * synchronously and asynchronously; `--configs sync` or `--configs async`
 * runs one).
 */
import * as os from 'os';
import { parseArgs } from 'util';
import { runAttentionBench } from '../lib/bench/attention';
import { runDistributedBench } from '../lib/bench/distributed';
import { runGemmBench } from '../lib/bench/gemm';
import { runRnnBench } from '../lib/bench/rnn';
import { runStepBench } from '../lib/bench/step';
import { runServeBench } from '../lib/bench/serve';
import { runStreamBench } from '../lib/bench/stream';
import { runTrainBench } from '../lib/bench/train';

const SUITES: Record<string, (threads: number[], configs: string[]) => void | Promise<void>> = {
  gemm: runGemmBench,
  rnn: runRnnBench,
  step: runStepBench,
  stream: runStreamBench,
  serve: runServeBench,
  attention: runAttentionBench,
  distributed: runDistributedBench,
  train: runTrainBench,
};

const USAGE = `Usage: npm run bench -- [suite ...] [--threads N] [--configs C1,C3]
Suites: ${Object.keys(SUITES).join(', ')} (default: all but distributed and serve)`;

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { threads: { type: 'string' }, configs: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const { values, positionals: suites } = parsed;
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const configs = values.configs?.split(',') ?? [];
  const all = Math.max(1, os.availableParallelism());
  const threads = values.threads !== undefined ? [Number(values.threads)] : [...new Set([1, all])];
  const selected = suites.length > 0 ? suites : Object.keys(SUITES).filter((s) => s !== 'distributed' && s !== 'serve');
  for (const name of selected) {
    const run = SUITES[name];
    if (!run) {
      console.error(`Unknown benchmark suite "${name}". Available: ${Object.keys(SUITES).join(', ')}`);
      process.exitCode = 2;
      return;
    }
    await run(threads, configs);
  }
}

void main(process.argv.slice(2));
