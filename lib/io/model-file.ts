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
import { Parameter } from '../nn/parameter';
import { layerFromConfig, layerToConfig } from '../nn/registry';
import { globalGenerator } from '../random';
import { Tensor } from '../tensor/tensor';
import { checkOptions, describe, optionKeys } from '../validate';
import { writeFileAtomic } from './atomic-write';
import { largestNumber, parameterLowerBound } from './config-bound';
import { encodeSafetensors, entryToFloat32, LITTLE_ENDIAN, SafetensorsContents, SafetensorsDType, TensorToWrite } from './safetensors';
import { checkPath, SafetensorsFile, withSafetensorsFile } from './safetensors-file';

/** The version of Eddy's metadata layout written by this release; files from newer releases are refused. */
export const FORMAT_VERSION = 1;

export const META_VERSION = 'eddy.format_version';
export const META_KIND = 'eddy.kind';
export const META_MODEL = 'eddy.model';
/** Tensor names holding something other than model weights (optimizer state) contain this; module paths never do. */
export const RESERVED_SEPARATOR = '/';

/** The options of {@link save} and `model.save`. */
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

/** What {@link loadModelFile} returns. */
export interface LoadedModel {
  /** The rebuilt model, holding the file's weights. */
  model: Module;
  /** The caller's metadata given to `save` (without Eddy's own keys). */
  metadata: Record<string, string>;
  /** The version of Eddy's model-file format the file was written in. */
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

/**
 * A model file's bytes.
 * @param model - The model to encode.
 * @param opts - {@link SaveOptions}.
 * @throws {@link ValidationError} when a weight is not finite or the model would not load back.
 */
export function encodeModel(model: Module, opts: SaveOptions = {}): Buffer {
  const { tensors, metadata } = modelFileContents(model, opts);
  return encodeModelContents(tensors, metadata);
}

/**
 * Encodes a model file (or checkpoint) after checking that `load` will
 * accept it: finite weights, a header within the reader's limits, a config
 * the reader's size checks pass. Nothing is written before this succeeds.
 */
export function encodeModelContents(tensors: Map<string, TensorToWrite>, metadata: Map<string, string>): Buffer {
  for (const [name, t] of tensors) {
    const bad = t.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new ValidationError(`Expected finite values in ${JSON.stringify(name)} to save but received ${t.data[bad]} at index ${bad}: a file with it would not load`);
  }
  const spec = JSON.parse(metadata.get(META_MODEL)!) as unknown;
  const floats = [...tensors.values()].reduce((a, t) => a + t.data.length, 0);
  try {
    checkConfigSize(spec, floats, 'the model to save');
  } catch (err) {
    throw new ValidationError(`${(err as Error).message}: a file with it would not load`);
  }
  return encodeSafetensors(tensors, metadata);
}

/**
 * Writes `model` to `path` atomically (the previous file survives a crash at any moment); the file
 * is checked before `path` is touched.
 * @param model - The model to save (any registered layer or model).
 * @param path - The file to write (safetensors).
 * @param opts - {@link SaveOptions}.
 * @throws {@link ValidationError} when a weight is not finite or the model would not load back.
 * @throws {@link FileError} when the file cannot be written.
 * @example
 * ```ts
 * await eddy.save(model, 'model.safetensors', { metadata: { vocabulary: JSON.stringify(vocab) } });
 * const same = await eddy.load('model.safetensors');
 * ```
 */
export async function save(model: Module, path: string, opts: SaveOptions = {}): Promise<void> {
  checkPath('path', path);
  await writeFileAtomic(path, encodeModel(model, opts));
}

/**
 * Rebuilds a model from decoded file contents (a whole file in memory).
 * `what` names the file in messages.
 * @param contents - The decoded file.
 * @param what - The file's name in messages.
 * @throws {@link FormatError} when the contents are not a valid model file.
 */
export function decodeModel(contents: SafetensorsContents, what: string): LoadedModel {
  const entries = [...contents.tensors].map(([name, e]) => ({ name, dtype: e.dtype, shape: e.shape }));
  const { model, formatVersion, matched } = modelFromHeader(entries, contents.metadata, what);
  for (const [p, e, name] of matched) fillParameter(p, name, entryToFloat32(contents.tensors.get(e.name)!, `weight ${JSON.stringify(name)} in ${what}`), what);
  return { model, metadata: callerMetadata(contents.metadata), formatVersion };
}

/**
 * Reads a model file: the rebuilt model, its metadata and format version.
 * Only the header is read before the model is built and every tensor's
 * name and shape matched to it; then each tensor is read straight into its
 * parameter, so loading a file of N bytes takes about N bytes of memory.
 * @param path - The model file.
 * @throws {@link FormatError} when the file is malformed or untrusted input is invalid.
 * @throws {@link FileError} when the file cannot be read.
 * @example
 * ```ts
 * const { model, metadata } = await eddy.loadModelFile('model.safetensors');
 * const vocab = JSON.parse(metadata.vocabulary);
 * ```
 */
export async function loadModelFile(path: string): Promise<LoadedModel> {
  checkPath('path', path);
  return withSafetensorsFile(path, readModel);
}

/** `loadModelFile` on an open file (a checkpoint's loader reads its optimizer state afterwards). */
export async function readModel(file: SafetensorsFile): Promise<LoadedModel> {
  const { model, formatVersion, matched } = modelFromHeader(file.entries, file.metadata, file.what);
  for (const [p, e, name] of matched) {
    const dst = p.data.data.subarray(p.data.offset, p.data.offset + p.data.size);
    if (e.dtype === 'F32' && LITTLE_ENDIAN) await file.read(e, new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength));
    else dst.set(entryToFloat32(await file.readEntry(e), `weight ${JSON.stringify(name)} in ${file.what}`));
    fillParameter(p, name, dst, file.what);
  }
  return { model, metadata: callerMetadata(file.metadata), formatVersion };
}

