/**
 * Graph models from the functional API:
 *
 * ```ts
 * const tokens = eddy.input({ shape: [null, 16] });
 * const seq = new eddy.GRU({ inputSize: 16, hiddenSize: 32 }).apply(tokens);
 * const out = new eddy.Linear({ inFeatures: 32, outFeatures: 4 }).apply(seq);
 * const model = eddy.model({ inputs: tokens, outputs: out });
 * ```
 *
 * Layers run in topological order; a layer used twice shares its weights.
 */
import { noGrad } from '../autograd/grad-mode';
import { FormatError, ShapeError, ValidationError } from '../errors';
import { Module } from '../nn/module';
import { carryStates, OutputWithStates, StatesOfCall, WithStates, withStates } from './states';
import { checkConfigKeys, configArray, ConfigObject, configObject, ConfigValue, LayerConfig, layerFromConfig, layerToConfig, LengthsRule, lengthsFlow, registerLayer } from '../nn/registry';
import { lengthsOfInputs, setOutputLengths } from './lengths';
import { Tensor, zeros } from '../tensor/tensor';
import { checkOptions, describe, fail, formatShape, optionKeys } from '../validate';
import { callLayer, callLayerAsync, CallContext, isLayer, Layer, pick } from './call';
import { Model } from './model';
import { formatSummary, parameterCount, SummaryRow } from './summary';
import { GraphNode, SymbolicTensor } from '../nn/symbolic';

/** The options of {@link input}. */
export interface InputOptions {
  /** Shape of one example, without the batch axis; null for a free size (e.g. time steps). */
  shape: readonly (number | null)[];
  /**
   * A name for messages.
   * @default none
   */
  name?: string;
}

export const INPUT_OPTION_KEYS = optionKeys<InputOptions>({ shape: true, name: true });

/**
 * A model input: a placeholder for a batch of examples of the given shape.
 * @param opts - {@link InputOptions}.
 * @throws {@link ValidationError} when the shape is malformed.
 * @example
 * ```ts
 * const x = eddy.input({ shape: [null, 8] }); // any number of steps of 8 features
 * const h = new eddy.GRU({ inputSize: 8, hiddenSize: 32 }).apply(x);
 * const y = new eddy.Linear({ inFeatures: 32, outFeatures: 1 }).apply(h);
 * const model = eddy.model({ inputs: x, outputs: y });
 * ```
 */
export function input(opts: InputOptions): SymbolicTensor {
  if (opts === null || typeof opts !== 'object' || !Array.isArray(opts.shape) || !opts.shape.every((d) => d === null || (Number.isInteger(d) && d >= 0))) {
    throw new ValidationError(`Expected { shape: an array of non-negative integers or nulls } for input options but received ${describe(opts)}`);
  }
  checkOptions('options', opts, INPUT_OPTION_KEYS);
  return new SymbolicTensor(null, opts.shape.slice(), undefined, opts.name);
}

/** A tensor in a serialized graph: a model input, or (a named part of) a node's result. */
export type TensorRef =
  | {
      /** The index of the model input. */
      input: number;
    }
  | {
      /** The index of the node (layer call). */
      node: number;
      /** The named part of the node's result (`h`, `c`, `weights`); the main output when absent. */
      key?: string;
    };
/** A model input in a serialized graph: its example shape and name. */
export type InputConfig = {
  /** The shape of one example, without the batch axis; null for a free size. */
  shape: (number | null)[];
  /** The input's name, for messages. */
  name?: string;
};

/**
 * A serialized graph: each distinct layer once (shared layers are used by
 * several nodes), the layer calls in the order they run, each naming its
 * layer by index and its inputs by reference to a model input or an earlier
 * node. `inputs` and `outputs` are arrays exactly when the model was built
 * with arrays.
 */
export type GraphModelConfig = {
  /** Each distinct layer's config, once. */
  layers: LayerConfig[];
  /** The model inputs. */
  inputs: InputConfig | InputConfig[];
  /** The layer calls in the order they run: the layer's index and the references of its inputs. */
  nodes: {
    /** The index of the layer in `layers`. */
    layer: number;
    /** The layer call's inputs. */
    inputs: TensorRef[];
  }[];
  /** The model outputs. */
  outputs: TensorRef | TensorRef[];
};

