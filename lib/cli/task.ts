/**
 * What a task of `eddy train` provides. A task is one file under tasks/
 * exporting `task`, and one line in the TASKS table of train.ts.
 */
import type * as eddy from '../index';
import type { TaskDefaults, TrainConfig } from './config';
import type { CliMetadata } from './metadata';
import type { Resumed } from './run';

/** The flags of `eddy evaluate`. */
export interface EvaluateOptions {
  data?: string;
  seqLen: number;
  maxChars?: number;
  testSize: number;
  season: number;
  column?: string;
}

export interface TrainTask {
  /** The task's data and model size when the flags do not say. */
  readonly defaults: TaskDefaults;
  /** Settings the task has no use for, with why: giving one is an error rather than silently ignored. @default none */
  readonly unused?: { readonly keys: readonly (keyof TrainConfig)[]; readonly why: string };
  /** Trains, saves model.safetensors and report.html under `c.out`; with `resumed`, continues that checkpoint. */
  train(c: TrainConfig, resumed?: Resumed): Promise<void>;
  /** `eddy evaluate` of a model this task made: prints its scores on `o.data`. */
  evaluate(model: eddy.Sequential, metadata: CliMetadata, o: EvaluateOptions): Promise<void>;
}
