/**
 * Streaming sessions: one user's stream through a model, a step (or a short
 * chunk) at a time, with every recurrent layer's state carried between
 * calls. Each step costs the same however long the stream has run, and a
 * session's state is a plain object that can be stored and resumed in
 * another process.
 */
import { noGrad } from '../autograd/grad-mode';
import { FormatError, ShapeError, ValidationError } from '../errors';
import { Embedding } from '../layers/embedding';
import { LayerState, RecurrentLayer } from '../layers/recurrent';
import { LayerStepper as NativeStepper } from '../layers/layer-stepper';
import { Linear } from '../layers/linear';
import { Module } from '../nn/module';
import { actsPerStep } from '../nn/registry';
import { GraphModel } from '../model/functional';
import { Sequential } from '../model/sequential';
import { ModelStates, recurrentLayerPaths } from '../model/states';
import { Tensor } from '../tensor/tensor';
import { describe, formatShape } from '../validate';
import { LinearRows } from './linear-rows';

/** Identifies a session state object. */
export const SESSION_STATE_FORMAT = 'eddy.session';
export const SESSION_STATE_VERSION = 1;

/** A session's carried state as plain JSON-safe data (`session.state()`). */
export interface SessionState {
  /** Identifies the object: `'eddy.session'`. */
  format: typeof SESSION_STATE_FORMAT;
  /** The version of this layout. */
  version: number;
  /** By recurrent layer path: h (and c for an LSTM), numLayers × hiddenSize numbers, layer by layer. */
  layers: Record<
    string,
    {
      /** The hidden states. */
      h: number[];
      /** The cell states (LSTM only). */
      c?: number[];
    }
  >;
}

/** What a session runs: a Sequential or functional model with one input. */
export type SessionModel = Sequential | GraphModel;

/** What `step` takes: token ids for a model starting with an Embedding, else features. */
export type StepInput = Tensor | Float32Array | readonly number[] | number | Int32Array;

/**
 * A stream through `model`: `step(x)` runs one time step (or a chunk of
 * steps) from where the last call left every recurrent layer.
 */
export class Session {
  /** @internal */
  readonly paths: Map<RecurrentLayer, string>;
  /** @internal Whether steps are token ids (the model starts with an Embedding). */
  readonly tokens: boolean;
  /** @internal Features per step, when the first layer says. */
  readonly inputSize: number | null;
  private states: ModelStates = {};
  /** The single-step fast path: each layer of a Sequential, recurrent ones with a native stepper; null when the model has none. */
  /** @internal */
  readonly plan: PlanStep[] | null;
  /** Whether the steppers (not `states`) hold the current state. */
  private inSteppers = false;

  /**
   * @param model - A Sequential or functional model with one input.
   * @param state - A state from `state()` to resume; empty states when omitted.
   * @throws {@link ValidationError} when the model is not a Sequential or single-input functional
   *   model.
   * @throws {@link FormatError} when `state` is malformed or does not fit the model.
   */
  constructor(
    /** The model the session runs. */
    readonly model: SessionModel,
    state?: SessionState,
  ) {
    if (!(model instanceof Sequential) && !(model instanceof GraphModel)) fail(`a Sequential or functional model for model but received ${describe(model)}`);
    if (model instanceof GraphModel && model.inputs.length !== 1) {
      fail(`a model with one input for a session but received ${model.toString()}`);
    }
    if (model.stateful) {
      fail(`a model without stateful layers for a session (a session carries the states itself; use one or the other) but received ${model.toString()}`);
    }
    this.paths = recurrentLayerPaths(model);
    for (const [layer, path] of this.paths) {
      if (layer.bidirectional) fail(`unidirectional recurrent layers for a session (a bidirectional layer reads the future) but received '${path}' ${layer.toString()}`);
      if (!layer.batchFirst) fail(`batch-first recurrent layers for a session but received '${path}' ${layer.toString()}`);
    }
    const first = model instanceof Sequential ? model.layers[0] : undefined;
    this.tokens = first instanceof Embedding;
    this.inputSize = first instanceof RecurrentLayer ? first.inputSize : null;
    this.plan = model instanceof Sequential && [...this.paths.keys()].every((l) => l.numLayers === 1) ? planOf(model, this.paths) : null;
    if (state !== undefined) this.restore(state);
  }

