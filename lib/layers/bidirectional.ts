/**
 * Bidirectional: Keras's wrapper around any one-directional recurrent
 * layer. A forward copy reads the sequences as given, a backward copy reads
 * each one reversed within its own length; their output sequences are
 * merged and their final states stacked as PyTorch stacks directions.
 */
import { ShapeError, ValidationError } from '../errors';
import { Module } from '../nn/module';
import { ConfigObject, LayerConfig, layerFromConfig, layerToConfig, registerLayer, sequenceOutputLengths } from '../nn/registry';
import { add, mul } from '../ops/arithmetic';
import { concat, stack } from '../ops/join';
import { Lengths } from '../ops/lengths';
import { reverseSequences } from '../ops/reverse-sequences';
import { Generator } from '../random';
import { checkTensor, Tensor } from '../tensor/tensor';
import { checkOneOf, checkOptions, describe, fail, formatShape, optionKeys } from '../validate';
import { GRU, LSTM, RECURRENT_STATE_KEYS, RecurrentOutput, RecurrentState, RNN } from './recurrent';
import { checkBatchFirst, recurrentOperator } from './recurrent-onnx';
import { onnxError, timeMajor } from '../nn/onnx-lowering';

/** A one-directional recurrent layer that {@link Bidirectional} can wrap. */
export type RecurrentLayerLike = RNN | LSTM | GRU;
/** How {@link Bidirectional} combines the two directions' output sequences. */
export type MergeMode = 'concat' | 'sum' | 'mul' | 'ave';

/** The options of {@link Bidirectional}'s positional form, `new Bidirectional(layer, options)`. */
export interface BidirectionalOptions {
  /**
   * How the two output sequences are combined: `'concat'` along features
   * (forward first, 2·hiddenSize wide, what a native `bidirectional: true`
   * layer returns), or elementwise `'sum'`, `'mul'`, `'ave'`. @default 'concat'
   */
  mergeMode?: MergeMode;
  /**
   * The layer to run on the reversed sequences (Keras's `backward_layer`):
   * same type, sizes, numLayers and batchFirst as the forward layer.
   * @default a second call of the factory, or a new layer configured like the given one (fresh weights)
   */
  backwardLayer?: RecurrentLayerLike;
}

/** The keys of BidirectionalOptions, for checkOptions. */
export const BIDIRECTIONAL_OPTION_KEYS = optionKeys<BidirectionalOptions>({ mergeMode: true, backwardLayer: true });

/** The options-object form, like every other layer: `new Bidirectional({ layer, mergeMode })`. */
export interface BidirectionalLayerOptions extends BidirectionalOptions {
  /** The forward layer, or a factory called once per direction. */
  layer: RecurrentLayerLike | (() => RecurrentLayerLike);
}

const MERGE_MODES: readonly MergeMode[] = ['concat', 'sum', 'mul', 'ave'];

function isLayerOptions(value: unknown): value is BidirectionalLayerOptions {
  return value !== null && typeof value === 'object' && !(value instanceof Module) && 'layer' in value;
}

/** The serializable options: the wrapped layers' own configs. */
export type BidirectionalConfig = {
  /** The forward layer's config. */
  layer: LayerConfig;
  /** How the two output sequences are combined. */
  mergeMode: MergeMode;
  /** The backward layer's config. */
  backwardLayer: LayerConfig;
};

/**
 * Runs `forward_layer` and `backward_layer` (parameter paths
 * `forward_layer.weight_ih_l0`, …). With mergeMode 'concat' and one layer
 * each, it computes exactly what a native bidirectional layer with the
 * same weights computes (`weight_ih_l0_reverse` ↔
 * `backward_layer.weight_ih_l0`). With numLayers > 1 each direction is its
 * own stack (layer l+1 of a direction sees only that direction), unlike a
 * native bidirectional stack, whose upper layers see both directions.
 */
export class Bidirectional extends Module {
  /** The layer that reads the sequences as given (`forward_layer`). */
  readonly forwardLayer: RecurrentLayerLike;
  /** The layer that reads each sequence reversed within its length (`backward_layer`). */
  readonly backwardLayer: RecurrentLayerLike;
  /** How the two output sequences are combined. */
  readonly mergeMode: MergeMode;

