import { record } from '../autograd/tape';
import { ShapeError } from '../errors';
import { Module } from '../nn/module';
import { Parameter } from '../nn/parameter';
import { checkTensor, shapeSize, Tensor } from '../tensor/tensor';
import { checkBoolean, checkInteger, checkNumber, checkOptions, formatShape, optionKeys } from '../validate';
import { registerLayer } from '../nn/registry';
import { positive } from '../nn/registry';
import { batchMajor, onnxAttribute, onnxError } from '../nn/onnx-lowering';

/** The options of {@link LayerNorm}. */
export interface LayerNormOptions {
  /** The trailing shape to normalize over (a number for the last axis). */
  normalizedShape: number | number[];
  /** Added to the variance for numerical stability. @default 1e-5 */
  eps?: number;
  /** Learn a per-element scale `weight` (ones) and shift `bias` (zeros). @default true */
  elementwiseAffine?: boolean;
}

/** The keys of LayerNormOptions, for checkOptions. */
export const LAYER_NORM_OPTION_KEYS = optionKeys<LayerNormOptions>({ normalizedShape: true, eps: true, elementwiseAffine: true });

/** The serializable options of a LayerNorm (normalizedShape always an array). */
export type LayerNormConfig = {
  /** The trailing shape to normalize over. */
  normalizedShape: number[];
  /** Added to the variance for numerical stability. */
  eps: number;
  /** Whether the layer has a learned scale and shift. */
  elementwiseAffine: boolean;
};

/**
 * Layer normalization (Ba et al.) over the trailing `normalizedShape`
 * elements, with PyTorch's biased variance and parameter names.
 */
export class LayerNorm extends Module {
  /** The trailing shape normalized over. */
  readonly normalizedShape: number[];
  /** Added to the variance for numerical stability. */
  readonly eps: number;
  /** The per-element scale (`weight`), or null without `elementwiseAffine`. */
  readonly weight: Parameter | null;
  /** The per-element shift (`bias`), or null without `elementwiseAffine`. */
  readonly bias: Parameter | null;

  /**
   * @param opts - {@link LayerNormOptions}.
   * @throws {@link ValidationError} when an option is missing or malformed.
   */
  constructor(opts: LayerNormOptions) {
    super();
    const o = checkOptions('options', opts, LAYER_NORM_OPTION_KEYS);
    const ns = typeof o.normalizedShape === 'number' ? [o.normalizedShape] : o.normalizedShape;
    if (!Array.isArray(ns) || ns.length === 0) checkInteger('normalizedShape', o.normalizedShape, 1);
    this.normalizedShape = ns.map((d, i) => checkInteger(`normalizedShape[${i}]`, d, 1));
    this.eps = checkNumber('eps', o.eps ?? 1e-5, { min: 0 });
    const affine = checkBoolean('elementwiseAffine', o.elementwiseAffine ?? true);
    this.weight = affine ? Parameter.zeros(this.normalizedShape) : null;
    this.weight?.data.data.fill(1);
    this.bias = affine ? Parameter.zeros(this.normalizedShape) : null;
  }

  protected override ownParameters(): [string, Parameter][] {
    return this.weight && this.bias ? [['weight', this.weight], ['bias', this.bias]] : [];
  }

