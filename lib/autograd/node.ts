/**
 * A recorded operation: one node of the graph that backward() walks from
 * the outputs back to the leaves.
 */
import type { Tensor } from '../tensor/tensor';

/**
 * The backward of an op: one upstream gradient per output (null when that
 * output received none) to one gradient per input (null for none).
 */
export type BackwardFn = (gradOutputs: (Tensor | null)[]) => (Tensor | null)[];

/** The same on a worker thread, for ops whose backward is long (the recurrent layers). */
export type AsyncBackwardFn = (gradOutputs: (Tensor | null)[]) => Promise<(Tensor | null)[]>;

/** Where the gradient of one input goes: into a leaf's `grad`, or on to the node that produced it. */
export type Edge =
  | { readonly kind: 'leaf'; readonly tensor: Tensor }
  | { readonly kind: 'node'; readonly node: GradNode; readonly index: number };

export class GradNode {
  /** The op's name, for error messages. */
  readonly name: string;
  /** Shapes of the op's inputs: the gradients its backward returns must match them. */
  readonly inputShapes: readonly (readonly number[])[];
  readonly outputCount: number;
  /** Per input: where its gradient goes, or null when the input does not require grad. */
  private edgeList: readonly (Edge | null)[];
  private fn: BackwardFn | null;
  private asyncFn: AsyncBackwardFn | null;
  private onFree: (() => void) | null;

  constructor(
    name: string,
    inputShapes: readonly (readonly number[])[],
    outputCount: number,
    edges: readonly (Edge | null)[],
    fn: BackwardFn,
    onFree: (() => void) | null = null,
    asyncFn: AsyncBackwardFn | null = null,
  ) {
    this.name = name;
    this.inputShapes = inputShapes;
    this.outputCount = outputCount;
    this.edgeList = edges;
    this.fn = fn;
    this.onFree = onFree;
    this.asyncFn = asyncFn;
  }

  get edges(): readonly (Edge | null)[] {
    return this.edgeList;
  }

  /** The op's backward; null once freed. */
  get backwardFn(): BackwardFn | null {
    return this.fn;
  }

  /** The op's backward on a worker thread, if it has one; null once freed. */
  get backwardAsyncFn(): AsyncBackwardFn | null {
    return this.asyncFn;
  }

  get freed(): boolean {
    return this.fn === null;
  }

  /**
   * Drops the backward closure (and with it the tensors the op saved) and
   * the edges to earlier nodes, so a finished graph can be collected while
   * its output tensors live on. Calls the op's `onFree` hook once: an op
   * that saved a reusable buffer (the recurrent workspaces) hands it back.
   */
  free(): void {
    this.fn = null;
    this.asyncFn = null;
    this.edgeList = [];
    const release = this.onFree;
    this.onFree = null;
    release?.();
  }
}