  /**
   * Runs one step — features `[inputSize]` (a Tensor, Float32Array or
   * array) or, for a model starting with an Embedding, one token id — and
   * returns the model's output for it. A chunk of k steps (`[k, inputSize]`,
   * or k ids) returns `[k, …]` outputs.
   * @param input - One step's features (or token id), or a chunk of steps.
   * @throws {@link ShapeError} when the input does not fit the model's first layer.
   */
  step(input: StepInput): Tensor {
    const single = this.plan ? this.singleStep(input) : null;
    if (single) return this.fastStep(single.values, single.from);
    const { x, chunk } = this.toBatch(input);
    this.syncFromSteppers();
    this.inSteppers = false;
    const steps = x.shape[1];
    const { output, states } = noGrad(() => this.model.forward(x, { states: this.states, training: false }) as { output: Tensor | Tensor[]; states: ModelStates });
    if (!(output instanceof Tensor) || output.rank < 2 || output.shape[0] !== 1 || output.shape[1] !== steps) {
      throw new ShapeError(`Expected one output per time step ([1, ${steps}, …]) from ${this.model.toString()} but received ${output instanceof Tensor ? formatShape(output.shape) : describe(output)}`);
    }
    this.states = states;
    const rest = output.shape.slice(2);
    return output.reshape(chunk ? [steps, ...rest] : rest);
  }

  /** Forgets the carried states: the next step starts from zeros. */
  reset(): void {
    this.states = {};
    this.inSteppers = false;
  }

  /** The carried states as plain data, for `eddy.session(model, state)` here or in another process. */
  state(): SessionState {
    this.syncFromSteppers();
    return this.stateOf(this.states);
  }

  /**
   * One step through the native steppers: one synchronous call per
   * recurrent layer and no tensor for them, so a step costs microseconds.
   * The steppers compute exactly what `forward` computes for that step.
   */
  private fastStep(x: Float32Array, from: number): Tensor {
    const plan = this.plan!;
    if (!this.inSteppers) {
      for (const p of plan) {
        if (!p.stepper) continue;
        const s = this.states[p.path!];
        p.stepper.reset(s ? { h: valuesOf(s.h), c: s.c && valuesOf(s.c) } : {});
      }
      this.inSteppers = true;
    }
    let v = x;
    let shape: readonly number[] = [x.length];
    for (let i = from; i < plan.length; i++) {
      const p = plan[i];
      if (p.stepper) {
        v = p.stepper.step(v);
        shape = [v.length];
      } else if (p.linear) {
        v = p.linear.run(v);
        shape = [v.length];
      } else {
        const out = noGrad(() => (p.layer as unknown as { forward(t: Tensor, o: object): unknown }).forward(new Tensor(v, [1, 1, v.length]), { training: false })) as Tensor;
        v = valuesOf(out);
        shape = out.shape.slice(2);
      }
    }
    // The last stepper's h is overwritten by its next step: the caller gets a copy.
    return new Tensor(plan[plan.length - 1].stepper ? v.slice() : v, shape);
  }

  /** One step's input as the first layer's values (an Embedding row for a token id), or null for chunks and other shapes. */
  /** @internal */
  singleStep(input: StepInput): { values: Float32Array; from: number } | null {
    if (this.tokens) {
      if (typeof input !== 'number') return null;
      const embedding = (this.model as Sequential).layers[0] as Embedding;
      if (!Number.isInteger(input) || input < 0 || input >= embedding.numEmbeddings) return null; // toBatch says why
      const dim = embedding.embeddingDim;
      const w = embedding.weight.data;
      return { values: valuesOf(w).subarray(input * dim, (input + 1) * dim), from: 1 };
    }
    const F = this.inputSize;
    if (input instanceof Float32Array) return F === null || input.length === F ? { values: input, from: 0 } : null;
    if (input instanceof Tensor && input.rank === 1 && (F === null || input.shape[0] === F)) return { values: valuesOf(input), from: 0 };
    return null;
  }

