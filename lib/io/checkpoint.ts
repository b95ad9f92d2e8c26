/**
 * Checkpoints: a model file (so `eddy.load` reads one too) plus what
 * training needs to continue exactly where it stopped — the optimizer's
 * buffers (tensors `optimizer/<index>/<buffer>`, names a module path never
 * has) and step counts and hyperparameters, the epoch and step, the random
 * generators' states and a learning-rate schedule's state (JSON in
 * `__metadata__`).
 *
 * Resuming: restore into a fresh model, optimizer and generator, then call
 * `fit` for the remaining epochs with them. The global generator (which
 * dropout and initialization draw from by default) is saved and restored
 * too, so the continued run draws exactly the numbers the uninterrupted one
 * would have.
 */
import { EddyError, FormatError, ValidationError } from '../errors';
import { Module } from '../nn/module';
import { Optimizer, OptimizerStateDict } from '../optim/optimizer';
import { Generator, globalGenerator } from '../random';
import { checkOptions, describe, optionKeys } from '../validate';
import { writeFileAtomic } from './atomic-write';
import { encodeModelContents, loadEntries, modelFileContents, readModel, RESERVED_SEPARATOR } from './model-file';
import { entryToFloat32, SafetensorsContents, SafetensorsEntry } from './safetensors';
import { checkPath, withSafetensorsFile } from './safetensors-file';

const META_EPOCH = 'eddy.epoch';
const META_STEP = 'eddy.step';
const META_OPTIMIZER = 'eddy.optimizer';
const META_RNG = 'eddy.rng';
const META_SCHEDULER = 'eddy.scheduler';
const OPTIMIZER_PREFIX = `optimizer${RESERVED_SEPARATOR}`;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Something with PyTorch-style state: a learning-rate schedule. */
export interface Stateful {
  /** The state as JSON-serializable data. */
  stateDict(): unknown;
  /**
   * Restores a state that `stateDict` returned.
   * @param state - The saved state.
   */
  loadStateDict(state: never): void;
}

/** What {@link saveCheckpoint} writes: the model, and the training state needed to resume. */
export interface CheckpointState {
  /** The model whose architecture and weights are saved. */
  model: Module;
  /** The optimizer whose state (moments, step counts, hyperparameters) is saved. */
  optimizer?: Optimizer<{ lr: number }>;
  /** Epochs completed. @default 0 */
  epoch?: number;
  /** Optimizer steps completed. @default 0 */
  step?: number;
  /** Generators to save besides the global one (which is always saved): one, or several by name. */
  rng?: Generator | Record<string, Generator>;
  /** A learning-rate schedule (anything with stateDict / loadStateDict returning JSON). */
  scheduler?: Stateful;
  /** The caller's string metadata, as for `save`. */
  metadata?: Record<string, string>;
}

/** Where {@link loadCheckpoint} restores a checkpoint's parts. */
export interface RestoreTargets {
  /** Load the weights into this model (same architecture); @default a model rebuilt from the file */
  model?: Module;
  /** Restore the optimizer's state into it; its class and parameter sizes must match. */
  optimizer?: Optimizer<{ lr: number }>;
  /** Restore these generators (as passed to saveCheckpoint). */
  rng?: Generator | Record<string, Generator>;
  /** Restore the learning-rate schedule's state into it. */
  scheduler?: Stateful;
  /** Also restore the global generator. @default true */
  restoreGlobalRng?: boolean;
  /** Skip the generators in `rng` that the checkpoint holds no state for, instead of refusing it. @default false */
  skipMissingRng?: boolean;
}

export const RESTORE_TARGET_KEYS = optionKeys<RestoreTargets>({ model: true, optimizer: true, rng: true, scheduler: true, restoreGlobalRng: true, skipMissingRng: true });
export const CHECKPOINT_STATE_KEYS = optionKeys<CheckpointState>({ model: true, optimizer: true, epoch: true, step: true, rng: true, scheduler: true, metadata: true });

/** What {@link loadCheckpoint} returns. */
export interface LoadedCheckpoint {
  /** The model holding the checkpoint's weights (`into.model` when given). */
  model: Module;
  /** Epochs completed when the checkpoint was saved. */
  epoch: number;
  /** Optimizer steps completed when the checkpoint was saved. */
  step: number;
  /** The caller's string metadata. */
  metadata: Record<string, string>;
}

/**
 * Writes a checkpoint atomically.
 * @param path - The file to write (safetensors).
 * @param state - {@link CheckpointState}.
 * @throws {@link ValidationError} when `state` is malformed or a weight is not finite.
 * @throws {@link FileError} when the file cannot be written.
 * @example
 * ```ts
 * await eddy.saveCheckpoint('run.ckpt.safetensors', { model, optimizer, epoch: 3 });
 * const { epoch } = await eddy.loadCheckpoint('run.ckpt.safetensors', { model, optimizer });
 * ```
 */