/** The options of {@link model}: the graph between the given inputs and outputs. */
export interface ModelOptions {
  /** The model's inputs, from {@link input} (an array for several). */
  inputs: SymbolicTensor | readonly SymbolicTensor[];
  /** The model's outputs, from `layer.apply()` (an array for several). */
  outputs: SymbolicTensor | readonly SymbolicTensor[];
}

export const MODEL_OPTION_KEYS = optionKeys<ModelOptions>({ inputs: true, outputs: true });

/** A model built from a graph of layer calls (Keras' functional API): made by {@link model}. */
export class GraphModel extends Model {
  /** The model's inputs. */
  readonly inputs: readonly SymbolicTensor[];
  /** The model's outputs. */
  readonly outputs: readonly SymbolicTensor[];
  private readonly multiInput: boolean;

  protected override get takesInputArray(): boolean {
    return this.multiInput;
  }
  private readonly multiOutput: boolean;
  /** Layer calls in the order they run. */
  private readonly order: GraphNode[];
  /** Distinct layers, in order of first use: the children `0`, `1`, … */
  private readonly layerList: Layer[];

  /**
   * @param opts - {@link ModelOptions}.
   * @throws {@link ValidationError} when the graph uses a tensor that is not among the inputs,
   *   has a cycle, or calls something that is not a layer.
   */
  constructor(opts: ModelOptions) {
    super();
    const asList = (v: unknown, name: string): SymbolicTensor[] => {
      const list = Array.isArray(v) ? v : [v];
      if (list.length === 0 || !list.every((t) => t instanceof SymbolicTensor)) fail('symbolic tensors', name, v);
      return list as SymbolicTensor[];
    };
    if (opts === null || typeof opts !== 'object') fail('{ inputs, outputs }', 'model options', opts);
    checkOptions('options', opts, MODEL_OPTION_KEYS);
    this.inputs = asList(opts.inputs, 'inputs');
    this.outputs = asList(opts.outputs, 'outputs');
    this.multiInput = Array.isArray(opts.inputs);
    this.multiOutput = Array.isArray(opts.outputs);
    this.inputs.forEach((t, i) => {
      if (t.node) throw new ValidationError(`Expected model inputs from eddy.input() but inputs[${i}] is the output of ${t.toString()}`);
    });
    // Depth-first post-order from the outputs gives a topological order.
    this.order = [];
    const done = new Set<GraphNode>();
    const visiting = new Set<GraphNode>();
    const visit = (t: SymbolicTensor): void => {
      if (!t.node) {
        if (!this.inputs.includes(t)) throw new ValidationError(`The graph uses ${t.toString()}, which is not among the model's inputs`);
        return;
      }
      const node = t.node;
      if (done.has(node)) return;
      if (visiting.has(node)) throw new ValidationError('The graph has a cycle');
      visiting.add(node);
      node.inputs.forEach(visit);
      visiting.delete(node);
      done.add(node);
      this.order.push(node);
    };
    this.outputs.forEach(visit);
    this.layerList = [];
    for (const node of this.order) {
      if (!isLayer(node.layer)) throw new ValidationError(`Expected layers with a forward method in the graph but received ${node.layer.toString()}`);
      if (!this.layerList.includes(node.layer)) this.layerList.push(node.layer);
    }
  }

  override children(): [string, Module][] {
    return this.layerList.map((l, i) => [String(i), l]);
  }

  /** The layer calls in the order they run (what an exporter walks). */
  get calls(): readonly GraphNode[] {
    return this.order;
  }

  /**
   * Runs the graph: one tensor per model input (an array when the model was
   * built with an array). With `states` (an object of layer states, or null
   * for zeros) every recurrent layer starts from its given state — graph
   * inputs wired to its h0/c0 win — and the result also holds each one's
   * final state: `const { output, states } = model.forward(x, { states })`.
   * @param inputs - One tensor per model input.
   * @param ctx - {@link CallContext}: lengths and mode.
   */
  forward(inputs: Tensor | readonly Tensor[], ctx?: CallContext): Tensor | Tensor[];
  /**
   * Runs the graph from the given states and returns the output with every recurrent layer's final
   * state.
   * @param inputs - One tensor per model input.
   * @param ctx - {@link CallContext} with `states`, the initial states.
   */
  forward(inputs: Tensor | readonly Tensor[], ctx: CallContext & WithStates): OutputWithStates<Tensor | Tensor[]>;
  forward(inputs: Tensor | readonly Tensor[], ctx: CallContext & Partial<WithStates> = {}): Tensor | Tensor[] | OutputWithStates<Tensor | Tensor[]> {
    const run = this.begin(inputs, ctx);
    for (const node of this.order) run.record(node, callLayer(...run.argsOf(node)));
    return run.finish();
  }

