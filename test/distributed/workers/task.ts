/** What the fit workers share: a small GRU regressor and its data (as test/model/training.test.ts). */
import * as eddy from '../../../lib';

export { runningSum } from '../../model/tasks';

export function smallModel(seed: number, hiddenSize = 16): eddy.Sequential {
  eddy.manualSeed(seed);
  return eddy.sequential([new eddy.GRU({ inputSize: 2, hiddenSize }), new eddy.Linear({ inFeatures: hiddenSize, outFeatures: 1 })]);
}

/** Runs `main`; an error is printed with its code and makes the exit code 1. */
export function run(main: () => Promise<void>): void {
  main().catch((err) => {
    console.error(`${(err as { code?: string }).code ?? 'ERROR'}: ${(err as Error).stack ?? err}`);
    process.exitCode = 1;
  });
}
