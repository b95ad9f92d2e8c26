/**
 * Symbolic tensors for the functional API: `eddy.input()` makes one,
 * `layer.apply(x)` makes a node that will call the layer on whatever x
 * stands for, and `eddy.model({ inputs, outputs })` runs the graph.
 */
import type { Module } from './module';
import { ValidationError } from '../errors';

let nextId = 0;

/** A layer call in a graph: the layer and the symbolic tensors it takes. */
export class GraphNode {
  /** A unique number, for ordering. */
  readonly id = nextId++;

  constructor(
    /** The layer called. */
    readonly layer: Module,
    /** The symbolic tensors it is called on. */
    readonly inputs: readonly SymbolicTensor[],
  ) {}
}

/**
 * A placeholder for a tensor in a graph: a model input, or one output of a
 * layer call (`key` names a part of a layer's result — `h`, `c`, `weights`;
 * undefined means the main output).
 */
export class SymbolicTensor {
  /** A unique number, for ordering. */
  readonly id = nextId++;

  constructor(
    /** The call that produces it; null for a model input. */
    readonly node: GraphNode | null,
    /** For model inputs: the shape of one example (no batch axis); null entries are free. */
    readonly shape: readonly (number | null)[] | null,
    /**
     * The named part of the layer's result (`h`, `c`, `weights`); undefined for the main output.
     */
    readonly key?: string,
    /** A model input's name, for messages. */
    readonly name?: string,
  ) {}

  /**
   * Another named output of the same layer call, e.g. `lstm.apply(x).get('h')`.
   * @param key - The part's name.
   * @throws {@link ValidationError} when this is a model input, which has no other parts.
   */
  get(key: string): SymbolicTensor {
    if (!this.node) {
      throw new ValidationError(`Expected a layer's output for get("${key}") but received ${this.toString()}, which has no other parts`);
    }
    return new SymbolicTensor(this.node, null, key);
  }

  /** The input's name, or the layer and the part, for messages. */
  toString(): string {
    if (!this.node) return `input${this.name ? ` "${this.name}"` : ''}`;
    return `${this.node.layer.toString()}${this.key ? `.${this.key}` : ''}`;
  }
}
