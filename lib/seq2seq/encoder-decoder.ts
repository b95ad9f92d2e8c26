/**
 * An encoder–decoder as one model: the encoder reads the source, the
 * decoder reads the target shifted right (teacher forcing) beside the
 * encoder's outputs. Trained like any model (`fit({ x: [source,
 * decoderInput], y: target, lengths: [sourceLengths, targetLengths] })`),
 * saved and loaded as one file, and decoded step by step by
 * `greedyDecode` and `beamSearch`, which run the encoder once and then
 * the decoder one token per call with its states carried.
 *
 * ```ts
 * const source = eddy.input({ shape: [null] });
 * const memory = new eddy.GRU({ inputSize: 32, hiddenSize: 64 }).apply(new eddy.Embedding({ numEmbeddings: 40, embeddingDim: 32 }).apply(source));
 * const encoder = eddy.model({ inputs: source, outputs: memory });
 * const tokens = eddy.input({ shape: [null] });
 * const keys = eddy.input({ shape: [null, 64] });
 * const queries = new eddy.GRU({ inputSize: 32, hiddenSize: 64 }).apply(new eddy.Embedding({ numEmbeddings: 14, embeddingDim: 32 }).apply(tokens));
 * const context = new eddy.DotAttention().apply([queries, keys]);
 * const logits = new eddy.Linear({ inFeatures: 128, outFeatures: 14 }).apply(new eddy.Concatenate().apply([queries, context]));
 * const decoder = eddy.model({ inputs: [tokens, keys], outputs: logits });
 * const model = eddy.seq2seq.encoderDecoder({ encoder, decoder });
 * ```
 */
import { ValidationError } from '../errors';
import { GraphModel } from '../model/functional';
import { CallContext } from '../model/call';
import { isPerInput, lengthsOfInputs, lengthsOfOutput } from '../model/lengths';
import type { Lengths } from '../ops/lengths';
import { Model } from '../model/model';
import { Sequential } from '../model/sequential';
import { carryStates, ModelCaches, ModelStates, OutputWithStates, recurrentLayerPaths, WithStates, withStates } from '../model/states';
import type { LayerState, RecurrentLayer, StateCarrier, StepCache } from '../layers/recurrent';
import { formatSummary, SummaryRow } from '../model/summary';
import { Module } from '../nn/module';
import { ConfigObject, LayerConfig, layerFromConfig, layerToConfig, registerLayer } from '../nn/registry';
import { noGrad } from '../autograd/grad-mode';
import { Tensor, zeros } from '../tensor/tensor';
import { checkOptions, checkShape, describe, fail, optionKeys } from '../validate';

/** Options of `eddy.seq2seq.encoderDecoder`: the two parts. */
export interface EncoderDecoderOptions {
  /** Reads the source: a Sequential or a functional model with one input; its output(s) are the decoder's memory. */
  encoder: Sequential | GraphModel;
  /**
   * A functional model whose inputs are the target tokens [batch, time]
   * followed by one input per encoder output, and whose one output is the
   * logits [batch, time, vocabulary]. It must be causal (step t sees
   * tokens ≤ t) and carry its state through `forward(x, { states })`
   * (recurrent layers do), so decoding can feed it one token at a time.
   */
  decoder: GraphModel;
  /**
   * Decoder recurrent layers that start from an encoder recurrent layer's
   * final state, as `{ decoderPath: encoderPath }` with each path the
   * layer's path within its own part (`'1'` for the graph node of a
   * functional model, `'0'` for `layers[0]` of a Sequential; an unknown path
   * is refused with the list of known ones). This is the classic
   * sequence-to-sequence handover, with or without attention: the two
   * layers must carry the same state (same cell, layers × directions and
   * hidden size). The state is the one at each source row's last valid
   * step, gradients flow back through it into the encoder, and decoding
   * starts from it. (A decoder layer also fed h0/c0 as graph inputs starts
   * from those, as it would from given `states`.)
   * @default {} (every decoder layer starts from zeros)
   */
  bridge?: Readonly<Record<string, string>>;
}