  /**
   * `new Bidirectional({ layer, mergeMode, backwardLayer })`, or the older
   * positional form `new Bidirectional(layer, { mergeMode, backwardLayer })`.
   * @param opts - {@link BidirectionalLayerOptions}.
   * @throws {@link ValidationError} when the layer is not a one-directional RNN, LSTM or GRU, or
   *   the backward layer does not match it.
   * @example
   * ```ts
   * const bi = new eddy.Bidirectional({
   *   layer: () => new eddy.LSTM({ inputSize: 8, hiddenSize: 16, batchFirst: true }),
   * });
   * const { output } = bi.forward(x, { lengths }); // [batch, time, 32]
   * ```
   */
  constructor(opts: BidirectionalLayerOptions);
  /**
   * @param layer - The forward layer, or a factory called once per direction.
   * @param opts - {@link BidirectionalOptions}.
   */
  constructor(layer: RecurrentLayerLike | (() => RecurrentLayerLike), opts?: BidirectionalOptions);
  constructor(layerOrOptions: RecurrentLayerLike | (() => RecurrentLayerLike) | BidirectionalLayerOptions, opts: BidirectionalOptions = {}) {
    super();
    const { layer, ...rest } = isLayerOptions(layerOrOptions) ? layerOrOptions : { ...checkOptions('options', opts, BIDIRECTIONAL_OPTION_KEYS), layer: layerOrOptions };
    const o = checkOptions('options', rest as BidirectionalOptions, BIDIRECTIONAL_OPTION_KEYS);
    this.mergeMode = checkOneOf('mergeMode', o.mergeMode ?? 'concat', MERGE_MODES);
    const factory = typeof layer === 'function' ? layer : null;
    this.forwardLayer = checkLayer(factory ? 'the layer returned by layer()' : 'layer', factory ? factory() : layer);
    const f = this.forwardLayer;
    if (o.backwardLayer !== undefined) this.backwardLayer = checkLayer('backwardLayer', o.backwardLayer);
    else this.backwardLayer = factory ? checkLayer('the layer returned by layer()', factory()) : configuredLike(f);
    const b = this.backwardLayer;
    if (b === f) {
      throw new ValidationError(`Expected a new layer for the backward direction but received the forward layer again: ${o.backwardLayer ? 'pass a different backwardLayer' : 'layer() must return a new layer on each call'}`);
    }
    if (b.constructor !== f.constructor || b.inputSize !== f.inputSize || b.hiddenSize !== f.hiddenSize || b.numLayers !== f.numLayers || b.batchFirst !== f.batchFirst) {
      const like = `${f.constructor.name} with inputSize=${f.inputSize}, hiddenSize=${f.hiddenSize}, numLayers=${f.numLayers}, batchFirst=${f.batchFirst}`;
      throw new ValidationError(`Expected ${like} for ${o.backwardLayer ? 'backwardLayer' : 'the second layer returned by layer()'} but received ${b.toString()}`);
    }
  }

  override children(): [string, Module][] {
    return [['forward_layer', this.forwardLayer], ['backward_layer', this.backwardLayer]];
  }

  /** Features per step of the merged output: 2·hiddenSize for 'concat', else hiddenSize. */
  get outputSize(): number {
    return this.mergeMode === 'concat' ? 2 * this.forwardLayer.hiddenSize : this.forwardLayer.hiddenSize;
  }

  /**
   * Runs both directions. h0/c0, if given, are [2·numLayers, batch, hidden]
   * with the directions interleaved per layer (PyTorch's order: layer 0
   * forward, layer 0 backward, layer 1 forward, …), and so are the h and c
   * returned. Padded steps of the merged output are zero.
   * @param input - The input sequences, laid out as the wrapped layer's `batchFirst` says.
   * @param state - {@link RecurrentState}: initial states and lengths.
   * @throws {@link ShapeError} when the input or a state has the wrong shape.
   */
  forward(input: Tensor, state: RecurrentState = {}): RecurrentOutput {
    const call = this.prepare(input, state);
    return this.merge(this.forwardLayer.forward(input, call.forward), this.backwardLayer.forward(call.reversed, call.backward), call.lengths);
  }