  /**
   * `forward` with the recurrent layers running on worker threads.
   * @param inputs - One tensor per model input.
   * @param ctx - {@link CallContext}: lengths and mode.
   */
  forwardAsync(inputs: Tensor | readonly Tensor[], ctx?: CallContext): Promise<Tensor | Tensor[]>;
  /**
   * `forward` with states, the recurrent layers on worker threads.
   * @param inputs - One tensor per model input.
   * @param ctx - {@link CallContext} with `states`, the initial states.
   */
  forwardAsync(inputs: Tensor | readonly Tensor[], ctx: CallContext & WithStates): Promise<OutputWithStates<Tensor | Tensor[]>>;
  async forwardAsync(inputs: Tensor | readonly Tensor[], ctx: CallContext & Partial<WithStates> = {}): Promise<Tensor | Tensor[] | OutputWithStates<Tensor | Tensor[]>> {
    const run = this.begin(inputs, ctx);
    for (const node of this.order) run.record(node, await callLayerAsync(...run.argsOf(node)));
    return run.finish();
  }

  /** One call of the graph: the inputs bound, their lengths, the carrier of states. */
  private begin(inputs: Tensor | readonly Tensor[], ctx: CallContext & Partial<WithStates>): GraphRun {
    const { inner, carrier } = carryStates(this, ctx);
    const values = this.bindInputs(inputs);
    const lengths = lengthsOfInputs(inner?.lengths, [...values.values()], this.toString());
    return new GraphRun(this.inputs, values, lengths, inner ?? {}, (outs, lens) => {
      outs.forEach((t, i) => setOutputLengths(t, lens[i]));
      return this.result(outs, carrier);
    }, this.outputs);
  }

  private result(outs: Tensor[], carrier: StatesOfCall | undefined): Tensor | Tensor[] | OutputWithStates<Tensor | Tensor[]> {
    const output = this.multiOutput ? outs : outs[0];
    return carrier ? withStates(output, carrier) : output;
  }

  /** Checks the given tensors against the model's inputs. */
  private bindInputs(inputs: Tensor | readonly Tensor[]): Map<SymbolicTensor, Tensor> {
    const given = Array.isArray(inputs) ? inputs : [inputs];
    if (given.length !== this.inputs.length || (Array.isArray(inputs) !== this.multiInput)) {
      throw new ValidationError(`Expected ${this.multiInput ? `an array of ${this.inputs.length} tensors` : 'one tensor'} for inputs of ${this.toString()} but received ${describe(inputs)}`);
    }
    const values = new Map<SymbolicTensor, Tensor>();
    this.inputs.forEach((sym, i) => {
      const t = given[i];
      if (!(t instanceof Tensor)) throw new ValidationError(`Expected Tensor for inputs[${i}] but received ${describe(t)}`);
      const want = sym.shape!;
      if (t.rank !== want.length + 1 || want.some((d, j) => d !== null && d !== t.shape[j + 1])) {
        const expected = `[batch, ${want.map((d) => (d === null ? '*' : String(d))).join(', ')}]`;
        throw new ShapeError(`Expected inputs[${i}] of shape ${expected} for ${this.toString()} but received ${formatShape(t.shape)}`);
      }
      values.set(sym, t);
    });
    return values;
  }

  /**
   * The layer calls with their output shapes for inputs of the given example shapes (no batch
   * axis).
   * @param inputShapes - The example shape of the input, or one per input for a multi-input model.
   */
  summary(inputShapes: readonly (readonly number[])[] | readonly number[]): string {
    return formatSummary(this.toString(), this.summaryRows(inputShapes), this);
  }