  /** Copies the steppers' state into `states` (tensors), when they hold it. */
  private syncFromSteppers(): void {
    if (!this.inSteppers) return;
    const next: ModelStates = {};
    for (const p of this.plan!) {
      if (!p.stepper) continue;
      const shape = [1, 1, p.stepper.h.length];
      next[p.path!] = p.stepper.c ? { h: new Tensor(p.stepper.h.slice(), shape), c: new Tensor(p.stepper.c.slice(), shape) } : { h: new Tensor(p.stepper.h.slice(), shape) };
    }
    this.states = next;
  }

  /** @internal `states` as plain data. */
  stateOf(states: ModelStates): SessionState {
    const layers: SessionState['layers'] = {};
    for (const [path, s] of Object.entries(states)) {
      layers[path] = s.c ? { h: Array.from(s.h.toFloat32Array()), c: Array.from(s.c.toFloat32Array()) } : { h: Array.from(s.h.toFloat32Array()) };
    }
    return { format: SESSION_STATE_FORMAT, version: SESSION_STATE_VERSION, layers };
  }

  /**
   * Replaces the carried states with `state` (checked against the model first; nothing changes on
   * error).
   * @param state - A state from `state()`.
   * @throws {@link FormatError} when the state is malformed or does not fit the model.
   */
  restore(state: SessionState): void {
    this.states = this.statesFrom(state);
    this.inSteppers = false;
  }

  /** @internal `state` checked against the model, as states a forward call takes. */
  statesFrom(state: SessionState): ModelStates {
    if (state === null || typeof state !== 'object' || Array.isArray(state)) throw new FormatError(`Expected a session state object for state but received ${describe(state)}`);
    if (state.format !== SESSION_STATE_FORMAT) throw new FormatError(`Expected format '${SESSION_STATE_FORMAT}' in the session state but received ${describe(state.format)}`);
    if (state.version !== SESSION_STATE_VERSION) throw new FormatError(`Expected session state version ${SESSION_STATE_VERSION} but received ${describe(state.version)}`);
    const layers = state.layers as unknown;
    if (layers === null || typeof layers !== 'object' || Array.isArray(layers)) throw new FormatError(`Expected an object of layer states for state.layers but received ${describe(layers)}`);
    const byPath = new Map([...this.paths].map(([layer, path]) => [path, layer]));
    const next: ModelStates = {};
    for (const [path, entry] of Object.entries(layers as Record<string, unknown>)) {
      const layer = byPath.get(path);
      if (!layer) throw new FormatError(`Unexpected layer '${path}' in the session state; ${this.model.toString()} has recurrent layers ${[...byPath.keys()].map((p) => `'${p}'`).join(', ') || '(none)'}`);
      next[path] = stateTensors(entry, layer, `state.layers['${path}']`);
    }
    return next;
  }