/**
 * Reads a model file (from `save`, `model.save` or a checkpoint) and rebuilds the model with its
 * weights.
 * @param path - The model file.
 * @throws {@link FormatError} when the file is malformed or untrusted input is invalid.
 * @throws {@link FileError} when the file cannot be read.
 */
export async function load(path: string): Promise<Module> {
  return (await loadModelFile(path)).model;
}

/**
 * Loads the weights of any safetensors file whose names are `module`'s
 * state-dict names (a PyTorch state dict saved with safetensors, say) into
 * `module`. Every parameter must be present with its exact shape; other
 * tensors are an error. Names and shapes are checked before any data is
 * read, and every value before the module changes.
 * @param module - The module to fill; it changes only when every weight checks out.
 * @param path - The safetensors file.
 * @throws {@link FormatError} when a name, shape or value does not match.
 * @throws {@link FileError} when the file cannot be read.
 */
export async function loadWeights(module: Module, path: string): Promise<void> {
  if (!(module instanceof Module)) throw new ValidationError(`Expected a model or layer (a Module) for module but received ${describe(module)}`);
  checkPath('path', path);
  await withSafetensorsFile(path, async (file) => {
    const state: Record<string, Float32Array> = {};
    for (const [, e, name] of matchEntries(module, file.entries, file.what, false)) state[name] = entryToFloat32(await file.readEntry(e), `weight ${JSON.stringify(name)} in ${file.what}`);
    loadChecked(module, state, file.what, false);
  });
}

/**
 * Every tensor of a safetensors file as float32 tensors, by name (after the same checks as `load`),
 * read one at a time.
 * @param path - The safetensors file.
 * @throws {@link FormatError} when the file is malformed.
 * @throws {@link FileError} when the file cannot be read.
 */
export async function readStateDict(path: string): Promise<Record<string, Tensor>> {
  checkPath('path', path);
  return withSafetensorsFile(path, async (file) => {
    const out: Record<string, Tensor> = Object.create(null);
    for (const e of file.entries) out[e.name] = new Tensor(entryToFloat32(await file.readEntry(e), `tensor ${JSON.stringify(e.name)} in ${file.what}`), e.shape);
    return out;
  });
}

/** The caller's metadata: everything but Eddy's own keys. */
export function callerMetadata(metadata: Map<string, string>): Record<string, string> {
  const user: Record<string, string> = {};
  for (const [k, v] of metadata) if (k !== 'format' && !k.startsWith('eddy.')) user[k] = v;
  return user;
}

/**
 * Checks a model file's header — format version, config, the config's size
 * against the tensors' — builds the model and matches every tensor to a
 * parameter by name, shape and dtype. No tensor data is needed.
 */
function modelFromHeader<E extends HeaderTensor>(entries: readonly E[], metadata: Map<string, string>, what: string): { model: Module; formatVersion: number; matched: [Parameter, E, string][] } {
  const formatVersion = checkVersion(metadata, what);
  const spec = parseModelConfig(metadata, what);
  checkConfigSize(spec, entries.reduce((a, e) => a + e.shape.reduce((n, d) => n * d, 1), 0), what);
  const model = buildModel(spec, what);
  return { model, formatVersion, matched: matchEntries(model, entries, what, true) };
}

/** Checks values read into a freshly built model's parameter and puts them there (they may already be in place). */
function fillParameter(p: Parameter, name: string, values: Float32Array, what: string): void {
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new FormatError(`Expected finite values for state dict entry ${name} but received ${values[bad]} at index ${bad} (in ${what})`);
  const dst = p.data.data;
  if (values.buffer !== dst.buffer || values.byteOffset !== dst.byteOffset + 4 * p.data.offset) dst.set(values, p.data.offset);
}

