/**
 * Model files: safetensors with the weights under PyTorch's module paths
 * (`0.weight_ih_l0`, `1.weight`, … exactly as `stateDict()` names them, and
 * as `torch.nn.Sequential(...).state_dict()` would) and, in
 * `__metadata__`, the format version, the architecture as a layer config
 * (`eddy.model`, JSON) and the caller's own string metadata (tokenizer,
 * scalers, …). Loading rebuilds the architecture with `layerFromConfig`
 * and loads the weights; every problem with the file is a FormatError.
 */
import '../layers'; // each built-in layer registers itself with layerFromConfig when it loads
import { EddyError, FormatError, ValidationError } from '../errors';
import { Module } from '../nn/module';
import { layerFromConfig, layerToConfig } from '../nn/registry';
import { globalGenerator } from '../random';
import { Tensor } from '../tensor/tensor';
import { checkOptions, describe, optionKeys } from '../validate';
import { writeFileAtomic } from './atomic-write';
import { largestNumber, parameterLowerBound } from './config-bound';
import { DTYPE_SIZES, encodeSafetensors, entryToFloat32, SafetensorsContents, SafetensorsDType, TensorToWrite } from './safetensors';
import { checkPath, readSafetensorsFile, readSafetensorsHeader } from './safetensors-file';

/** The version of Eddy's metadata layout written by this release; files from newer releases are refused. */
export const FORMAT_VERSION = 1;

export const META_VERSION = 'eddy.format_version';
export const META_KIND = 'eddy.kind';
export const META_MODEL = 'eddy.model';
/** Tensor names holding something other than model weights (optimizer state) contain this; module paths never do. */
export const RESERVED_SEPARATOR = '/';

export interface SaveOptions {
  /**
   * The caller's string metadata (a tokenizer's vocabulary as JSON, scaler
   * statistics, …), stored in `__metadata__` and returned by
   * `loadModelFile`. Keys starting with `eddy.` and the key `format` are
   * reserved. @default {}
   */
  metadata?: Record<string, string>;
}

export const SAVE_OPTION_KEYS = optionKeys<SaveOptions>({ metadata: true });

export interface LoadedModel {
  model: Module;
  /** The caller's metadata given to `save` (without Eddy's own keys). */
  metadata: Record<string, string>;
  formatVersion: number;
}

/** Checks the caller's metadata and returns it as entries. */
export function userMetadata(value: unknown): [string, string][] {
  if (value === undefined) return [];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ValidationError(`Expected an object of strings for metadata but received ${describe(value)}`);
  return Object.keys(value).map((key) => {
    const v = (value as Record<string, unknown>)[key];
    if (key === 'format' || key.startsWith('eddy.') || key === '__proto__' || key === 'constructor' || key === 'prototype' || key.length === 0) {
      throw new ValidationError(`Expected a metadata key other than ${JSON.stringify(key)} (keys starting with "eddy.", "format" and prototype names are reserved)`);
    }
    if (typeof v !== 'string') throw new ValidationError(`Expected a string for metadata.${key} but received ${describe(v)}`);
    return [key, v];
  });
}

/**
 * The tensors and metadata of a model file, with `extraTensors` and
 * `extraMetadata` (a checkpoint's optimizer state) added.
 */
export function modelFileContents(model: Module, opts: SaveOptions = {}, kind = 'model'): { tensors: Map<string, TensorToWrite>; metadata: Map<string, string> } {
  if (!(model instanceof Module)) throw new ValidationError(`Expected a model or layer (a Module) for model but received ${describe(model)}`);
  checkOptions('options', opts, SAVE_OPTION_KEYS);
  const metadata = new Map<string, string>([
    ['format', 'pt'], // what safetensors.torch writes: tools take the file for a PyTorch state dict
    [META_VERSION, String(FORMAT_VERSION)],
    [META_KIND, kind],
    [META_MODEL, JSON.stringify(layerToConfig(model))],
    ...userMetadata(opts.metadata),
  ]);
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, p] of model.namedParameters()) tensors.set(name, { data: p.data.toFloat32Array(), shape: p.shape });
  return { tensors, metadata };
}

/** A model file's bytes. */
export function encodeModel(model: Module, opts: SaveOptions = {}): Buffer {
  const { tensors, metadata } = modelFileContents(model, opts);
  return encodeSafetensors(tensors, metadata);
}

