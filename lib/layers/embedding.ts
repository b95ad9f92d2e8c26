import { recordSingleOutput } from '../autograd/tape';
import { ValidationError } from '../errors';
import { Module } from '../nn/module';
import { Parameter } from '../nn/parameter';
import { Generator } from '../random';
import { binding } from '../native';
import { denseData, Tensor } from '../tensor/tensor';
import { checkGenerator, checkInteger, checkOptions, describe, fail, optionKeys } from '../validate';
import { registerLayer } from '../nn/registry';
import { positive } from '../nn/registry';

/** The options of {@link Embedding}. */
export interface EmbeddingOptions {
  /** Size of the vocabulary. */
  numEmbeddings: number;
  /** Size of each embedding vector. */
  embeddingDim: number;
  /** An index whose vector stays zero and gets no gradient (negative counts from the end); null for none. @default none */
  paddingIdx?: number | null;
  /** Random source for the initial weights. @default the global generator */
  generator?: Generator;
}

/** The keys of EmbeddingOptions, for checkOptions. */
export const EMBEDDING_OPTION_KEYS = optionKeys<EmbeddingOptions>({ numEmbeddings: true, embeddingDim: true, paddingIdx: true, generator: true });

/** The serializable options of an Embedding (paddingIdx non-negative, or null for none). */
export type EmbeddingConfig = Required<Omit<EmbeddingOptions, 'generator'>>;

/**
 * A lookup table: indices of any shape → vectors of shape [...indices,
 * embeddingDim]. PyTorch's `weight` (numEmbeddings, embeddingDim),
 * initialized from N(0, 1), the padding row zero.
 */
export class Embedding extends Module {
  /** Size of the vocabulary. */
  readonly numEmbeddings: number;
  /** Size of each embedding vector. */
  readonly embeddingDim: number;
  /** The index whose vector stays zero (non-negative), or null. */
  readonly paddingIdx: number | null;
  /** The table, (numEmbeddings, embeddingDim). */
  readonly weight: Parameter;

  /**
   * @param opts - {@link EmbeddingOptions}.
   * @throws {@link ValidationError} when an option is missing or malformed.
   * @example
   * ```ts
   * const embed = new eddy.Embedding({ numEmbeddings: 1000, embeddingDim: 32, paddingIdx: 0 });
   * embed.forward([4, 7, 0]).shape; // [3, 32]
   * ```
   */
  constructor(opts: EmbeddingOptions) {
    super();
    const o = checkOptions('options', opts, EMBEDDING_OPTION_KEYS);
    this.numEmbeddings = checkInteger('numEmbeddings', o.numEmbeddings, 1);
    this.embeddingDim = checkInteger('embeddingDim', o.embeddingDim, 1);
    if (o.paddingIdx === undefined || o.paddingIdx === null) {
      this.paddingIdx = null;
    } else {
      const p = checkInteger('paddingIdx', o.paddingIdx, -this.numEmbeddings, this.numEmbeddings - 1);
      this.paddingIdx = p < 0 ? p + this.numEmbeddings : p;
    }
    this.weight = Parameter.zeros([this.numEmbeddings, this.embeddingDim]);
    checkGenerator('generator', o.generator).normal(this.weight.data.data);
    if (this.paddingIdx !== null) this.weight.data.data.fill(0, this.paddingIdx * this.embeddingDim, (this.paddingIdx + 1) * this.embeddingDim);
  }

  protected override ownParameters(): [string, Parameter][] {
    return [['weight', this.weight]];
  }

  /**
   * Looks up each index; `indices` is a tensor of integers, an Int32Array or an array of integers
   * (1-D).
   * @param indices - Indices in [0, numEmbeddings).
   * @throws {@link ValidationError} when an index is out of range or not an integer.
   */
  forward(indices: Tensor | Int32Array | readonly number[]): Tensor {
    const [ids, shape] = this.readIndices(indices);
    const D = this.embeddingDim;
    const V = this.numEmbeddings;
    const W = this.weight.data;
    const out = new Float32Array(ids.length * D);
    // Gather and scatter-add run natively (native/embedding.cc); the indices were checked above.
    binding.embeddingForward(out, denseData(W), ids, V, D);
    const y = new Tensor(out, [...shape, D]);
    if (W.requiresGrad) {
      const pad = this.paddingIdx ?? -1;
      recordSingleOutput('embedding', [W], y, (g) => {
        const dW = new Float32Array(W.size);
        binding.embeddingBackward(dW, denseData(g), ids, pad, V, D);
        return [new Tensor(dW, W.shape)];
      });
    }
    return y;
  }

  private readIndices(indices: unknown): [Int32Array, number[]] {
    let values: ArrayLike<number>;
    let shape: number[];
    if (indices instanceof Tensor) {
      values = denseData(indices);
      shape = indices.shape.slice();
    } else if (indices instanceof Int32Array || Array.isArray(indices)) {
      values = indices as ArrayLike<number>;
      shape = [values.length];
    } else {
      fail('Tensor, Int32Array or array of integer indices', 'indices', indices);
    }
    const ids = new Int32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isInteger(v) || v < 0 || v >= this.numEmbeddings) {
        throw new ValidationError(`Expected indices between 0 and ${this.numEmbeddings - 1} for ${this.toString()} but received ${describe(v)} at position ${i}`);
      }
      ids[i] = v;
    }
    return [ids, shape];
  }

  /** The constructor options, defaults applied, for `eddy.layerToConfig`. */
  toConfig(): EmbeddingConfig {
    return { numEmbeddings: this.numEmbeddings, embeddingDim: this.embeddingDim, paddingIdx: this.paddingIdx };
  }

  /**
   * Builds the layer from `toConfig()`'s output (fresh weights).
   * @param config - The layer's config.
   */
  static fromConfig(config: EmbeddingConfig): Embedding {
    return new Embedding(config);
  }

  toString(): string {
    return `Embedding(numEmbeddings=${this.numEmbeddings}, embeddingDim=${this.embeddingDim}${this.paddingIdx === null ? '' : `, paddingIdx=${this.paddingIdx}`})`;
  }
}

registerLayer<Embedding>('Embedding', {
  layerClass: Embedding,
  fromConfig: (c) => Embedding.fromConfig(c as never),
  parameterBound: (c) => positive(c.numEmbeddings) * positive(c.embeddingDim),
  perStep: true,
  onnx: (layer, x, { graph }) => ({
    name: graph.op('Gather', [graph.floats('embedding', [layer.numEmbeddings, layer.embeddingDim], layer.weight.data.toFloat32Array()), x.name]),
    timeMajor: x.timeMajor,
  }),
});