/** The keys of EncoderDecoderOptions, for checkOptions. */
export const ENCODER_DECODER_OPTION_KEYS = optionKeys<EncoderDecoderOptions>({ encoder: true, decoder: true, bridge: true });

/** The encoder's outputs for a batch of sources, with the lengths each one carries. */
export interface Memory {
  /** One tensor per encoder output, in the order of the decoder's inputs after the tokens. */
  values: Tensor[];
  /** The lengths each memory tensor carries (the source's, through the encoder), undefined where none. */
  lengths: (Int32Array | undefined)[];
  /** The initial states of the decoder's bridged layers (`EncoderDecoderOptions.bridge`), by decoder path; absent without a bridge. */
  states?: ModelStates;
}

/** What a decoder carries from one step to the next: its recurrent states and its step-decoding layers' caches. */
export interface DecoderCarry {
  /** The recurrent layers' states, by layer path. */
  states: ModelStates;
  /** The step-decoding layers' caches (cached keys and values), by layer path; absent when the decoder has none. */
  caches?: ModelCaches;
}

/** What a decoder step returns: logits for the last fed token and what the decoder carries after it. */
export interface DecoderStep extends DecoderCarry {
  /** [rows, vocabulary]. */
  logits: Tensor;
}

/**
 * An encoder and a decoder as one model (`eddy.seq2seq.encoderDecoder`):
 * `forward([source, decoderInput])` gives teacher-forced logits; `encode`
 * and `decodeStep` are what `greedyDecode` and `beamSearch` run. Its state
 * dict holds the encoder's parameters under `encoder.` and the decoder's
 * under `decoder.`.
 */
export class EncoderDecoder extends Model {
  /** Reads the source; its output(s) are the decoder's memory. */
  readonly encoder: Sequential | GraphModel;
  /** Reads the target tokens beside the memory and gives the logits. */
  readonly decoder: GraphModel;
  /** Decoder layer path → encoder layer path whose final state it starts from (`EncoderDecoderOptions.bridge`). */
  readonly bridge: Readonly<Record<string, string>>;
  /** The bridge's layers: each bridged decoder layer with the encoder layer it starts from. */
  private readonly bridged: Map<RecurrentLayer, RecurrentLayer>;

  /**
   * Checks that the two parts fit together (see `EncoderDecoderOptions`).
   * @param opts - The encoder and the decoder.
   * @throws ValidationError if a part is not a model of the expected kind or their inputs and outputs do not match.
   */
  constructor(opts: EncoderDecoderOptions) {
    super();
    const o = checkOptions('options', opts, ENCODER_DECODER_OPTION_KEYS);
    if (!(o.encoder instanceof Sequential) && !(o.encoder instanceof GraphModel)) {
      throw new ValidationError(`Expected a Sequential or functional model for encoder but received ${describe(o.encoder)}`);
    }
    if (o.encoder instanceof GraphModel && o.encoder.inputs.length !== 1) {
      throw new ValidationError(`Expected an encoder with one input (the source) but received ${o.encoder.toString()}`);
    }
    if (!(o.decoder instanceof GraphModel)) throw new ValidationError(`Expected a functional model for decoder but received ${describe(o.decoder)}`);
    const memories = o.encoder instanceof GraphModel ? o.encoder.outputs.length : 1;
    if (o.decoder.inputs.length !== 1 + memories || o.decoder.outputs.length !== 1) {
      throw new ValidationError(
        `Expected a decoder with ${1 + memories} inputs (the target tokens, then the encoder's ${memories} output${memories === 1 ? '' : 's'}) and one output but received ${o.decoder.toString()}`,
      );
    }
    this.encoder = o.encoder;
    this.decoder = o.decoder;
    this.bridged = bridgeLayers(o.encoder, o.decoder, o.bridge);
    this.bridge = Object.freeze({ ...(o.bridge ?? {}) });
  }