  /**
   * The input normalized over its trailing `normalizedShape` axes, then scaled and shifted.
   * @param input - A tensor whose trailing axes are `normalizedShape`.
   * @throws {@link ShapeError} when the trailing axes differ from `normalizedShape`.
   */
  forward(input: Tensor): Tensor {
    const x = checkTensor('input', input);
    const k = this.normalizedShape.length;
    const tail = x.shape.slice(x.rank - k);
    if (x.rank < k || tail.some((d, i) => d !== this.normalizedShape[i])) {
      throw new ShapeError(`Expected input of shape [..., ${this.normalizedShape.join(', ')}] for ${this.toString()} but received ${formatShape(x.shape)}`);
    }
    const n = shapeSize(this.normalizedShape);
    const rows = n === 0 ? 0 : x.size / n;
    const src = x.toFloat32Array();
    const xhat = new Float32Array(src.length);
    const rstd = new Float32Array(rows);
    const out = new Float32Array(src.length);
    const w = this.weight?.data.data, b = this.bias?.data.data;
    for (let r = 0; r < rows; r++) {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += src[r * n + i];
      mean /= n;
      let v = 0;
      for (let i = 0; i < n; i++) v += (src[r * n + i] - mean) ** 2;
      const s = 1 / Math.sqrt(v / n + this.eps);
      rstd[r] = s;
      for (let i = 0; i < n; i++) {
        const h = (src[r * n + i] - mean) * s;
        xhat[r * n + i] = h;
        out[r * n + i] = w && b ? h * w[i] + b[i] : h;
      }
    }
    const y = new Tensor(out, x.shape);
    const inputs = this.weight && this.bias ? [x, this.weight.data, this.bias.data] : [x];
    record('layerNorm', inputs, [y], ([g]) => {
      const gd = g!.toFloat32Array();
      const dx = new Float32Array(gd.length);
      const dw = w ? new Float32Array(n) : null, db = w ? new Float32Array(n) : null;
      for (let r = 0; r < rows; r++) {
        // dx = rstd · (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), ĝ = g·w
        let m1 = 0, m2 = 0;
        for (let i = 0; i < n; i++) {
          const gh = w ? gd[r * n + i] * w[i] : gd[r * n + i];
          m1 += gh;
          m2 += gh * xhat[r * n + i];
          if (dw && db) {
            dw[i] += gd[r * n + i] * xhat[r * n + i];
            db[i] += gd[r * n + i];
          }
        }
        m1 /= n;
        m2 /= n;
        for (let i = 0; i < n; i++) {
          const gh = w ? gd[r * n + i] * w[i] : gd[r * n + i];
          dx[r * n + i] = rstd[r] * (gh - m1 - xhat[r * n + i] * m2);
        }
      }
      const grads: (Tensor | null)[] = [new Tensor(dx, x.shape)];
      if (dw && db) grads.push(new Tensor(dw, this.normalizedShape), new Tensor(db, this.normalizedShape));
      return grads;
    });
    return y;
  }

  /** The constructor options, defaults applied, for `eddy.layerToConfig`. */
  toConfig(): LayerNormConfig {
    return { normalizedShape: this.normalizedShape.slice(), eps: this.eps, elementwiseAffine: this.weight !== null };
  }

  /**
   * Builds the layer from `toConfig()`'s output.
   * @param config - The layer's config.
   */
  static fromConfig(config: LayerNormConfig): LayerNorm {
    return new LayerNorm(config);
  }

  toString(): string {
    return `LayerNorm(normalizedShape=[${this.normalizedShape.join(', ')}]${this.weight ? '' : ', elementwiseAffine=false'})`;
  }
}

registerLayer<LayerNorm>('LayerNorm', {
  layerClass: LayerNorm,
  fromConfig: (c) => LayerNorm.fromConfig(c as never),
  // The gain and shift: 2 per normalized element, none without elementwiseAffine.
  parameterBound: (c) => (c.elementwiseAffine === false ? 0 : 2 * (Array.isArray(c.normalizedShape) ? c.normalizedShape.reduce((a: number, d) => a * Math.max(1, positive(d)), 1) : positive(c.normalizedShape))),
  perStep: true,
  // ONNX's LayerNormalization (opset 17) over the trailing axes; without affine parameters, a gain of 1 and a shift of 0.
  onnx: (layer, x, { graph, opset }) => {
    if ((opset ?? 17) < 17) throw onnxError(`ONNX has LayerNormalization from opset 17; ${layer.toString()} cannot be exported at opset ${opset}`);
    const k = layer.normalizedShape.length;
    const n = layer.normalizedShape.reduce((a, d) => a * d, 1);
    const y = k === 1 ? x : batchMajor(x, graph);
    const scale = graph.floats('ln_scale', layer.normalizedShape, layer.weight ? layer.weight.data.toFloat32Array() : new Float32Array(n).fill(1));
    const shift = graph.floats('ln_bias', layer.normalizedShape, layer.bias ? layer.bias.data.toFloat32Array() : new Float32Array(n));
    return { name: graph.op('LayerNormalization', [y.name, scale, shift], [onnxAttribute.int('axis', -k), onnxAttribute.float('epsilon', layer.eps)]), timeMajor: y.timeMajor };
  },
});
