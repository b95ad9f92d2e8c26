/**
 * Module: something with parameters, sub-modules and a training mode.
 * Layers and models derive from it; parameter names and paths follow
 * PyTorch's state_dict.
 */
import { ShapeError, ValidationError } from '../errors';
import { Tensor, shapeSize, tensor } from '../tensor/tensor';
import { checkBoolean, describe, formatShape } from '../validate';
import { GraphNode, SymbolicTensor } from './symbolic';
import { Parameter } from './parameter';

/**
 * The keys a model passes in the options of a layer's forward (model/call.ts
 * CallContext): a layer's own call-option keys are extended by these.
 */
export const CALL_CONTEXT_KEYS: readonly string[] = ['lengths', 'training', 'carrier'];

/** What `loadStateDict` accepts for one entry. */
export type StateValue = Tensor | Float32Array | ArrayLike<number> | readonly unknown[];

/**
 * The base of every layer and model: parameters under PyTorch's names,
 * sub-modules, a training mode and state dicts.
 */
export abstract class Module {
  /** Training mode: dropout is active and gradients are kept. @default true */
  training = true;

  /** This module's own parameters (not its children's), in order, under PyTorch's names. */
  protected ownParameters(): [string, Parameter][] {
    return [];
  }

  /** Sub-modules, named as they appear in state-dict paths (`0`, `1`, … in a sequential). */
  children(): [string, Module][] {
    return [];
  }

  /** All parameters in a stable order: own first, then each child's as `child.name`. */
  namedParameters(): [string, Parameter][] {
    const out = this.ownParameters().slice();
    for (const [prefix, child] of this.children()) {
      for (const [name, p] of child.namedParameters()) out.push([`${prefix}.${name}`, p]);
    }
    return out;
  }

  /** This module and every module below it, depth first. */
  *modules(): Generator<Module> {
    yield this;
    for (const [, child] of this.children()) yield* child.modules();
  }

  /** All parameters, in the order of `namedParameters()` (what an optimizer takes). */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /**
   * Functional API: a symbolic call of this layer on symbolic tensors
   * (from `eddy.input()` or other `apply` calls), to build a model with
   * `eddy.model({ inputs, outputs })`.
   * @param inputs - The symbolic tensors the layer will be called on (an array for several).
   * @throws {@link ValidationError} when `inputs` are not symbolic tensors.
   */
  apply(inputs: SymbolicTensor | readonly SymbolicTensor[]): SymbolicTensor {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    if (list.length === 0 || !list.every((t) => t instanceof SymbolicTensor)) {
      throw new ValidationError(`Expected a symbolic tensor (from eddy.input() or layer.apply()) or an array of them for inputs of ${this.toString()}.apply but received ${describe(inputs)}`);
    }
    return new SymbolicTensor(new GraphNode(this, list), null);
  }

  /**
   * Sets training mode here and in every sub-module.
   * @param mode - true for training mode, false for inference mode.
   */
  train(mode = true): this {
    this.training = mode;
    for (const [, child] of this.children()) child.train(mode);
    return this;
  }

  /** Sets inference mode (`train(false)`): dropout off, nothing kept for backward. */
  eval(): this {
    return this.train(false);
  }

  /**
   * The mode of one call: the `training` a caller passed with it (`fit`
   * passes true, `predict` and `evaluate` false, whatever the flag says),
   * or else this module's flag. Modes passed per call let a model train and
   * answer predictions at the same time.
   */
  protected modeOf(training: unknown): boolean {
    return training === undefined ? this.training : checkBoolean('training', training);
  }

  /** Clears the gradient of every parameter. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /** The parameters as `{ name: Tensor }`; the tensors share storage with the module. */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, p] of this.namedParameters()) out[name] = p.data.detach();
    return out;
  }

  /**
   * Copies values into the parameters. Every key must be present and known,
   * every shape must match (a flat array of the right length is accepted),
   * and every value must be finite.
   * @param state - One value per parameter name, shaped like the parameter.
   * @throws {@link ValidationError} when a name is missing or unknown, or a value has the wrong
   *   size.
   */
  loadStateDict(state: Record<string, StateValue>): void {
    const values = this.readStateDict(state);
    // Parameters are contiguous leaves: copy in place, keeping their identity.
    for (const [name, p] of this.namedParameters()) p.data.data.set(values.get(name)!, p.data.offset);
  }

  /**
   * Checks a state dict as `loadStateDict` would, changing nothing.
   * @param state - One value per parameter name, shaped like the parameter.
   * @throws {@link ValidationError} when a name is missing or unknown, or a value has the wrong
   *   size.
   */
  checkStateDict(state: Record<string, StateValue>): void {
    this.readStateDict(state);
  }

  /** The state dict's values by parameter name, converted and checked. */
  private readStateDict(state: Record<string, StateValue>): Map<string, Float32Array> {
    if (state === null || typeof state !== 'object' || Array.isArray(state)) {
      throw new ValidationError(`Expected an object of named tensors for state but received ${describe(state)}`);
    }
    const params = new Map(this.namedParameters());
    const keys = Object.keys(state);
    const unknown = keys.filter((k) => !params.has(k));
    if (unknown.length > 0) {
      throw new ValidationError(`Unexpected key ${unknown.map((k) => JSON.stringify(k)).join(', ')} in state dict for ${this.toString()}; expected ${[...params.keys()].join(', ')}`);
    }
    const missing = [...params.keys()].filter((k) => !Object.prototype.hasOwnProperty.call(state, k));
    if (missing.length > 0) {
      throw new ValidationError(`Missing key ${missing.map((k) => JSON.stringify(k)).join(', ')} in state dict for ${this.toString()}`);
    }
    // Convert and check everything before changing anything.
    const values = new Map<string, Float32Array>();
    for (const [name, p] of params) values.set(name, stateValue(name, state[name], p.shape));
    return values;
  }

  /**
   * The module and its options in one line (non-default options only), as summaries and error
   * messages print it.
   */
  abstract toString(): string;
}

function stateValue(name: string, value: StateValue, shape: readonly number[]): Float32Array {
  let data: Float32Array;
  let received: readonly number[] | null;
  if (value instanceof Tensor) {
    data = value.toFloat32Array();
    received = value.shape;
  } else if (value instanceof Float32Array || (ArrayBuffer.isView(value) && !(value instanceof DataView))) {
    data = Float32Array.from(value as ArrayLike<number>);
    received = null;
  } else if (Array.isArray(value)) {
    const t = tensor(value as never);
    data = t.data;
    received = t.shape;
  } else {
    throw new ValidationError(`Expected Tensor, Float32Array or nested number arrays for state dict entry ${name} but received ${describe(value)}`);
  }
  const size = shapeSize(shape);
  const matches = received ? received.length === shape.length && received.every((d, i) => d === shape[i]) : data.length === size;
  if (!matches) {
    const got = received ? formatShape(received) : `${data.length} values`;
    throw new ShapeError(`Expected shape ${formatShape(shape)} for state dict entry ${name} but received ${got}`);
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new ValidationError(`Expected finite values for state dict entry ${name} but received ${data[i]} at index ${i}`);
    }
  }
  return data;
}
