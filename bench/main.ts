/**
 * `npm run bench -- <suite> [--threads N]`: prints one JSON line per
 * measurement. Suites: gemm.
 */
import * as os from 'os';
import { runGemmBench } from './gemm';

const SUITES: Record<string, (threads: number[]) => void | Promise<void>> = {
  gemm: runGemmBench,
};

async function main(argv: string[]): Promise<void> {
  const suites = argv.filter((a) => !a.startsWith('--'));
  const threadsFlag = argv.indexOf('--threads');
  const all = Math.max(1, os.availableParallelism());
  const threads = threadsFlag >= 0 ? [Number(argv[threadsFlag + 1])] : [...new Set([1, all])];
  const selected = suites.length > 0 ? suites : Object.keys(SUITES);
  for (const name of selected) {
    const run = SUITES[name];
    if (!run) {
      console.error(`Unknown benchmark suite "${name}". Available: ${Object.keys(SUITES).join(', ')}`);
      process.exitCode = 2;
      return;
    }
    await run(threads);
  }
}

void main(process.argv.slice(2));
