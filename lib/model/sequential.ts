/**
 * Sequential: layers applied one after another. Recurrent layers pass
 * their output sequence on; every layer sees the batch's `lengths`.
 */
import { noGrad } from '../autograd/grad-mode';
import { ValidationError } from '../errors';
import { Module } from '../nn/module';
import { configArray, ConfigObject, LayerConfig, layerFromConfig, layerToConfig, registerLayer } from '../nn/registry';
import { Tensor, zeros } from '../tensor/tensor';
import { checkShape, describe } from '../validate';
import { callLayer, callLayerAsync, CallContext, isLayer, Layer, pick } from './call';
import { Model } from './model';
import { carryStates, OutputWithStates, WithStates, withStates } from './states';
import { isPerInput, lengthsOfOneInput } from './lengths';
import { formatSummary, parameterCount, SummaryRow } from './summary';
import { lowerLayer } from '../nn/onnx-lowering';

/**
 * A model that calls its layers one after another, each on the previous one's output (made by
 * {@link sequential}).
 */
export class Sequential extends Model {
  /** The layers, in calling order. */
  readonly layers: readonly Layer[];

  /**
   * @param layers - The layers, in calling order; each gets the previous one's output.
   * @throws {@link ValidationError} when `layers` is empty or holds something that is not a layer.
   */
  constructor(layers: readonly Layer[]) {
    super();
    if (!Array.isArray(layers) || layers.length === 0) {
      throw new ValidationError(`Expected a non-empty array of layers for sequential but received ${describe(layers)}`);
    }
    layers.forEach((l, i) => {
      if (!isLayer(l)) throw new ValidationError(`Expected a layer (a Module with forward) for layers[${i}] but received ${describe(l)}`);
    });
    this.layers = layers.slice();
  }

  override children(): [string, Module][] {
    return this.layers.map((l, i) => [String(i), l]);
  }

  /**
   * Runs the layers in order. With `states` (an object of layer states, or
   * null for zeros) every recurrent layer starts from its given state and
   * the result also holds each one's final state, to carry a stream into
   * the next call: `const { output, states } = model.forward(x, { states })`.
   * @param input - The batch.
   * @param ctx - {@link CallContext}: lengths and mode.
   */
  forward(input: Tensor, ctx?: CallContext): Tensor;
  /**
   * Runs the layers from the given states and returns the output with every recurrent layer's final
   * state.
   * @param input - The batch.
   * @param ctx - {@link CallContext} with `states`, the initial states.
   */
  forward(input: Tensor, ctx: CallContext & WithStates): OutputWithStates;
  forward(input: Tensor, ctx: CallContext & Partial<WithStates> = {}): Tensor | OutputWithStates {
    const { inner, carrier } = this.begin(ctx);
    let x = input;
    for (const layer of this.layers) x = pick(callLayer(layer, [x], inner), layer);
    return carrier ? withStates(x, carrier) : x;
  }

  /**
   * `forward` with the recurrent layers running on worker threads.
   * @param input - The batch.
   * @param ctx - {@link CallContext}: lengths and mode.
   */
  forwardAsync(input: Tensor, ctx?: CallContext): Promise<Tensor>;
  /**
   * `forward` with states, the recurrent layers on worker threads.
   * @param input - The batch.
   * @param ctx - {@link CallContext} with `states`, the initial states.
   */
  forwardAsync(input: Tensor, ctx: CallContext & WithStates): Promise<OutputWithStates>;
  async forwardAsync(input: Tensor, ctx: CallContext & Partial<WithStates> = {}): Promise<Tensor | OutputWithStates> {
    const { inner, carrier } = this.begin(ctx);
    let x = input;
    for (const layer of this.layers) x = pick(await callLayerAsync(layer, [x], inner), layer);
    return carrier ? withStates(x, carrier) : x;
  }

  /** The layers' context (one lengths array for every layer) and the carrier of states for one call. */
  private begin(ctx: CallContext & Partial<WithStates>): ReturnType<typeof carryStates> {
    const call = carryStates(this, ctx);
    if (call.inner === null || typeof call.inner !== 'object' || !isPerInput(call.inner.lengths)) return call;
    return { ...call, inner: { ...call.inner, lengths: lengthsOfOneInput(call.inner.lengths, this.toString()) } };
  }

  /**
   * The layers with their output shapes for inputs of `inputShape` (one
   * example, without the batch axis), and parameter counts.
   * @param inputShape - The shape of one example, without the batch axis.
   */
  summary(inputShape: readonly number[]): string {
    return formatSummary('Sequential', this.summaryRows(inputShape), this);
  }

  /**
   * The rows of `summary`, for containers that print these layers inside their own table.
   * @param inputShape - The shape of one example, without the batch axis.
   */
  summaryRows(inputShape: readonly number[]): SummaryRow[] {
    const shape = checkShape('inputShape', inputShape);
    const rows: SummaryRow[] = [];
    noGrad(() => {
      let x = zeros([1, ...shape]);
      for (const [name, layer] of this.children()) {
        x = pick(callLayer(layer as Layer, [x], {}), layer as Layer);
        rows.push({ name, layer: layer.toString(), outputShape: x.shape, params: parameterCount(layer) });
      }
    });
    return rows;
  }

  /** The layers' configs, for `eddy.layerToConfig`. */
  toConfig(): {
    /** The layers' configs, in calling order. */
    layers: LayerConfig[];
  } {
    return { layers: this.layers.map((l) => layerToConfig(l)) };
  }

  /**
   * Builds the model and its layers from `toConfig()`'s output; `path` locates it in error
   * messages.
   * @param config - A config from `toConfig()`.
   * @param path - Where the config sits, for error messages.
   * @throws {@link FormatError} when the config is malformed.
   */
  static fromConfig(config: ConfigObject, path = 'config'): Sequential {
    return new Sequential(configArray(config.layers, `${path}.layers`).map((spec, i) => layerFromConfig(spec, `${path}.layers[${i}]`) as Layer));
  }

  toString(): string {
    return `Sequential(${this.layers.length} layers)`;
  }
}

/**
 * `eddy.sequential([...layers])`.
 * @param layers - The layers, in calling order.
 * @throws {@link ValidationError} when `layers` is empty or holds something that is not a layer.
 * @example
 * ```ts
 * const model = eddy.sequential([
 *   new eddy.Embedding({ numEmbeddings: 100, embeddingDim: 16 }),
 *   new eddy.GRU({ inputSize: 16, hiddenSize: 64, batchFirst: true }),
 *   new eddy.Linear({ inFeatures: 64, outFeatures: 100 }),
 * ]);
 * ```
 */
export function sequential(layers: readonly Layer[]): Sequential {
  return new Sequential(layers);
}

registerLayer<Sequential>('Sequential', {
  layerClass: Sequential,
  fromConfig: (c, path) => Sequential.fromConfig(c, path),
  // Its layers' bounds count on their own (nested configs).
  parameterBound: () => 0,
  perStep: false,
  onnx: (model, x, ctx) => model.layers.reduce((y, layer) => lowerLayer(layer, y, ctx), x),
});
