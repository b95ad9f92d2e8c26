/**
 * `eddy train`'s dispatcher: the table of tasks, and the settings a run
 * starts from (the common defaults, the task's, a --config file, the flags).
 * Loads nothing heavy until a task runs, so `--help` stays instant.
 */
import { ValidationError } from '../errors';
import { checkConfig, COMMON_DEFAULTS, oneOf, TrainConfig } from './config';
import type { Resumed } from './run';
import type { TrainTask } from './task';

interface TaskEntry {
  /** What the task does, for `eddy train --help`. */
  help: string;
  load(): Promise<TrainTask>;
}

/**
 * The tasks of `eddy train` and `eddy evaluate`. A new task is one file
 * under tasks/ exporting a TrainTask as `task`, and one line here.
 */
export const TASKS: Readonly<Record<string, TaskEntry>> = {
  text: { help: 'next-character model', load: async () => (await import('./tasks/text')).task },
  forecast: { help: 'time series', load: async () => (await import('./tasks/forecast')).task },
  classify: { help: 'labelled texts: CSV text,label or JSONL; default: dialogue vs narration in the bundled novel', load: async () => (await import('./tasks/classify')).task },
};

/** The --task help: `text (…), forecast (…) or classify (…)`. */
export function taskHelp(): string {
  const parts = Object.entries(TASKS).map(([name, t]) => `${name} (${t.help})`);
  return parts.length > 1 ? `${parts.slice(0, -1).join(', ')} or ${parts.at(-1)}` : parts.join('');
}

/** The task called `name`; any other name gets the --task message. */
export function loadTask(name: string): Promise<TrainTask> {
  return TASKS[oneOf('task', name, Object.keys(TASKS))].load();
}

/** Runs `eddy train` with `config` over the task's defaults; with `resumed`, continues that checkpoint. */
export async function train(config: Partial<TrainConfig> & Pick<TrainConfig, 'task'>, resumed?: Resumed): Promise<void> {
  const task = await loadTask(config.task);
  const unused = task.unused?.keys.filter((k) => config[k] !== undefined) ?? [];
  if (unused.length > 0) {
    const flags = unused.map((k) => `--${k.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}`);
    throw new ValidationError(`Expected no ${flags.join(', ')} for --task ${config.task}: ${task.unused!.why}`);
  }
  const c = checkConfig({ ...COMMON_DEFAULTS, ...task.defaults, ...config });
  const eddy = await import('../index');
  if (c.threads !== undefined) eddy.setNumThreads(c.threads);
  if (c.distributed) await (await import('./distributed')).joinJob(c.threads);
  eddy.manualSeed(c.seed);
  return task.train(c, resumed);
}
