/**
 * The layer registry behind serialization (tfjs-layers' getConfig() and
 * class registry): a layer's architecture travels as plain JSON,
 * `{ className, config }`, where `config` holds exactly its constructor
 * options; its weights travel separately as a state dict.
 *
 * Configs read from files are untrusted: they are checked to be plain JSON
 * (no functions, no class instances, no cycles, bounded depth) without
 * prototype-polluting keys before any layer sees them, classes are looked
 * up in a Map (never on an object, never by eval), and every failure is a
 * `FormatError` that says where in the config it happened.
 */
import { FormatError, UnknownOptionError, ValidationError } from '../errors';
import { describe, fail } from '../validate';
import { Module } from './module';
import type { OnnxLowering } from './onnx-lowering';

/** A JSON value. */
export type ConfigValue = null | boolean | number | string | ConfigValue[] | ConfigObject;
/** A JSON object: a layer's options as plain data. */
export type ConfigObject = { [key: string]: ConfigValue };

/** A serialized layer: its registered class name and its constructor options. */
export interface LayerConfig {
  /** The name the layer class was registered under. */
  className: string;
  /** The layer's constructor options. */
  config: ConfigObject;
}

/** How {@link registerLayer} serializes one layer class (and, optionally, lowers it to ONNX). */
export interface LayerRegistration<M extends Module = Module> {
  /**
   * Builds a layer from its config. The config has been checked to be plain
   * JSON without prototype-polluting keys; nothing else about it is trusted.
   * Errors thrown here become FormatErrors naming the class and `path`
   * (where the config sits, to pass on to `layerFromConfig` for nested
   * layers: `${path}.layers[0]`).
   * @param config - The layer's config.
   * @param path - Where the config sits, for error messages.
   */
  fromConfig(config: ConfigObject, path: string): M;
  /**
   * The class this entry serializes: `layerToConfig` recognizes a layer by
   * its exact constructor. @default layers whose constructor is named `className`
   * @param args - The constructor's arguments.
   */
  layerClass?: abstract new (...args: never[]) => M;
  /**
   * The config of a layer of this class. @default the layer's own `toConfig()`
   * @param layer - A layer of this class.
   */
  toConfig?(layer: M): ConfigObject;
  /**
   * A lower bound on the number of weights a config of this class asks
   * for, computed from the JSON alone before anything is built (leave out
   * biases and gains so a valid model never holds fewer). The model-file
   * reader refuses a file whose tensors are fewer, so a 40-byte config
   * cannot make it allocate gigabytes. Nested layers are counted on their
   * own. @default 0 (the reader still caps every number in the config)
   * @param config - The layer's config.
   */
  parameterBound?(config: ConfigObject): number;
  /**
   * Whether the layer acts on each time step alone (Linear, Dropout,
   * LayerNorm, activations), so a stream can run it one step at a time;
   * a function when it depends on the layer's options (a softmax over the
   * feature axis acts per step, one over time does not). @default false
   */
  perStep?:
    | boolean
    | ((
        /** A layer of this class. */
        layer: M,
      ) => boolean);
  /**
   * How `eddy.onnx.export` writes the layer, or `null` when ONNX cannot
   * express it (export then refuses the model, naming the layer).
   * @default null
   */
  onnx?: OnnxLowering<M> | null;
  /**
   * How the layer passes sequence lengths on in a graph (Keras' mask
   * propagation); see `LengthsRule`. @default the first input's lengths
   * for the call and for every result
   */
  lengths?: LengthsRule<M>;
}

/**
 * Given the lengths of each graph input of a layer call (undefined where an
 * input has none): `call`, the lengths the layer's forward masks with, and
 * `output(key)`, those of its result (a named part for `key`, the main
 * output for undefined) — undefined for a result without a time axis
 * (pooled vectors, final states).
 * @param layer - The layer being called.
 * @param inputs - The lengths of each graph input, undefined where an input has none.
 */
export type LengthsRule<M extends Module = Module> = (
  layer: M,
  inputs: readonly (Int32Array | undefined)[],
) => {
  /** The lengths the layer's forward masks with. */
  call: Int32Array | undefined;
  /**
   * The lengths of the call's result.
   * @param key - A named part of the result, or undefined for the main output.
   */
  output(key: string | undefined): Int32Array | undefined;
};

/** The rule of recurrent layers: x's lengths mask the call and the output sequence; the final states (`h`, `c`) have no time axis. */
export const sequenceOutputLengths: LengthsRule = (_layer, inputs) => ({
  call: inputs[0],
  output: (key) => (key === undefined || key === 'output' ? inputs[0] : undefined),
});

/** The lengths flow of one call of `layer` (its registration's rule, or the first input's lengths throughout). */
export function lengthsFlow(layer: Module, inputs: readonly (Int32Array | undefined)[]): ReturnType<LengthsRule> {
  const rule = findRegistration(layer)?.[1].lengths;
  if (rule) return rule(layer, inputs);
  return { call: inputs[0], output: () => inputs[0] };
}