  /**
   * `forward` with both directions on worker threads, concurrently.
   * @param input - The input sequences, as for `forward`.
   * @param state - {@link RecurrentState}: initial states and lengths.
   */
  async forwardAsync(input: Tensor, state: RecurrentState = {}): Promise<RecurrentOutput> {
    const call = this.prepare(input, state);
    const [f, b] = await Promise.all([this.forwardLayer.forwardAsync(input, call.forward), this.backwardLayer.forwardAsync(call.reversed, call.backward)]);
    return this.merge(f, b, call.lengths);
  }

  /**
   * The constructor options for `eddy.layerToConfig`: the forward layer's
   * config as `layer` and, always, the backward layer's (the default would
   * be configured like the forward one, but a given backwardLayer may differ
   * in bias or dropout).
   */
  toConfig(): BidirectionalConfig {
    return { layer: layerToConfig(this.forwardLayer), mergeMode: this.mergeMode, backwardLayer: layerToConfig(this.backwardLayer) };
  }

  /**
   * Builds the wrapper and its layers from `toConfig()`'s output; `path` locates it in error
   * messages.
   * @param config - A config from `toConfig()`.
   * @param path - Where the config sits, for error messages.
   * @throws {@link FormatError} when the config is malformed.
   */
  static fromConfig(config: ConfigObject, path = 'config'): Bidirectional {
    const layer = layerFromConfig(config.layer, `${path}.layer`) as RecurrentLayerLike;
    const backwardLayer = config.backwardLayer === undefined ? undefined : (layerFromConfig(config.backwardLayer, `${path}.backwardLayer`) as RecurrentLayerLike);
    return new Bidirectional(layer, { mergeMode: config.mergeMode as MergeMode | undefined, backwardLayer });
  }

  toString(): string {
    return `Bidirectional(${this.forwardLayer.toString()}${this.mergeMode === 'concat' ? '' : `, mergeMode='${this.mergeMode}'`})`;
  }

  private prepare(input: Tensor, state: RecurrentState): { forward: RecurrentState; backward: RecurrentState; reversed: Tensor; lengths?: Lengths } {
    const st = checkOptions('state', state, RECURRENT_STATE_KEYS);
    const f = this.forwardLayer;
    const x = checkTensor('input', input);
    if (x.rank !== 3 || x.shape[2] !== f.inputSize) {
      const layout = f.batchFirst ? 'batch, time' : 'time, batch';
      throw new ShapeError(`Expected input of shape [${layout}, ${f.inputSize}] for ${this.toString()} but received ${formatShape(x.shape)}`);
    }
    if (st.c0 !== undefined && st.c0 !== null && !(f instanceof LSTM)) {
      throw new ValidationError(`Expected no c0 for ${this.toString()}: only LSTM has a cell state`);
    }
    const B = f.batchFirst ? x.shape[0] : x.shape[1];
    const [h0f, h0b] = this.splitState('h0', st.h0, B);
    const [c0f, c0b] = this.splitState('c0', st.c0, B);
    const lengths = st.lengths;
    // reverseSequences checks lengths, with the recurrent layers' messages.
    const reversed = this.reverse(x, lengths);
    const training = st.training;
    return { forward: { h0: h0f, c0: c0f, lengths, training }, backward: { h0: h0b, c0: c0b, lengths, training }, reversed, lengths };
  }

  /** Reverses each sequence within its length, batch-first or time-major. */
  private reverse(x: Tensor, lengths: Lengths | undefined): Tensor {
    if (this.forwardLayer.batchFirst) return reverseSequences(x, lengths);
    return reverseSequences(x.transpose(0, 1), lengths).transpose(0, 1);
  }

