/**
 * Runs a Sequential language model a few tokens at a time while carrying
 * every recurrent layer's final states into its next call (as explicit
 * h0/c0), so a prompt runs once and each generated token costs one step.
 *
 * The model shape it understands: an optional Embedding first (without
 * one, ids are fed one-hot), unidirectional RNN/LSTM/GRU layers, and
 * layers that act on each time step alone (Linear, Dropout, LayerNorm,
 * activations), ending in logits [batch, time, vocabSize].
 */
import { ShapeError, ValidationError } from '../errors';
import { Embedding } from '../layers/embedding';
import { GRU, LSTM, RNN } from '../layers/recurrent';
import { Sequential } from '../model/sequential';
import { actsPerStep } from '../nn/registry';
import { Tensor, zeros } from '../tensor/tensor';
import { describe, fail, formatShape } from '../validate';

type Recurrent = RNN | LSTM | GRU;

interface State {
  h: Tensor;
  c?: Tensor;
}

export class RecurrentStepper {
  private readonly layers: Sequential['layers'];
  private readonly states: (State | null)[];
  private readonly embedded: boolean;

  constructor(
    model: unknown,
    private readonly vocabSize: number,
  ) {
    if (!(model instanceof Sequential)) fail('a Sequential model ([Embedding,] RNN/LSTM/GRU layers, per-step layers such as Linear)', 'model', model);
    this.layers = model.layers;
    this.layers.forEach((layer, i) => {
      if (layer instanceof RNN || layer instanceof LSTM || layer instanceof GRU) {
        if (layer.bidirectional) throw new ValidationError(`Expected unidirectional recurrent layers for generation (a bidirectional layer reads the future) but received layers[${i}] ${layer.toString()}`);
      } else if (!(i === 0 && layer instanceof Embedding) && !actsPerStep(layer)) {
        throw new ValidationError(
          `Expected ${i === 0 ? 'an Embedding, ' : ''}a recurrent layer or a per-step layer (Linear, Dropout, LayerNorm, an activation) for layers[${i}] of the model but received ${layer.toString()}`,
        );
      }
    });
    this.embedded = this.layers[0] instanceof Embedding;
    if (this.embedded && (this.layers[0] as Embedding).numEmbeddings < vocabSize) {
      throw new ShapeError(`Expected an Embedding with at least ${vocabSize} rows (the tokenizer's vocabSize) but received ${this.layers[0].toString()}`);
    }
    this.states = this.layers.map(() => null);
  }

  /** Forgets the carried states: the next call starts from zeros. */
  reset(): void {
    this.states.fill(null);
  }

  /**
   * Feeds `ids` (one sequence) after everything fed before and returns the
   * logits of the last position. `offThread` runs the recurrent layers on
   * worker threads (for long prompts).
   */
  async feed(ids: Int32Array, offThread: boolean): Promise<Float32Array> {
    const n = ids.length;
    let x: Tensor;
    if (this.embedded) {
      x = new Tensor(Float32Array.from(ids), [1, n]);
    } else {
      const onehot = new Float32Array(n * this.vocabSize);
      ids.forEach((id, t) => (onehot[t * this.vocabSize + id] = 1));
      x = new Tensor(onehot, [1, n, this.vocabSize]);
    }
    for (let i = 0; i < this.layers.length; i++) {
      const layer = this.layers[i];
      if (layer instanceof RNN || layer instanceof LSTM || layer instanceof GRU) {
        x = await this.step(layer, i, x, offThread);
      } else {
        x = (layer.forward as (input: Tensor, opts: { training: boolean }) => Tensor).call(layer, x, { training: false });
      }
    }
    if (x.rank !== 3 || x.shape[0] !== 1 || x.shape[1] !== n || x.shape[2] !== this.vocabSize) {
      throw new ShapeError(`Expected model outputs of shape [1, ${n}, ${this.vocabSize}] (logits over the tokenizer's vocabulary) but received ${x instanceof Tensor ? formatShape(x.shape) : describe(x)}`);
    }
    return x.select(1, n - 1).toFloat32Array().slice();
  }

  private async step(layer: Recurrent, i: number, input: Tensor, offThread: boolean): Promise<Tensor> {
    const n = input.shape[1];
    const shape = [layer.numLayers, 1, layer.hiddenSize];
    // Explicit states always: a stateful layer must not start from what training left in it.
    const prev = this.states[i] ?? { h: zeros(shape), c: layer instanceof LSTM ? zeros(shape) : undefined };
    const x = layer.batchFirst ? input : input.reshape([n, 1, input.shape[2]]);
    const state = { h0: prev.h, c0: prev.c, training: false };
    const out = offThread ? await layer.forwardAsync(x, state) : layer.forward(x, state);
    this.states[i] = { h: out.h, c: out.c };
    return layer.batchFirst ? out.output : out.output.reshape([1, n, out.output.shape[2]]);
  }
}