export async function saveCheckpoint(path: string, state: CheckpointState): Promise<void> {
  checkPath('path', path);
  if (state === null || typeof state !== 'object') throw new ValidationError(`Expected { model, optimizer, epoch, step, rng } for state but received ${describe(state)}`);
  checkOptions('state', state, CHECKPOINT_STATE_KEYS);
  const { tensors, metadata } = modelFileContents(state.model, { metadata: state.metadata }, 'checkpoint');
  metadata.set(META_EPOCH, String(counter('epoch', state.epoch)));
  metadata.set(META_STEP, String(counter('step', state.step)));
  if (state.optimizer !== undefined) {
    if (!(state.optimizer instanceof Optimizer)) throw new ValidationError(`Expected an eddy optimizer for optimizer but received ${describe(state.optimizer)}`);
    const sd = state.optimizer.stateDict();
    const steps: Record<string, number> = {};
    for (const [index, entry] of Object.entries(sd.state)) {
      steps[index] = entry.step;
      for (const [name, buf] of Object.entries(entry.buffers)) tensors.set(`${OPTIMIZER_PREFIX}${index}${RESERVED_SEPARATOR}${name}`, { data: buf, shape: [buf.length] });
    }
    metadata.set(META_OPTIMIZER, JSON.stringify({ className: state.optimizer.constructor.name, paramGroups: sd.paramGroups, steps }));
  }
  metadata.set(META_RNG, JSON.stringify({ global: globalGenerator.getState(), ...generatorStates(state.rng) }));
  if (state.scheduler !== undefined) metadata.set(META_SCHEDULER, JSON.stringify(state.scheduler.stateDict()));
  await writeFileAtomic(path, encodeModelContents(tensors, metadata));
}

/**
 * Reads a checkpoint and restores it into the given targets: weights into
 * `model` (or a rebuilt one), and the optimizer, generators and schedule
 * when given. Everything is checked before anything is changed (a
 * schedule's own loadStateDict, run first, is the one thing trusted to
 * check itself).
 * @param path - The checkpoint file.
 * @param into - {@link RestoreTargets}.
 * @throws {@link FormatError} when the file is malformed or does not match the targets.
 * @throws {@link FileError} when the file cannot be read.
 */
export async function loadCheckpoint(path: string, into: RestoreTargets = {}): Promise<LoadedCheckpoint> {
  checkPath('path', path);
  checkOptions('into', into, RESTORE_TARGET_KEYS);
  const what = JSON.stringify(path);
  // The header is checked and the model rebuilt (names and sizes matched to
  // its config) before any tensor data is read.
  const { contents, decoded } = await withSafetensorsFile(path, async (file) => {
    const kind = file.metadata.get('eddy.kind');
    if (kind !== 'checkpoint') throw new FormatError(`Expected a checkpoint (eddy.kind "checkpoint") in ${what} but it is ${JSON.stringify(kind ?? 'not an Eddy file')}`);
    const model = await readModel(file);
    const tensors = new Map<string, SafetensorsEntry>();
    for (const e of file.entries) tensors.set(e.name, into.model || e.name.startsWith(OPTIMIZER_PREFIX) ? await file.readEntry(e) : { dtype: e.dtype, shape: e.shape, bytes: new Uint8Array(0) });
    return { contents: { tensors, metadata: file.metadata }, decoded: model };
  });
  const { metadata } = contents;
  const epoch = metaCounter(metadata, META_EPOCH, what);
  const step = metaCounter(metadata, META_STEP, what);
  const rng = metaJson(metadata, META_RNG, what) as Record<string, unknown> | undefined;
  const optimizerState = into.optimizer ? optimizerStateDict(contents, into.optimizer, what) : undefined;
  const schedulerState = into.scheduler ? metaJson(metadata, META_SCHEDULER, what) : undefined;
  if (into.scheduler && schedulerState === undefined) throw new FormatError(`Expected a scheduler state in ${what} but it has none`);
  const generators = targetGenerators(into.rng).filter(([name]) => !into.skipMissingRng || (rng !== undefined && Array.isArray(rng[name])));
  for (const [name] of generators) {
    if (!rng || !Array.isArray(rng[name])) throw new FormatError(`Expected the state of generator ${JSON.stringify(name)} in ${what} but it has none`);
  }
  const restoreGlobal = into.restoreGlobalRng !== false && rng !== undefined && Array.isArray(rng.global);
  try {
    // Check everything that can be checked without changing anything: the
    // weights, the optimizer's state, the generators' states (on scratch
    // generators). Then change things.
    if (into.model) loadEntries(into.model, contents, what, true, true);
    if (into.optimizer) into.optimizer.checkStateDict(optimizerState!);
    for (const [name] of generators) new Generator().setState(rng![name] as number[]);
    if (restoreGlobal) new Generator().setState(rng!.global as number[]);
    if (into.scheduler) into.scheduler.loadStateDict(schedulerState as never);
    if (into.optimizer) into.optimizer.loadStateDict(optimizerState!);
    for (const [name, g] of generators) g.setState(rng![name] as number[]);
    if (restoreGlobal) globalGenerator.setState(rng!.global as number[]);
    if (into.model) loadEntries(into.model, contents, what, true);
  } catch (err) {
    if (err instanceof EddyError && !(err instanceof FormatError)) throw new FormatError(`${err.message} (restoring ${what})`);
    throw err;
  }
  return { model: into.model ?? decoded.model, epoch, step, metadata: decoded.metadata };
}