  /** Splits [2·L, B, H] (directions interleaved) into the forward and backward layers' [L, B, H]. */
  private splitState(name: 'h0' | 'c0', value: unknown, B: number): [Tensor | undefined, Tensor | undefined] {
    if (value === undefined || value === null) return [undefined, undefined];
    if (!(value instanceof Tensor)) fail('Tensor', name, value);
    const L = this.forwardLayer.numLayers;
    const shape = [2 * L, B, this.forwardLayer.hiddenSize];
    if (value.rank !== 3 || value.shape.some((d, i) => d !== shape[i])) {
      throw new ShapeError(`Expected ${name} of shape ${formatShape(shape)} for ${this.toString()} but received ${formatShape(value.shape)}`);
    }
    const direction = (d: number): Tensor => stack(Array.from({ length: L }, (_, l) => value.select(0, 2 * l + d)), 0);
    return [direction(0), direction(1)];
  }

  private merge(f: RecurrentOutput, b: RecurrentOutput, lengths: Lengths | undefined): RecurrentOutput {
    const back = this.reverse(b.output, lengths);
    let output: Tensor;
    if (this.mergeMode === 'concat') output = concat([f.output, back], 2);
    else if (this.mergeMode === 'sum') output = add(f.output, back);
    else if (this.mergeMode === 'mul') output = mul(f.output, back);
    else output = mul(add(f.output, back), 0.5);
    const L = this.forwardLayer.numLayers;
    const interleave = (fs: Tensor, bs: Tensor): Tensor =>
      L === 1 ? concat([fs, bs], 0) : concat(Array.from({ length: 2 * L }, (_, k) => (k % 2 === 0 ? fs : bs).slice(0, k >> 1, (k >> 1) + 1)), 0);
    const out: RecurrentOutput = { output, h: interleave(f.h, b.h) };
    if (f.c && b.c) out.c = interleave(f.c, b.c);
    return out;
  }
}

function checkLayer(name: string, layer: unknown): RecurrentLayerLike {
  if (!(layer instanceof RNN || layer instanceof LSTM || layer instanceof GRU) || layer.bidirectional) {
    const got = layer instanceof Module ? layer.toString() : describe(layer);
    throw new ValidationError(`Expected an RNN, LSTM or GRU with bidirectional: false for ${name} but received ${got}`);
  }
  return layer;
}

/**
 * A new layer with `layer`'s configuration and fresh weights. resetAfter
 * (GRU) and the generator are not public on the recurrent layers yet (no
 * toConfig()), hence the cast.
 */
function configuredLike(layer: RecurrentLayerLike): RecurrentLayerLike {
  const hidden = layer as unknown as { resetAfter: boolean; generator: Generator };
  const common = {
    inputSize: layer.inputSize,
    hiddenSize: layer.hiddenSize,
    numLayers: layer.numLayers,
    bias: layer.bias,
    batchFirst: layer.batchFirst,
    dropout: layer.dropout,
    generator: hidden.generator,
  };
  if (layer instanceof LSTM) return new LSTM(common);
  if (layer instanceof GRU) return new GRU({ ...common, resetAfter: hidden.resetAfter });
  return new RNN({ ...common, nonlinearity: layer.nonlinearity });
}

registerLayer<Bidirectional>('Bidirectional', {
  layerClass: Bidirectional,
  fromConfig: (c, path) => Bidirectional.fromConfig(c, path),
  // Its two layers' bounds count on their own (nested configs).
  parameterBound: () => 0,
  perStep: false,
  lengths: sequenceOutputLengths,
  // One bidirectional ONNX operator: the backward copy's weights play ONNX's reverse direction.
  onnx: (layer, x, ctx) => {
    const { forwardLayer, backwardLayer } = layer;
    if (!forwardLayer.batchFirst || !backwardLayer.batchFirst) checkBatchFirst(forwardLayer.batchFirst ? backwardLayer : forwardLayer, `${layer.toString()} wraps a time-major one`);
    if (layer.mergeMode !== 'concat' || forwardLayer.numLayers !== 1 || backwardLayer.numLayers !== 1) {
      throw onnxError(`Export supports Bidirectional with mergeMode 'concat' around one-layer cells; received ${layer.toString()}`);
    }
    return recurrentOperator(timeMajor(x, ctx.graph), ctx, [
      { layer: forwardLayer, l: 0, reverse: false },
      { layer: backwardLayer, l: 0, reverse: false },
    ]);
  },
});
