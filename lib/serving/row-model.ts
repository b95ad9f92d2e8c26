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
    const values: Tensor[] = [];
    const valueOf = (ref: TensorRef): Tensor => ('input' in ref ? x : values[ref.node]);
    // Synchronous, so recording is paused by a counter: noGrad's async context would switch on
    // Node's promise hooks for the whole process, a cost on every promise a server makes.
    return pausingGrad(() => {
      for (const n of this.nodes) {
        const inputs = n.inputs.map(valueOf);
        values.push(n.linear ? n.linear.forward(inputs[0]) : pick(callLayer(n.layer, inputs, { training: false }), n.layer));
      }
      return valueOf(this.outputRef);
    });
  }
}