  override children(): [string, Module][] {
    return [['encoder', this.encoder], ['decoder', this.decoder]];
  }

  /**
   * Teacher-forced logits for `[source, decoderInput]` → [batch, time,
   * vocabulary]. `lengths` is one entry per input (`[sourceLengths,
   * targetLengths]`, null where there is no padding) or one array for both.
   * With `states`, every recurrent layer of both parts starts from its
   * given state (paths `encoder.…`, `decoder.…`) and the result holds the
   * final ones.
   * @param inputs - `[source, decoderInput]`.
   * @param ctx - Training flag, lengths and other per-call options.
   */
  forward(inputs: Tensor | readonly Tensor[], ctx?: CallContext): Tensor;
  /**
   * Teacher-forced logits, every recurrent layer starting from the given
   * `states`; the result holds the final states as well.
   * @param inputs - `[source, decoderInput]`.
   * @param ctx - Per-call options with the initial `states`.
   */
  forward(inputs: Tensor | readonly Tensor[], ctx: CallContext & WithStates): OutputWithStates;
  forward(inputs: Tensor | readonly Tensor[], ctx: CallContext & Partial<WithStates> = {}): Tensor | OutputWithStates {
    const { source, target, sourceLengths, targetLengths, inner, carrier } = this.begin(inputs, ctx);
    const memory = this.memoryOf(this.encoder.forward(source, { ...inner, lengths: sourceLengths }) as Tensor | Tensor[], sourceLengths);
    const output = this.decoder.forward([target, ...memory.values], { ...inner, lengths: [targetLengths ?? null, ...memory.lengths.map((l) => l ?? null)] }) as Tensor;
    return this.finish(output, carrier);
  }

  /**
   * `forward` with the recurrent layers running on worker threads.
   * @param inputs - `[source, decoderInput]`.
   * @param ctx - Training flag, lengths and other per-call options.
   */
  forwardAsync(inputs: Tensor | readonly Tensor[], ctx?: CallContext): Promise<Tensor>;
  /**
   * `forward` with initial `states`, the recurrent layers running on worker threads.
   * @param inputs - `[source, decoderInput]`.
   * @param ctx - Per-call options with the initial `states`.
   */
  forwardAsync(inputs: Tensor | readonly Tensor[], ctx: CallContext & WithStates): Promise<OutputWithStates>;
  async forwardAsync(inputs: Tensor | readonly Tensor[], ctx: CallContext & Partial<WithStates> = {}): Promise<Tensor | OutputWithStates> {
    const { source, target, sourceLengths, targetLengths, inner, carrier } = this.begin(inputs, ctx);
    const memory = this.memoryOf((await this.encoder.forwardAsync(source, { ...inner, lengths: sourceLengths })) as Tensor | Tensor[], sourceLengths);
    const output = (await this.decoder.forwardAsync([target, ...memory.values], { ...inner, lengths: [targetLengths ?? null, ...memory.lengths.map((l) => l ?? null)] })) as Tensor;
    return this.finish(output, carrier);
  }

  /**
   * Runs the encoder on a batch of sources (in eval mode, for decoding).
   * @param source - Source batch [batch, time] of token ids, or [batch, time, features].
   * @param sourceLengths - Valid steps of each source row; all full when absent.
   */
  async encode(source: Tensor, sourceLengths?: Int32Array): Promise<Memory> {
    if (this.bridged.size === 0) {
      const out = (await this.encoder.forwardAsync(source, { lengths: sourceLengths, training: false })) as Tensor | Tensor[];
      return this.memoryOf(out, sourceLengths);
    }
    // The same carrier as forward's collects the encoder's final states.
    const collected = new BridgeCarrier(this.bridged, undefined);
    const output = (await this.encoder.forwardAsync(source, { lengths: sourceLengths, training: false, carrier: collected })) as Tensor | Tensor[];
    const paths = recurrentLayerPaths(this.decoder);
    const initial: ModelStates = {};
    for (const [to, origin] of this.bridged) initial[paths.get(to) as string] = collected.finalOf(origin, to);
    return { ...this.memoryOf(output, sourceLengths), states: initial };
  }

