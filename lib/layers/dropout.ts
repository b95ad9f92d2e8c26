import { mul } from '../ops/arithmetic';
import { CALL_CONTEXT_KEYS, Module } from '../nn/module';
import { Generator } from '../random';
import { checkTensor, Tensor } from '../tensor/tensor';
import { checkGenerator, checkNumber, checkOptions, optionKeys } from '../validate';
import { registerLayer } from '../nn/registry';

/** The options of {@link Dropout}. */
export interface DropoutOptions {
  /** Probability of zeroing an element. @default 0.5 */
  p?: number;
  /** Random source for the masks. @default the global generator */
  generator?: Generator;
}

/** The keys of DropoutOptions, for checkOptions. */
export const DROPOUT_OPTION_KEYS = optionKeys<DropoutOptions>({ p: true, generator: true });

const DROPOUT_CALL_OPTION_KEYS = [...optionKeys<DropoutCallOptions>({ training: true }), ...CALL_CONTEXT_KEYS];

/** Options of one call. */
export interface DropoutCallOptions {
  /** Drop elements in this call (containers pass the mode of `fit` or `predict`). @default the layer's `training` flag */
  training?: boolean;
}

/** The serializable options of a Dropout layer. */
export type DropoutConfig = Required<Omit<DropoutOptions, 'generator'>>;

/** Zeroes elements with probability p in training mode and scales the rest by 1/(1 − p); the identity in eval mode. */
export class Dropout extends Module {
  /** Probability of zeroing an element. */
  readonly p: number;
  private readonly generator: Generator;

  /**
   * @param opts - {@link DropoutOptions}.
   */
  constructor(opts: DropoutOptions = {}) {
    super();
    const o = checkOptions('options', opts, DROPOUT_OPTION_KEYS);
    this.p = checkNumber('p', o.p ?? 0.5, { min: 0, max: 1 });
    this.generator = checkGenerator('generator', o.generator);
  }

  /**
   * The input with elements dropped (training mode), or the input itself.
   * @param input - A tensor of any shape.
   * @param opts - {@link DropoutCallOptions}.
   */
  forward(input: Tensor, opts: DropoutCallOptions = {}): Tensor {
    const x = checkTensor('input', input);
    if (!this.modeOf(checkOptions('options', opts, DROPOUT_CALL_OPTION_KEYS).training) || this.p === 0) return x;
    const mask = new Float32Array(x.size);
    if (this.p < 1) {
      const keep = 1 / (1 - this.p);
      for (let i = 0; i < mask.length; i++) mask[i] = this.generator.next() < this.p ? 0 : keep;
    }
    return mul(x, new Tensor(mask, x.shape));
  }

  /** The constructor options, defaults applied, for `eddy.layerToConfig`. */
  toConfig(): DropoutConfig {
    return { p: this.p };
  }

  /**
   * Builds the layer from `toConfig()`'s output.
   * @param config - The layer's config.
   */
  static fromConfig(config: DropoutConfig): Dropout {
    return new Dropout(config);
  }

  toString(): string {
    return `Dropout(p=${this.p})`;
  }
}

// Inference graphs drop Dropout: it is the identity in eval mode.
registerLayer('Dropout', { layerClass: Dropout, fromConfig: (c) => Dropout.fromConfig(c as never), parameterBound: () => 0, perStep: true, onnx: (_layer, x) => x });
