/**
 * Row-invariant inference for feed-forward networks: a Sequential or
 * functional model built from Linear layers, layers that act on each row
 * alone (activations, dropout, layer norm) and merges (Add, Concatenate)
 * runs with its Linear layers on the packed GEMM (see linear-rows.ts). Every
 * row of the output is then bit-identical whatever rows share its batch,
 * so requests coalesced into one call get exactly what they would alone —
 * the default forecaster's lag network is such a model.
 */
import { pausingGrad } from '../autograd/grad-mode';
import { ShapeError, ValidationError } from '../errors';
import { ReLU } from '../layers/activations';
import { Linear } from '../layers/linear';
import { Add, Concatenate } from '../layers/merge';
import { callLayer, Layer, pick } from '../model/call';
import { GraphModel, TensorRef } from '../model/functional';
import { Sequential } from '../model/sequential';
import { actsPerStep } from '../nn/registry';
import { Tensor } from '../tensor/tensor';
import { describe, formatShape } from '../validate';
import { LinearRows } from './linear-rows';

interface RowNode {
  layer: Layer;
  linear: LinearRows | null;
  inputs: TensorRef[];
}

/** One value of the graph: `rows` rows of `width` numbers, row-major. */
interface Rows {
  data: Float32Array;
  width: number;
}

/** Whether each row of `layer`'s output depends on that row of its inputs alone, computed the same in any batch. */
function rowwise(layer: Layer): boolean {
  return layer instanceof Add || layer instanceof Concatenate || actsPerStep(layer);
}

/**
 * A feed-forward model run row by row: `run(x)` on [rows, features] gives
 * each row the same bits alone or in any batch, in any position, at any
 * thread count. The Linear weights are packed when it is made: later
 * changes to them are not seen (make a new one).
 * @example
 * ```ts
 * const net = new eddy.serving.RowModel(model);
 * const y = net.run(x); // [rows, outputs], row-invariant
 * ```
 */
export class RowModel {
  private readonly nodes: RowNode[];
  private readonly outputRef: TensorRef;

  /**
   * @param model - A Sequential or single-input, single-output functional model of Linear layers,
   *   per-row layers and merges.
   * @throws {@link ValidationError} when the model has another kind of layer (a recurrent one, say).
   */
  constructor(
    /** The model it runs. */
    readonly model: Sequential | GraphModel,
  ) {
    if (model instanceof Sequential) {
      this.nodes = model.layers.map((layer, i) => this.node(layer, [i === 0 ? { input: 0 } : { node: i - 1 }]));
      this.outputRef = { node: this.nodes.length - 1 };
    } else if (model instanceof GraphModel) {
      const config = model.toConfig();
      const layers = model.children().map(([, m]) => m as Layer);
      if (Array.isArray(config.inputs) || Array.isArray(config.outputs)) throw new ValidationError(`Expected a model with one input and one output for a RowModel but received ${model.toString()}`);
      this.nodes = config.nodes.map((n) => this.node(layers[n.layer], n.inputs));
      this.outputRef = config.outputs as TensorRef;
    } else {
      throw new ValidationError(`Expected a Sequential or functional model for model but received ${describe(model)}`);
    }
  }

  private node(layer: Layer, inputs: TensorRef[]): RowNode {
    if (!rowwise(layer) || inputs.some((ref) => 'key' in ref && ref.key !== undefined)) throw new ValidationError(`Expected Linear layers, per-row layers and merges for a RowModel but received ${layer.toString()}`);
    return { layer, inputs, linear: layer instanceof Linear ? new LinearRows(layer) : null };
  }

  /**
   * The model's output for rows x ([rows, features]); no gradients are recorded.
   * @param x - The input rows, [rows, features].
   * @throws {@link ShapeError} when x is not [rows, features].
   */
  run(x: Tensor): Tensor {
    if (!(x instanceof Tensor) || x.rank !== 2) throw new ShapeError(`Expected input rows [rows, features] for ${this.model.toString()} but received ${x instanceof Tensor ? formatShape(x.shape) : describe(x)}`);
    const m = x.shape[0];
    const input: Rows = { data: x.isContiguous() ? x.data.subarray(x.offset, x.offset + x.size) : x.toFloat32Array(), width: x.shape[1] };
    const values: Rows[] = [];
    const valueOf = (ref: TensorRef): Rows => ('input' in ref ? input : values[ref.node]);
    // Synchronous, so recording is paused by a counter: noGrad's async context would switch on
    // Node's promise hooks for the whole process, a cost on every promise a server makes.
    return pausingGrad(() => {
      for (const n of this.nodes) values.push(this.step(n, n.inputs.map(valueOf), m));
      const out = valueOf(this.outputRef);
      return out === input ? x : new Tensor(out.data, [m, out.width]);
    });
  }

  /**
   * One node on plain arrays. Linear, ReLU and Add (the lag network's layers) skip the
   * Tensor machinery, a large share of the cost at a few rows; they compute what the
   * layers compute, rounding each sum to float32 as the ops do, so the bits are the same.
   */
  private step(n: RowNode, inputs: Rows[], m: number): Rows {
    const a = inputs[0];
    if (n.linear && a.width === n.linear.inFeatures) return { data: n.linear.run(a.data), width: n.linear.outFeatures };
    if (n.layer instanceof ReLU) {
      const out = new Float32Array(a.data.length);
      for (let i = 0; i < out.length; i++) out[i] = a.data[i] > 0 ? a.data[i] : 0;
      return { data: out, width: a.width };
    }
    if (n.layer instanceof Add && inputs.length >= 2 && inputs.every((v) => v.width === a.width)) {
      const out = a.data.slice();
      for (let k = 1; k < inputs.length; k++) {
        const b = inputs[k].data;
        for (let i = 0; i < out.length; i++) out[i] += b[i];
      }
      return { data: out, width: a.width };
    }
    const tensors = inputs.map((v) => new Tensor(v.data, [m, v.width]));
    const out = n.linear ? n.linear.forward(tensors[0]) : pick(callLayer(n.layer, tensors, { training: false }), n.layer);
    return { data: out.toFloat32Array(), width: m === 0 ? out.shape[out.rank - 1] : out.size / m };
  }
}