  /**
   * One decoder step for every row: `tokens` [rows, steps] (one step when
   * decoding), the memory rows that go with them, and what the decoder
   * carried out of the previous step (null at the start). Nothing before
   * `tokens` is run again: recurrent layers continue from their states,
   * transformer decoders from their cached keys and values. The first step
   * starts the bridged layers from `memory.states`.
   * @param tokens - Tokens to feed [rows, steps].
   * @param memory - The encoder's outputs for the same rows.
   * @param carried - What the previous step returned, or null for the first step.
   */
  async decodeStep(tokens: Tensor, memory: Memory, carried: DecoderCarry | null): Promise<DecoderStep> {
    const lengths = [null, ...memory.lengths.map((l) => l ?? null)];
    const { output, states: next, caches } = await this.decoder.forwardAsync([tokens, ...memory.values], { lengths, training: false, states: carried?.states ?? memory.states ?? null, caches: carried?.caches ?? null });
    const logits = output as Tensor;
    if (logits.rank !== 3 || logits.shape[0] !== tokens.shape[0] || logits.shape[1] !== tokens.shape[1]) {
      throw new ValidationError(`Expected decoder logits of shape [${tokens.shape[0]}, ${tokens.shape[1]}, vocabulary] for ${this.toString()} but received [${logits.shape.join(', ')}]`);
    }
    const last = logits.shape[1] - 1;
    return { logits: logits.select(1, last).contiguous(), states: next, caches };
  }

  /**
   * The layers of both parts with their output shapes, for a source and a decoder input of the given example shapes.
   * @param inputShapes - Example shapes of the source and of the decoder input, batch included.
   */
  summary(inputShapes: readonly (readonly number[])[]): string {
    if (!Array.isArray(inputShapes) || inputShapes.length !== 2) fail('[sourceShape, decoderInputShape]', 'inputShapes', inputShapes);
    const [source, target] = inputShapes.map((s, i) => checkShape(`inputShapes[${i}]`, s));
    const within = (prefix: string, rows: SummaryRow[]): SummaryRow[] => rows.map((r) => ({ ...r, name: `${prefix}.${r.name}` }));
    const memory = noGrad(() => {
      const out = this.encoder.forward(zeros([1, ...source]), {}) as Tensor | Tensor[];
      return (Array.isArray(out) ? out : [out]).map((t) => t.shape.slice(1));
    });
    const encoderRows = this.encoder.summaryRows(source);
    return formatSummary(this.toString(), [...within('encoder', encoderRows), ...within('decoder', this.decoder.summaryRows([target, ...memory]))], this);
  }

  /** The two parts' configs, for `eddy.layerToConfig`: `encoder` and `decoder`, each a layer config, and the `bridge` when there is one. */
  toConfig(): {
    /** The encoder's config. */
    encoder: LayerConfig;
    /** The decoder's config. */
    decoder: LayerConfig;
    /** The bridge, when any decoder layer starts from an encoder layer's state. */
    bridge?: Record<string, string>;
  } {
    const parts = { encoder: layerToConfig(this.encoder), decoder: layerToConfig(this.decoder) };
    return this.bridged.size === 0 ? parts : { ...parts, bridge: { ...this.bridge } };
  }