function counter(name: string, value: unknown): number {
  if (value === undefined) return 0;
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw new ValidationError(`Expected a non-negative integer for ${name} but received ${describe(value)}`);
  return value as number;
}

function generatorStates(rng: CheckpointState['rng']): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, g] of targetGenerators(rng)) out[name] = g.getState();
  return out;
}

/** Generators by name: a single one is called `rng`. */
function targetGenerators(rng: CheckpointState['rng']): [string, Generator][] {
  if (rng === undefined) return [];
  if (rng instanceof Generator) return [['rng', rng]];
  if (rng === null || typeof rng !== 'object') throw new ValidationError(`Expected a Generator or an object of Generators for rng but received ${describe(rng)}`);
  return Object.keys(rng).map((name) => {
    const g = (rng as Record<string, unknown>)[name];
    if (!(g instanceof Generator) || name === 'global' || FORBIDDEN_KEYS.has(name)) throw new ValidationError(`Expected a Generator for rng.${name} (and a name other than "global") but received ${describe(g)}`);
    return [name, g];
  });
}

function metaCounter(metadata: Map<string, string>, key: string, what: string): number {
  const v = metadata.get(key) ?? '0';
  if (!/^(0|[1-9][0-9]{0,15})$/.test(v) || !Number.isSafeInteger(Number(v))) throw new FormatError(`Expected a non-negative integer for ${key} in ${what} but received ${JSON.stringify(v.slice(0, 20))}`);
  return Number(v);
}

/** Parsed JSON from a metadata entry, refusing keys that could reach a prototype; undefined when absent. */
function metaJson(metadata: Map<string, string>, key: string, what: string): unknown {
  const text = metadata.get(key);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new FormatError(`Invalid JSON in ${key} of ${what}: ${(err as Error).message}`);
  }
  const check = (v: unknown, depth: number): void => {
    if (depth > 32) throw new FormatError(`Expected at most 32 levels of nesting in ${key} of ${what}`);
    if (v === null || typeof v !== 'object') return;
    for (const k of Object.keys(v)) {
      if (FORBIDDEN_KEYS.has(k)) throw new FormatError(`Forbidden key ${JSON.stringify(k)} in ${key} of ${what}`);
      check((v as Record<string, unknown>)[k], depth + 1);
    }
  };
  check(value, 0);
  return value;
}

function optimizerStateDict(contents: SafetensorsContents, optimizer: Optimizer<{ lr: number }>, what: string): OptimizerStateDict {
  const meta = metaJson(contents.metadata, META_OPTIMIZER, what) as { className?: unknown; paramGroups?: unknown; steps?: unknown } | undefined;
  if (meta === undefined) throw new FormatError(`Expected optimizer state (${META_OPTIMIZER}) in ${what} but it has none`);
  if (meta === null || typeof meta !== 'object' || !Array.isArray(meta.paramGroups) || meta.steps === null || typeof meta.steps !== 'object' || Array.isArray(meta.steps)) {
    throw new FormatError(`Expected { className, paramGroups, steps } for ${META_OPTIMIZER} in ${what}`);
  }
  if (meta.className !== optimizer.constructor.name) throw new FormatError(`${what} holds the state of a ${String(meta.className).slice(0, 40)} optimizer, not of the ${optimizer.constructor.name} given`);
  if (!meta.paramGroups.every((g) => g !== null && typeof g === 'object' && !Array.isArray(g))) throw new FormatError(`Expected objects in ${META_OPTIMIZER}.paramGroups of ${what}`);
  const state: OptimizerStateDict['state'] = {};
  const steps = meta.steps as Record<string, unknown>;
  for (const index of Object.keys(steps)) {
    if (!/^(0|[1-9][0-9]{0,8})$/.test(index)) throw new FormatError(`Expected parameter indices as keys of ${META_OPTIMIZER}.steps in ${what} but received ${JSON.stringify(index.slice(0, 20))}`);
    const step = steps[index];
    if (!Number.isSafeInteger(step) || (step as number) < 0) throw new FormatError(`Expected a non-negative integer step for parameter ${index} in ${what}`);
    state[Number(index)] = { step: step as number, buffers: {} };
  }
  for (const [name, entry] of contents.tensors) {
    if (!name.startsWith(OPTIMIZER_PREFIX)) continue;
    const parts = name.slice(OPTIMIZER_PREFIX.length).split(RESERVED_SEPARATOR);
    const target = parts.length === 2 && Object.prototype.hasOwnProperty.call(state, parts[0]) ? state[Number(parts[0])] : undefined;
    if (!target || FORBIDDEN_KEYS.has(parts[1])) throw new FormatError(`Unexpected optimizer tensor ${JSON.stringify(name.slice(0, 80))} in ${what}`);
    target.buffers[parts[1]] = entryToFloat32(entry, `optimizer tensor ${JSON.stringify(name)} in ${what}`);
  }
  return { state, paramGroups: meta.paramGroups as Record<string, unknown>[] };
}