/** Writes `model` to `path` atomically (the previous file survives a crash at any moment). */
export async function save(model: Module, path: string, opts: SaveOptions = {}): Promise<void> {
  checkPath('path', path);
  await writeFileAtomic(path, encodeModel(model, opts));
}

/** Rebuilds a model from decoded file contents. `what` names the file in messages. */
export function decodeModel(contents: SafetensorsContents, what: string): LoadedModel {
  const { tensors, metadata } = contents;
  const formatVersion = checkVersion(metadata, what);
  const spec = parseModelConfig(metadata, what);
  const floats = [...tensors.values()].reduce((a, t) => a + t.bytes.length / DTYPE_SIZES[t.dtype], 0);
  checkConfigSize(spec, floats, what);
  const model = buildModel(spec, what);
  loadEntries(model, contents, what, true);
  const user: Record<string, string> = {};
  for (const [k, v] of metadata) if (k !== 'format' && !k.startsWith('eddy.')) user[k] = v;
  return { model, metadata: user, formatVersion };
}

/** Reads a model file: the rebuilt model, its metadata and format version. */
export async function loadModelFile(path: string): Promise<LoadedModel> {
  checkPath('path', path);
  return decodeModel(await readSafetensorsFile(path), JSON.stringify(path));
}

/** Reads a model file (from `save`, `model.save` or a checkpoint) and rebuilds the model with its weights. */
export async function load(path: string): Promise<Module> {
  return (await loadModelFile(path)).model;
}

/**
 * Loads the weights of any safetensors file whose names are `module`'s
 * state-dict names (a PyTorch state dict saved with safetensors, say) into
 * `module`. Every parameter must be present with its exact shape; other
 * tensors are an error.
 */
export async function loadWeights(module: Module, path: string): Promise<void> {
  if (!(module instanceof Module)) throw new ValidationError(`Expected a model or layer (a Module) for module but received ${describe(module)}`);
  checkPath('path', path);
  loadEntries(module, await readSafetensorsFile(path), JSON.stringify(path), false);
}

/** Every tensor of a safetensors file as float32 tensors, by name (after the same checks as `load`). */
export async function readStateDict(path: string): Promise<Record<string, Tensor>> {
  checkPath('path', path);
  const what = JSON.stringify(path);
  const out: Record<string, Tensor> = Object.create(null);
  for (const [name, e] of (await readSafetensorsFile(path)).tensors) out[name] = new Tensor(entryToFloat32(e, `tensor ${JSON.stringify(name)} in ${what}`), e.shape);
  return out;
}

export interface ModelFileInfo {
  formatVersion: number;
  /** 'model' or 'checkpoint'. */
  kind: string;
  /** The layer tree, one module per line, indented by depth, with state-dict paths. */
  architecture: string;
  /** The layer config (`{ className, config }`). */
  config: unknown;
  /** Total number of weights. */
  parameters: number;
  tensors: { name: string; dtype: SafetensorsDType; shape: number[] }[];
  metadata: Record<string, string>;
}

/** What `eddy info model.safetensors` prints: the architecture and parameter count, read from the header (the weights are not read). */
export async function describeModelFile(path: string): Promise<ModelFileInfo> {
  checkPath('path', path);
  const what = JSON.stringify(path);
  const { entries, metadata } = await readSafetensorsHeader(path);
  const formatVersion = checkVersion(metadata, what);
  const spec = parseModelConfig(metadata, what);
  const floats = entries.reduce((a, e) => a + (e.end - e.begin) / DTYPE_SIZES[e.dtype], 0);
  checkConfigSize(spec, floats, what);
  const model = buildModel(spec, what);
  const shapes = new Map(entries.map((e) => [e.name, e.shape]));
  for (const [name, p] of model.namedParameters()) {
    const s = shapes.get(name);
    if (!s || s.join() !== p.shape.join()) throw new FormatError(`${s ? 'Wrong shape' : 'Missing weight'} ${JSON.stringify(name)} in ${what}: expected [${p.shape.join(', ')}]${s ? ` but the file has [${s.join(', ')}]` : ''}`);
  }
  const lines: string[] = [];
  const walk = (m: Module, name: string, depth: number): void => {
    lines.push(`${'  '.repeat(depth)}${name ? name + ': ' : ''}${m.toString()}`);
    for (const [child, c] of m.children()) walk(c, child, depth + 1);
  };
  walk(model, '', 0);
  const user: Record<string, string> = {};
  for (const [k, v] of metadata) if (k !== 'format' && !k.startsWith('eddy.')) user[k] = v;
  return {
    formatVersion,
    kind: metadata.get(META_KIND) ?? 'model',
    architecture: lines.join('\n'),
    config: spec,
    parameters: model.parameters().reduce((a, p) => a + p.data.size, 0),
    tensors: entries.map((e) => ({ name: e.name, dtype: e.dtype, shape: e.shape })),
    metadata: user,
  };
}