  /**
   * Rebuilds the model (fresh weights) from `toConfig()`'s output.
   * @param config - What `toConfig()` returned.
   * @param path - Where the config sits, for error messages.
   * @throws ValidationError if the config is malformed.
   */
  static fromConfig(config: ConfigObject, path = 'config'): EncoderDecoder {
    const encoder = layerFromConfig(config.encoder as unknown as LayerConfig, `${path}.encoder`);
    const decoder = layerFromConfig(config.decoder as unknown as LayerConfig, `${path}.decoder`);
    const bridge = config.bridge === undefined ? undefined : (config.bridge as unknown as Record<string, string>);
    return new EncoderDecoder({ encoder: encoder as Sequential | GraphModel, decoder: decoder as GraphModel, ...(bridge === undefined ? {} : { bridge }) });
  }

  toString(): string {
    return `EncoderDecoder(${this.encoder.toString()}, ${this.decoder.toString()})`;
  }

  /** The two inputs, their lengths and the layers' context of one call. */
  private begin(inputs: Tensor | readonly Tensor[], ctx: CallContext & Partial<WithStates>) {
    if (!Array.isArray(inputs) || inputs.length !== 2 || !inputs.every((t) => t instanceof Tensor)) {
      throw new ValidationError(`Expected [source, decoderInput] (two tensors) for inputs of ${this.toString()} but received ${describe(inputs)}`);
    }
    const { inner: outer, carrier } = carryStates(this, ctx);
    this.checkBridgedStates(ctx);
    // With a bridge every call runs through a carrier that hands the encoder's final states to the decoder.
    const inner: CallContext | undefined = this.bridged.size === 0 ? outer : { ...(outer ?? {}), carrier: new BridgeCarrier(this.bridged, outer?.carrier) };
    const [source, target] = inputs as readonly Tensor[];
    const given = inner?.lengths;
    const [sourceLengths, targetLengths]: (Lengths | undefined)[] = given === undefined || isPerInput(given) ? lengthsOfInputs(given, [source, target], this.toString()) : [given, given];
    return { source, target, sourceLengths, targetLengths, inner: inner ?? {}, carrier };
  }

  /** The encoder's outputs as a list, with the lengths each one carries (the source's for a sequence out of a Sequential). */
  private memoryOf(out: Tensor | Tensor[], sourceLengths: Lengths | undefined): Memory {
    const values = Array.isArray(out) ? out : [out];
    const shared = sourceLengths === undefined ? undefined : Int32Array.from(sourceLengths as ArrayLike<number>);
    const lengths = values.map((t) => lengthsOfOutput(t) ?? (this.encoder instanceof Sequential && t.rank === 3 ? shared : undefined));
    return { values, lengths };
  }

  /** A bridged decoder layer takes its state from the encoder: a state given for it too is a contradiction. */
  private checkBridgedStates(ctx: CallContext & Partial<WithStates>): void {
    const states = ctx?.states;
    if (states === null || states === undefined || typeof states !== 'object') return;
    for (const [to, from] of Object.entries(this.bridge)) {
      if (Object.prototype.hasOwnProperty.call(states, `decoder.${to}`)) {
        throw new ValidationError(`Expected no state for states['decoder.${to}'] of ${this.toString()}, whose bridge starts that layer from the encoder's '${from}', but received ${describe(states[`decoder.${to}`])}`);
      }
    }
  }

  private finish(output: Tensor, carrier: ReturnType<typeof carryStates>['carrier']): Tensor | OutputWithStates {
    return carrier ? withStates(output, carrier) : output;
  }
}