/** Keys that could reach an object's prototype if a config were ever merged into an object. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** Deep enough for any real model (a graph holding bidirectional layers uses 8 levels), shallow enough for the stack. */
const MAX_DEPTH = 64;

const registry = new Map<string, LayerRegistration>();

/**
 * Registers a layer class for `layerFromConfig` / `layerToConfig`. Names
 * are unique: registering a name twice is an error, so a built-in class
 * cannot be replaced by accident.
 * @param className - The name in serialized configs (letters, digits, `_` and `.`).
 * @param registration - {@link LayerRegistration}.
 * @throws {@link ValidationError} when the name is malformed or already registered.
 * @example
 * ```ts
 * class Scale extends eddy.Module {
 *   constructor(readonly factor: number) { super(); }
 *   forward(x: eddy.Tensor): eddy.Tensor { return eddy.mul(x, this.factor); }
 *   toConfig() { return { factor: this.factor }; }
 *   toString() { return `Scale(${this.factor})`; }
 * }
 * eddy.registerLayer('Scale', { layerClass: Scale, fromConfig: (c) => new Scale(c.factor as number), perStep: true });
 * ```
 */
export function registerLayer<M extends Module>(className: string, registration: LayerRegistration<M>): void {
  if (typeof className !== 'string' || !/^[A-Za-z_][A-Za-z0-9_.]*$/.test(className)) {
    throw new ValidationError(`Expected a class name (letters, digits, _ and .) for className but received ${describe(className)}`);
  }
  if (registry.has(className)) throw new ValidationError(`Layer class "${className}" is already registered`);
  const r = registration as Partial<LayerRegistration<M>> | null;
  if (r === null || typeof r !== 'object' || typeof r.fromConfig !== 'function') {
    throw new ValidationError(`Expected { fromConfig(config) } for the registration of "${className}" but received ${describe(registration)}`);
  }
  if (r.layerClass !== undefined && typeof r.layerClass !== 'function') fail('a class', `layerClass of "${className}"`, r.layerClass);
  if (r.toConfig !== undefined && typeof r.toConfig !== 'function') fail('a function', `toConfig of "${className}"`, r.toConfig);
  if (r.parameterBound !== undefined && typeof r.parameterBound !== 'function') fail('a function', `parameterBound of "${className}"`, r.parameterBound);
  if (r.perStep !== undefined && typeof r.perStep !== 'boolean' && typeof r.perStep !== 'function') fail('a boolean or a function', `perStep of "${className}"`, r.perStep);
  if (r.onnx !== undefined && r.onnx !== null && typeof r.onnx !== 'function') fail('a function or null', `onnx of "${className}"`, r.onnx);
  if (r.lengths !== undefined && typeof r.lengths !== 'function') fail('a function', `lengths of "${className}"`, r.lengths);
  registry.set(className, registration as unknown as LayerRegistration);
}

/** Whether `layer` acts on each time step alone (its registration's `perStep`). */
export function actsPerStep(layer: Module): boolean {
  const perStep = findRegistration(layer)?.[1].perStep;
  return typeof perStep === 'function' ? perStep(layer) : perStep === true;
}

