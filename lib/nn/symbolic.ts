/**
 * Symbolic tensors for the functional API: `eddy.input()` makes one,
 * `layer.apply(x)` makes a node that will call the layer on whatever x
 * stands for, and `eddy.model({ inputs, outputs })` runs the graph.
 */
import type { Module } from './module';

let nextId = 0;

/** A layer call in a graph: the layer and the symbolic tensors it takes. */
export class GraphNode {
  readonly id = nextId++;

  constructor(
    readonly layer: Module,
    readonly inputs: readonly SymbolicTensor[],
  ) {}
}

/**
 * A placeholder for a tensor in a graph: a model input, or one output of a
 * layer call (`key` names a part of a layer's result — `h`, `c`, `weights`;
 * undefined means the main output).
 */
export class SymbolicTensor {
  readonly id = nextId++;

  constructor(
    /** The call that produces it; null for a model input. */
    readonly node: GraphNode | null,
    /** For model inputs: the shape of one example (no batch axis); null entries are free. */
    readonly shape: readonly (number | null)[] | null,
    readonly key?: string,
    readonly name?: string,
  ) {}

  /** Another named output of the same layer call, e.g. `lstm.apply(x).get('h')`. */
  get(key: string): SymbolicTensor {
    if (!this.node) throw new TypeError('A model input has no other outputs');
    return new SymbolicTensor(this.node, null, key);
  }

  toString(): string {
    if (!this.node) return `input${this.name ? ` "${this.name}"` : ''}`;
    return `${this.node.layer.toString()}${this.key ? `.${this.key}` : ''}`;
  }
}