  /** @internal One step or chunk as a batch of one: [1, steps, …]. */
  toBatch(input: StepInput): { x: Tensor; chunk: boolean } {
    if (this.tokens) {
      const ids = typeof input === 'number' ? [input] : input instanceof Tensor ? Array.from(input.toFloat32Array()) : Array.from(input as ArrayLike<number>);
      if (ids.length === 0) throw new ShapeError('Expected at least one token id for input but received none');
      const vocab = ((this.model as Sequential).layers[0] as Embedding).numEmbeddings;
      ids.forEach((id, i) => {
        if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new ValidationError(`Expected token ids between 0 and ${vocab - 1} for input but received ${describe(id)} at ${i}`);
      });
      return { x: new Tensor(Float32Array.from(ids), [1, ids.length]), chunk: typeof input !== 'number' && ids.length !== 1 };
    }
    const t = input instanceof Tensor ? input : typeof input === 'number' ? null : new Tensor(Float32Array.from(input as ArrayLike<number>), [(input as ArrayLike<number>).length]);
    if (!t || (t.rank !== 1 && t.rank !== 2)) fail(`features [inputSize] or a chunk [steps, inputSize] for input but received ${t ? formatShape(t.shape) : describe(input)}`);
    const F = t.shape[t.rank - 1];
    if (this.inputSize !== null && F !== this.inputSize) throw new ShapeError(`Expected ${this.inputSize} features per step for input but received ${formatShape(t.shape)}`);
    return t.rank === 1 ? { x: t.reshape([1, 1, F]), chunk: false } : { x: t.reshape([1, t.shape[0], F]), chunk: true };
  }
}

/** A tensor's elements in row-major order, without a copy when they are stored that way. */
export function valuesOf(t: Tensor): Float32Array {
  return t.isContiguous() ? t.data.subarray(t.offset, t.offset + t.size) : t.toFloat32Array();
}

export interface PlanStep {
  layer: Module;
  stepper?: NativeStepper;
  path?: string;
  /** A Linear on the batch-invariant packed GEMM. */
  linear?: LinearRows;
}

/** The layers of `model` for single steps, or null when one of them cannot run one step alone. */
export function planOf(model: Sequential, paths: Map<RecurrentLayer, string>): PlanStep[] | null {
  const plan: PlanStep[] = [];
  for (const [i, layer] of model.layers.entries()) {
    if (layer instanceof RecurrentLayer) plan.push({ layer, stepper: layer.stepper(), path: paths.get(layer) });
    else if (layer instanceof Linear) plan.push({ layer, linear: new LinearRows(layer) });
    else if ((i === 0 && layer instanceof Embedding) || actsPerStep(layer)) plan.push({ layer });
    else return null;
  }
  return plan;
}

/** A layer's state from plain data, checked against the layer: [numLayers, 1, hiddenSize] each. */
function stateTensors(entry: unknown, layer: RecurrentLayer, where: string): LayerState {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new FormatError(`Expected { h, c? } for ${where} but received ${describe(entry)}`);
  const e = entry as Record<string, unknown>;
  const n = layer.numLayers * layer.hiddenSize;
  const lstm = layer.cellName === 'LSTM';
  for (const key of Object.keys(e)) if (key !== 'h' && !(lstm && key === 'c')) throw new FormatError(`Unexpected key '${key}' in ${where} for ${layer.toString()}`);
  const read = (key: 'h' | 'c'): Tensor => {
    const v = e[key];
    if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new FormatError(`Expected ${n} finite numbers (numLayers × hiddenSize of ${layer.toString()}) for ${where}.${key} but received ${describe(v)}`);
    }
    return new Tensor(Float32Array.from(v), [layer.numLayers, 1, layer.hiddenSize]);
  };
  return lstm ? { h: read('h'), c: read('c') } : { h: read('h') };
}

function fail(message: string): never {
  throw new ValidationError(`Expected ${message}`);
}

/**
 * `eddy.session(model, state?)`: a streaming session over `model`, empty or
 * resumed from a `session.state()`.
 * @param model - A Sequential or functional model with one input.
 * @param state - A state from `session.state()` to resume; empty states when omitted.
 * @throws {@link ValidationError} when the model is not a Sequential or single-input functional
 *   model.
 * @throws {@link FormatError} when `state` is malformed or does not fit the model.
 * @example
 * ```ts
 * const s = eddy.session(model);
 * for (const id of promptIds) s.step(id);
 * const logits = s.step(lastId); // the next token's scores
 * const saved = s.state(); // JSON-safe, resumable with eddy.session(model, saved)
 * ```
 */
export function session(model: SessionModel, state?: SessionState): Session {
  return new Session(model, state);
}