export function checkVersion(metadata: Map<string, string>, what: string): number {
  const v = metadata.get(META_VERSION);
  if (v === undefined) throw new FormatError(`Expected ${META_VERSION} in the metadata of ${what}: it is not an Eddy model file (load plain state dicts with loadWeights)`);
  if (!/^[1-9][0-9]{0,8}$/.test(v)) throw new FormatError(`Expected a positive integer for ${META_VERSION} in ${what} but received ${JSON.stringify(v.slice(0, 20))}`);
  const n = Number(v);
  if (n > FORMAT_VERSION) throw new FormatError(`${what} has format version ${n}, newer than this Eddy reads (${FORMAT_VERSION}): upgrade eddy-rnn`);
  return n;
}

export function parseModelConfig(metadata: Map<string, string>, what: string): unknown {
  const text = metadata.get(META_MODEL);
  if (text === undefined) throw new FormatError(`Expected the model config (${META_MODEL}) in the metadata of ${what}`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FormatError(`Invalid JSON in ${META_MODEL} of ${what}: ${(err as Error).message}`);
  }
}

/** Refuses configs that would allocate more weights than the file holds (see config-bound.ts). */
export function checkConfigSize(spec: unknown, floats: number, what: string): void {
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

/** What matching needs of a tensor: its name, dtype and shape (a header entry, or a tensor in memory). */
export interface HeaderTensor {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
}

const FLOAT_DTYPES = new Set<SafetensorsDType>(['F32', 'F64', 'F16', 'BF16']);

/**
 * Matches a file's tensors to `model`'s parameters by name, shape and
 * dtype, from the header alone: returns (parameter, tensor, name) for every
 * parameter. With `allowReserved`, tensors whose names hold
 * RESERVED_SEPARATOR (a checkpoint's optimizer state) are skipped; any
 * other extra tensor is an error.
 */
export function matchEntries<E extends HeaderTensor>(model: Module, entries: readonly E[], what: string, allowReserved: boolean): [Parameter, E, string][] {
  const params = model.namedParameters();
  const known = new Set(params.map(([n]) => n));
  const byName = new Map<string, E>();
  for (const e of entries) {
    if (!known.has(e.name) && !(allowReserved && e.name.includes(RESERVED_SEPARATOR))) {
      throw new FormatError(`Unexpected tensor ${JSON.stringify(e.name.slice(0, 80))} in ${what} for ${model.toString()}; expected ${[...known].slice(0, 12).join(', ')}${known.size > 12 ? ', …' : ''}`);
    }
    byName.set(e.name, e);
  }
  return params.map(([name, p]) => {
    const e = byName.get(name);
    if (!e) throw new FormatError(`Missing weight ${JSON.stringify(name)} in ${what} for ${model.toString()}`);
    if (e.shape.length !== p.shape.length || e.shape.some((d, i) => d !== p.shape[i])) {
      throw new FormatError(`Expected shape [${p.shape.join(', ')}] for weight ${JSON.stringify(name)} in ${what} but the file has [${e.shape.join(', ')}]`);
    }
    if (!FLOAT_DTYPES.has(e.dtype)) throw new FormatError(`Expected a floating-point dtype (F32, F64, F16, BF16) for weight ${JSON.stringify(name)} in ${what} but received ${e.dtype}`);
    return [p, e, name];
  });
}

/**
 * Loads the float tensors named like `model`'s parameters from a file held
 * in memory (see `matchEntries` for the names allowed). With `checkOnly`,
 * everything is checked and nothing changed.
 */
export function loadEntries(model: Module, contents: SafetensorsContents, what: string, allowReserved: boolean, checkOnly = false): void {
  const entries = [...contents.tensors].map(([name, e]) => ({ name, dtype: e.dtype, shape: e.shape }));
  const state: Record<string, Float32Array> = {};
  for (const [, , name] of matchEntries(model, entries, what, allowReserved)) state[name] = entryToFloat32(contents.tensors.get(name)!, `weight ${JSON.stringify(name)} in ${what}`);
  loadChecked(model, state, what, checkOnly);
}

/** `loadStateDict` (or `checkStateDict`) with its errors reported as problems of the file. */
function loadChecked(model: Module, state: Record<string, Float32Array>, what: string, checkOnly: boolean): void {
  try {
    if (checkOnly) model.checkStateDict(state);
    else model.loadStateDict(state);
  } catch (err) {
    if (err instanceof EddyError) throw new FormatError(`${err.message} (in ${what})`);
    throw err;
  }
}