function checkVersion(metadata: Map<string, string>, what: string): number {
  const v = metadata.get(META_VERSION);
  if (v === undefined) throw new FormatError(`Expected ${META_VERSION} in the metadata of ${what}: it is not an Eddy model file (load plain state dicts with loadWeights)`);
  if (!/^[1-9][0-9]{0,8}$/.test(v)) throw new FormatError(`Expected a positive integer for ${META_VERSION} in ${what} but received ${JSON.stringify(v.slice(0, 20))}`);
  const n = Number(v);
  if (n > FORMAT_VERSION) throw new FormatError(`${what} has format version ${n}, newer than this Eddy reads (${FORMAT_VERSION}): upgrade eddy-rnn`);
  return n;
}

function parseModelConfig(metadata: Map<string, string>, what: string): unknown {
  const text = metadata.get(META_MODEL);
  if (text === undefined) throw new FormatError(`Expected the model config (${META_MODEL}) in the metadata of ${what}`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FormatError(`Invalid JSON in ${META_MODEL} of ${what}: ${(err as Error).message}`);
  }
}

/** Refuses configs that would allocate more weights than the file holds (see config-bound.ts). */
function checkConfigSize(spec: unknown, floats: number, what: string): void {
  const bound = parameterLowerBound(spec);
  if (!(bound <= floats)) throw new FormatError(`The model config in ${what} needs at least ${bound} weights but the file holds ${floats}`);
  const largest = largestNumber(spec);
  const cap = Math.max(floats, 65536);
  if (!(largest <= cap)) throw new FormatError(`The model config in ${what} holds the number ${largest}, larger than any size this file's ${floats} weights allow`);
}

/** layerFromConfig without disturbing the global random stream (building draws initial weights from it). */
function buildModel(spec: unknown, what: string): Module {
  const rng = globalGenerator.getState();
  try {
    return layerFromConfig(spec, 'model');
  } catch (err) {
    if (err instanceof FormatError) throw new FormatError(`${err.message} (in ${what})`);
    throw new FormatError(`Cannot build the model of ${what}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    globalGenerator.setState(rng);
  }
}

/**
 * Loads the float tensors named like `model`'s parameters. With
 * `allowReserved`, tensors whose names hold RESERVED_SEPARATOR (a
 * checkpoint's optimizer state) are skipped; any other extra is an error.
 */
export function loadEntries(model: Module, contents: SafetensorsContents, what: string, allowReserved: boolean, checkOnly = false): void {
  const params = model.namedParameters();
  const known = new Set(params.map(([n]) => n));
  for (const name of contents.tensors.keys()) {
    if (!known.has(name) && !(allowReserved && name.includes(RESERVED_SEPARATOR))) {
      throw new FormatError(`Unexpected tensor ${JSON.stringify(name.slice(0, 80))} in ${what} for ${model.toString()}; expected ${[...known].slice(0, 12).join(', ')}${known.size > 12 ? ', …' : ''}`);
    }
  }
  const state: Record<string, Float32Array> = {};
  for (const [name, p] of params) {
    const e = contents.tensors.get(name);
    if (!e) throw new FormatError(`Missing weight ${JSON.stringify(name)} in ${what} for ${model.toString()}`);
    if (e.shape.length !== p.shape.length || e.shape.some((d, i) => d !== p.shape[i])) {
      throw new FormatError(`Expected shape [${p.shape.join(', ')}] for weight ${JSON.stringify(name)} in ${what} but the file has [${e.shape.join(', ')}]`);
    }
    state[name] = entryToFloat32(e, `weight ${JSON.stringify(name)} in ${what}`);
  }
  try {
    if (checkOnly) model.checkStateDict(state);
    else model.loadStateDict(state);
  } catch (err) {
    if (err instanceof EddyError) throw new FormatError(`${err.message} (in ${what})`);
    throw err;
  }
}