  /**
   * The rows of `summary`, for containers that print this graph inside their own table.
   * @param inputShapes - The example shape of the input, or one per input for a multi-input model.
   */
  summaryRows(inputShapes: readonly (readonly number[])[] | readonly number[]): SummaryRow[] {
    const shapes = (this.multiInput ? inputShapes : [inputShapes]) as readonly (readonly number[])[];
    const rows: SummaryRow[] = [];
    noGrad(() => {
      const values = new Map(this.inputs.map((sym, i) => [sym, zeros([1, ...shapes[i]])]));
      const run = new GraphRun(this.inputs, values, this.inputs.map(() => undefined), {}, () => [], this.outputs);
      for (const node of this.order) {
        const result = callLayer(...run.argsOf(node));
        run.record(node, result);
        const index = this.layerList.indexOf(node.layer as Layer);
        const first = this.order.find((n) => n.layer === node.layer) === node;
        rows.push({ name: String(index), layer: node.layer.toString(), outputShape: pick(result, node.layer as Layer).shape, params: first ? parameterCount(node.layer) : 0 });
      }
    });
    return rows;
  }

  /** The graph, for `eddy.layerToConfig`; the layers are the children `0`, `1`, … of the state dict, in order. */
  toConfig(): GraphModelConfig {
    const ref = (t: SymbolicTensor): TensorRef => {
      if (!t.node) return { input: this.inputs.indexOf(t) };
      const node = this.order.indexOf(t.node);
      return t.key === undefined ? { node } : { node, key: t.key };
    };
    const inputs = this.inputs.map((t): InputConfig => (t.name === undefined ? { shape: t.shape!.slice() } : { shape: t.shape!.slice(), name: t.name }));
    const outputs = this.outputs.map(ref);
    return {
      layers: this.layerList.map((l) => layerToConfig(l)),
      inputs: this.multiInput ? inputs : inputs[0],
      nodes: this.order.map((n) => ({ layer: this.layerList.indexOf(n.layer as Layer), inputs: n.inputs.map(ref) })),
      outputs: this.multiOutput ? outputs : outputs[0],
    };
  }

