#!/usr/bin/env node
/**
 * The `eddy` command line.
 */
import { Command, CommanderError } from 'commander';
import { EddyError } from '../errors';

async function main(argv: string[]): Promise<void> {
  // Loaded lazily so `eddy --help` works even when the native module does not.
  const eddy = await import('../index');
  const program = new Command()
    .name('eddy')
    .description('Recurrent neural networks for Node.js on native kernels')
    .version(require('../../../package.json').version as string)
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('info')
    .description('show the native runtime: BLAS build, CPU features, threads')
    .action(() => {
      const info = eddy.runtimeInfo();
      console.log(`eddy-rnn ${program.version()}`);
      console.log(`BLAS:     ${info.blasConfig}`);
      console.log(`CPU:      ${info.blasCore} kernel${info.avx2 ? ', AVX2+FMA' : ''}, ${info.hardwareThreads} hardware threads`);
      console.log(`Threads:  ${info.numThreads} (set EDDY_NUM_THREADS to change)`);
    });

  program
    .command('demo')
    .description('multiply two random matrices on the native kernels and report the rate')
    .option('-n, --size <n>', 'matrix size', (v) => Number(v), 1024)
    .action(async (opts: { size: number }) => {
      const n = opts.size;
      if (!Number.isInteger(n) || n < 1 || n > 8192) throw new eddy.ValidationError(`Expected integer between 1 and 8192 for --size but received ${n}`);
      const a = eddy.tensor(Float32Array.from({ length: n * n }, () => Math.random() - 0.5), [n, n]);
      const b = eddy.tensor(Float32Array.from({ length: n * n }, () => Math.random() - 0.5), [n, n]);
      await eddy.matmulAsync(a, b);
      const t0 = performance.now();
      const c = await eddy.matmulAsync(a, b);
      const ms = performance.now() - t0;
      console.log(`matmul [${n}, ${n}] × [${n}, ${n}] on ${eddy.getNumThreads()} threads: ${ms.toFixed(1)} ms, ${((2 * n ** 3) / (ms * 1e6)).toFixed(1)} GFLOP/s`);
      console.log(`c[0][0] = ${c.get(0, 0).toFixed(6)}`);
    });

  await program.parseAsync(argv);
}

main(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode;
    return;
  }
  if (err instanceof EddyError) {
    console.error(`eddy: ${err.message}`);
    process.exitCode = 1;
    return;
  }
  throw err;
});