/** The bridge's layers, checked: each named decoder layer with the encoder layer whose state it takes. */
function bridgeLayers(encoder: Module, decoder: Module, bridge: unknown): Map<RecurrentLayer, RecurrentLayer> {
  const out = new Map<RecurrentLayer, RecurrentLayer>();
  if (bridge === undefined) return out;
  const proto = bridge === null || typeof bridge !== 'object' ? undefined : Object.getPrototypeOf(bridge);
  if (proto !== Object.prototype && proto !== null) fail('object of decoder layer path → encoder layer path', 'bridge', bridge);
  const byPath = (m: Module): Map<string, RecurrentLayer> => new Map([...recurrentLayerPaths(m)].map(([layer, path]) => [path, layer]));
  const encoders = byPath(encoder);
  const decoders = byPath(decoder);
  const known = (m: Map<string, RecurrentLayer>): string => [...m.keys()].map((k) => `'${k}'`).join(', ') || 'none';
  for (const [to, from] of Object.entries(bridge as Record<string, unknown>)) {
    const target = decoders.get(to);
    if (target === undefined) throw new ValidationError(`Expected bridge keyed by the decoder's recurrent layers (${known(decoders)}) but received '${to}'`);
    if (typeof from !== 'string' || !encoders.has(from)) {
      throw new ValidationError(`Expected bridge['${to}'] to name one of the encoder's recurrent layers (${known(encoders)}) but received ${describe(from)}`);
    }
    const origin = encoders.get(from) as RecurrentLayer;
    if (origin === target) throw new ValidationError(`Expected bridge['${to}'] to join two different layers but received the same ${origin.toString()} in the encoder ('${from}') and the decoder`);
    const state = (l: RecurrentLayer): string => `${l.cellName} state [${l.numLayers * (l.bidirectional ? 2 : 1)}, batch, ${l.hiddenSize}]`;
    if (state(origin) !== state(target)) {
      throw new ValidationError(`Expected bridge['${to}'] to join layers carrying the same state but received the encoder's ${origin.toString()} (${state(origin)}) for the decoder's ${target.toString()} (${state(target)})`);
    }
    out.set(target, origin);
  }
  return out;
}

/**
 * Hands each bridged decoder layer the final state its encoder layer left in
 * this call; passes everything else on. It offers the step-decoding hooks
 * only when the carrier it wraps does: their presence is what switches a
 * transformer decoder to cached step-by-step decoding.
 */
class BridgeCarrier implements StateCarrier {
  private readonly finals = new Map<RecurrentLayer, LayerState>();
  readonly initialCache?: (layer: Module) => StepCache | undefined;
  readonly finalCache?: (layer: Module, cache: StepCache) => void;

  constructor(
    private readonly bridged: Map<RecurrentLayer, RecurrentLayer>,
    private readonly outer: StateCarrier | undefined,
  ) {
    const { initialCache, finalCache } = outer ?? {};
    if (initialCache && finalCache) {
      this.initialCache = (layer) => initialCache.call(outer, layer);
      this.finalCache = (layer, cache) => finalCache.call(outer, layer, cache);
    }
  }

  initial(layer: RecurrentLayer): LayerState | undefined {
    const origin = this.bridged.get(layer);
    if (origin === undefined) return this.outer?.initial(layer);
    return this.finalOf(origin, layer);
  }

  final(layer: RecurrentLayer, state: LayerState): void {
    this.finals.set(layer, state);
    this.outer?.final(layer, state);
  }

  /** The final state `origin` left in this call, which bridged layer `to` starts from. */
  finalOf(origin: RecurrentLayer, to: RecurrentLayer): LayerState {
    const state = this.finals.get(origin);
    if (state === undefined) throw new ValidationError(`Expected the encoder's ${origin.toString()} to run before the decoder's ${to.toString()}, which starts from its state, but it did not run`);
    return state;
  }
}

/**
 * `eddy.seq2seq.encoderDecoder({ encoder, decoder })`: an `EncoderDecoder`.
 * @param opts - The encoder and the decoder.
 * @throws ValidationError if the two parts do not fit together.
 */
export function encoderDecoder(opts: EncoderDecoderOptions): EncoderDecoder {
  return new EncoderDecoder(opts);
}

registerLayer<EncoderDecoder>('EncoderDecoder', {
  layerClass: EncoderDecoder,
  fromConfig: (c, path) => EncoderDecoder.fromConfig(c, path),
  // Its parts' bounds count on their own (nested configs).
  parameterBound: () => 0,
  perStep: false,
  onnx: null,
});