  /**
   * Rebuilds the graph (fresh weights) from `toConfig()`'s output; `path` locates it in error
   * messages.
   * @param config - A config from `toConfig()`.
   * @param path - Where the config sits, for error messages.
   * @throws {@link FormatError} when the config is malformed.
   */
  static fromConfig(config: ConfigObject, path = 'config'): GraphModel {
    const layers = configArray(config.layers, `${path}.layers`).map((spec, i) => layerFromConfig(spec, `${path}.layers[${i}]`));
    const inputs = listOf(config.inputs, `${path}.inputs`).map(([v, where]) => {
      const o = configObject(v, where);
      checkConfigKeys(o, ['shape', 'name'], where);
      if (!Array.isArray(o.shape) || !o.shape.every((d) => d === null || (Number.isInteger(d) && (d as number) >= 0))) {
        throw new FormatError(`Expected an array of non-negative integers or nulls for ${where}.shape but received ${describe(o.shape)}`);
      }
      if (o.name !== undefined && typeof o.name !== 'string') throw new FormatError(`Expected a string for ${where}.name but received ${describe(o.name)}`);
      return input({ shape: o.shape as (number | null)[], name: o.name });
    });
    const results: SymbolicTensor[] = [];
    const resolve = (v: ConfigValue, where: string): SymbolicTensor => {
      const r = configObject(v, where);
      if ('input' in r) {
        checkConfigKeys(r, ['input'], where);
        return inputs[index(r.input, inputs.length, `${where}.input`, 'a model input')];
      }
      checkConfigKeys(r, ['node', 'key'], where);
      const node = results[index(r.node, results.length, `${where}.node`, 'an earlier node')];
      if (r.key === undefined) return node;
      if (typeof r.key !== 'string') throw new FormatError(`Expected a string for ${where}.key but received ${describe(r.key)}`);
      return node.get(r.key);
    };
    configArray(config.nodes, `${path}.nodes`).forEach((v, i) => {
      const where = `${path}.nodes[${i}]`;
      const n = configObject(v, where);
      checkConfigKeys(n, ['layer', 'inputs'], where);
      const layer = layers[index(n.layer, layers.length, `${where}.layer`, 'a layer')];
      results.push(layer.apply(configArray(n.inputs, `${where}.inputs`).map((r, j) => resolve(r, `${where}.inputs[${j}]`))));
    });
    const outputs = listOf(config.outputs, `${path}.outputs`).map(([v, where]) => resolve(v, where));
    const model = new GraphModel({ inputs: Array.isArray(config.inputs) ? inputs : inputs[0], outputs: Array.isArray(config.outputs) ? outputs : outputs[0] });
    // Children are numbered by first use in running order: the config must list them that way for its state dict paths to hold.
    const same = <T>(a: readonly T[], b: readonly T[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
    if (!same(model.order, results.map((t) => t.node!)) || !same(model.layerList, layers)) {
      throw new FormatError(`Expected the nodes of ${path} in the order the model runs them and its layers in order of first use, each used`);
    }
    return model;
  }

  toString(): string {
    return `Model(${this.inputs.length} input${this.inputs.length === 1 ? '' : 's'}, ${this.outputs.length} output${this.outputs.length === 1 ? '' : 's'})`;
  }
}

/**
 * The values of one run of a graph: each node's result and the lengths
 * every symbolic tensor carries (Keras' mask propagation, see
 * `model/lengths.ts` and the registry's `LengthsRule`).
 */
class GraphRun {
  private readonly results = new Map<GraphNode, unknown>();
  private readonly flows = new Map<GraphNode, ReturnType<LengthsRule>>();
  private readonly inputLengths: Map<SymbolicTensor, Int32Array | undefined>;

  constructor(
    inputs: readonly SymbolicTensor[],
    private readonly values: Map<SymbolicTensor, Tensor>,
    lengths: readonly (Int32Array | undefined)[],
    private readonly ctx: CallContext,
    private readonly done: (outputs: Tensor[], lengths: (Int32Array | undefined)[]) => unknown,
    private readonly outputs: readonly SymbolicTensor[],
  ) {
    this.inputLengths = new Map(inputs.map((sym, i) => [sym, lengths[i]]));
  }

  valueOf(sym: SymbolicTensor): Tensor {
    return sym.node ? pick(this.results.get(sym.node), sym.node.layer as Layer, sym.key) : this.values.get(sym)!;
  }

  lengthsOf(sym: SymbolicTensor): Int32Array | undefined {
    return sym.node ? this.flows.get(sym.node)!.output(sym.key) : this.inputLengths.get(sym);
  }

  /** The layer, its input tensors and its context (with the lengths its rule picks) for the call of `node`. */
  argsOf(node: GraphNode): [Layer, Tensor[], CallContext, (Int32Array | undefined)[]] {
    const inputLengths = node.inputs.map((sym) => this.lengthsOf(sym));
    const flow = lengthsFlow(node.layer, inputLengths);
    this.flows.set(node, flow);
    const { lengths: _given, ...rest } = this.ctx;
    return [node.layer as Layer, node.inputs.map((sym) => this.valueOf(sym)), flow.call === undefined ? rest : { ...rest, lengths: flow.call }, inputLengths];
  }

  record(node: GraphNode, result: unknown): void {
    this.results.set(node, result);
  }

  /** The model's result from the outputs' values and lengths. */
  finish<R>(): R {
    return this.done(this.outputs.map((sym) => this.valueOf(sym)), this.outputs.map((sym) => this.lengthsOf(sym))) as R;
  }
}

/** A config value that is one item or an array of them, with each item's path. */
function listOf(value: ConfigValue | undefined, path: string): [ConfigValue, string][] {
  if (Array.isArray(value)) return value.map((v, i) => [v, `${path}[${i}]`]);
  return [[configObject(value, path), path]];
}

function index(value: ConfigValue | undefined, limit: number, where: string, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= limit) {
    throw new FormatError(`Expected the index of ${what} (a non-negative integer below ${limit}) for ${where} but received ${describe(value)}`);
  }
  return value;
}

/**
 * `eddy.model({ inputs, outputs })`.
 * @param opts - {@link ModelOptions}.
 * @throws {@link ValidationError} when the graph uses a tensor that is not among the inputs,
 *   has a cycle, or calls something that is not a layer.
 */
export function model(opts: ModelOptions): GraphModel {
  return new GraphModel(opts);
}

// Its layers' bounds count on their own (nested configs); ONNX export covers sequential models.
registerLayer('GraphModel', { layerClass: GraphModel, fromConfig: (c, path) => GraphModel.fromConfig(c, path), parameterBound: () => 0, perStep: false, onnx: null });