/** A size read from an untrusted config for a parameter bound: the number if positive and finite, else 0. */
export function positive(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

/** The registration of a class name, or of a layer's class. */
export function registrationOf(layerOrClassName: Module | string): Readonly<LayerRegistration> | undefined {
  if (typeof layerOrClassName === 'string') return registry.get(layerOrClassName);
  return findRegistration(layerOrClassName)?.[1];
}

/** The registered class names, sorted. */
export function registeredLayers(): string[] {
  return [...registry.keys()].sort();
}

/**
 * A layer's architecture as JSON-safe `{ className, config }` (a fresh
 * copy); the weights are `layer.stateDict()`.
 * @param layer - A layer of a registered class.
 * @throws {@link ValidationError} when the layer's class is not registered.
 */
export function layerToConfig(layer: Module): LayerConfig {
  if (!(layer instanceof Module)) fail('a layer (a Module)', 'layer', layer);
  const found = findRegistration(layer);
  if (!found) {
    const name = layer.constructor.name;
    throw new ValidationError(`No registered layer class for ${layer.toString()}: register it with eddy.registerLayer('${name}', { fromConfig })`);
  }
  const [className, registration] = found;
  let config: unknown;
  if (registration.toConfig) {
    config = registration.toConfig(layer);
  } else {
    const own = (layer as unknown as { toConfig?: () => unknown }).toConfig;
    if (typeof own !== 'function') throw new ValidationError(`${layer.toString()} has no toConfig() method and its registration "${className}" no toConfig`);
    config = own.call(layer);
  }
  return { className, config: configObject(jsonCopy(config, `${className} config`, 0, ValidationError), `${className} config`, ValidationError) };
}

/**
 * Builds a layer (fresh weights) from `{ className, config }`, e.g. parsed
 * from a file. `path` names the spec in error messages.
 * @param spec - `{ className, config }`, as {@link layerToConfig} returns it.
 * @param path - Where the spec sits, for error messages.
 * @throws {@link FormatError} when the spec is malformed or names an unregistered class.
 */
export function layerFromConfig(spec: unknown, path = 'layer'): Module {
  const checked = jsonCopy(spec, path, 0, FormatError);
  const s = configObject(checked, path, FormatError);
  checkConfigKeys(s, ['className', 'config'], path);
  const className = s.className;
  if (typeof className !== 'string') fail('a string', `${path}.className`, className, FormatError);
  const registration = registry.get(className);
  if (!registration) {
    throw new FormatError(`Unknown layer class ${JSON.stringify(className.length > 40 ? className.slice(0, 40) + '…' : className)} at ${path}; known classes: ${registeredLayers().join(', ')}`);
  }
  const config = configObject(s.config, `${path}.config`, FormatError);
  let layer: unknown;
  try {
    layer = registration.fromConfig(config, `${path}.config`);
  } catch (err) {
    if (err instanceof FormatError) throw err;
    // An unknown key gets the config's own message, naming the keys the config may hold.
    if (err instanceof UnknownOptionError && Object.hasOwn(config, err.key)) {
      const { [err.key]: _unknown, ...known } = config;
      let rebuilt: unknown;
      try {
        rebuilt = registration.fromConfig(known, `${path}.config`);
      } catch {
        rebuilt = undefined;
      }
      if (rebuilt instanceof Module) checkKnownKeys(rebuilt, registration, config, className, path);
    }
    throw new FormatError(`Invalid config for ${className} at ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!(layer instanceof Module)) fail('a Module', `the result of fromConfig of "${className}"`, layer);
  checkKnownKeys(layer, registration, config, className, path);
  return layer;
}

/**
 * Rejects options the built layer does not have (typos, options of a newer
 * version) instead of ignoring them: the keys of the rebuilt layer's own
 * config are the keys its class knows.
 */
function checkKnownKeys(layer: Module, registration: LayerRegistration, config: ConfigObject, className: string, path: string): void {
  const toConfig = registration.toConfig ?? (layer as unknown as { toConfig?: () => unknown }).toConfig?.bind(layer);
  if (!toConfig) return;
  const known = Object.keys(toConfig(layer) as object);
  const unknown = Object.keys(config).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new FormatError(`Unexpected key ${JSON.stringify(unknown[0])} in the config of ${className} at ${path}; expected ${known.length > 0 ? known.join(', ') : 'no keys'}`);
  }
}

function findRegistration(layer: Module): [string, LayerRegistration] | undefined {
  for (const entry of registry) {
    const cls = entry[1].layerClass;
    if (cls ? layer.constructor === cls : layer.constructor.name === entry[0]) return entry;
  }
  return undefined;
}

/** Checks that `value` is an object (not an array) inside an already checked config. */
export function configObject(value: unknown, path: string, Err: typeof FormatError | typeof ValidationError = FormatError): ConfigObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('an object', path, value, Err);
  return value as ConfigObject;
}

/** Rejects keys of a config object other than `allowed`. */
export function checkConfigKeys(value: ConfigObject, allowed: readonly string[], path: string): void {
  const extra = Object.keys(value).filter((k) => !allowed.includes(k));
  if (extra.length > 0) throw new FormatError(`Unexpected key ${JSON.stringify(extra[0])} at ${path}; expected ${allowed.join(', ')}`);
}

/** Checks that `value` is an array inside an already checked config. */
export function configArray(value: unknown, path: string): ConfigValue[] {
  if (!Array.isArray(value)) fail('an array', path, value, FormatError);
  return value;
}

/**
 * A deep copy of `value` if it is plain JSON: null, booleans, finite
 * numbers, strings, arrays and plain objects without forbidden keys, at
 * most MAX_DEPTH levels deep (which also stops cycles).
 */
function jsonCopy(value: unknown, path: string, depth: number, Err: typeof FormatError | typeof ValidationError): ConfigValue {
  if (depth > MAX_DEPTH) throw new Err(`Expected at most ${MAX_DEPTH} levels of nesting but ${path} is deeper`);
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail('a finite number', path, value, Err);
    return value;
  }
  if (Array.isArray(value)) {
    const out: ConfigValue[] = [];
    for (let i = 0; i < value.length; i++) out.push(jsonCopy(value[i], `${path}[${i}]`, depth + 1, Err));
    return out;
  }
  const proto = typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  if (proto !== Object.prototype && proto !== null) {
    fail('a JSON value (null, boolean, finite number, string, array or plain object)', path, value, Err);
  }
  const out: ConfigObject = {};
  for (const key of Object.keys(value as object)) {
    if (FORBIDDEN_KEYS.has(key)) throw new Err(`Forbidden key ${JSON.stringify(key)} at ${path}`);
    out[key] = jsonCopy((value as Record<string, unknown>)[key], keyPath(path, key), depth + 1, Err);
  }
  return out;
}

function keyPath(path: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

