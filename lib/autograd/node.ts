/**
 * A recorded operation: one node of the graph that backward() walks from
 * the outputs back to the leaves.
 */
import type { Tensor } from '../tensor/tensor';

/**
 * The backward of an op: one upstream gradient per output (null when that
 * output received none) to one gradient per input (null for none).
 * @param gradOutputs - One upstream gradient per output of the op, or null.
 * @returns One gradient per input of the op, or null.
 */
export type BackwardFn = (gradOutputs: (Tensor | null)[]) => (Tensor | null)[];

/**
 * The same on a worker thread, for ops whose backward is long (the recurrent layers).
 * @param gradOutputs - One upstream gradient per output of the op, or null.
 * @returns A promise of one gradient per input of the op, or null.
 */
export type AsyncBackwardFn = (gradOutputs: (Tensor | null)[]) => Promise<(Tensor | null)[]>;

/** Where the gradient of one input goes: into a leaf's `grad`, or on to the node that produced it. */
export type Edge =
  | {
      /** The gradient goes into a leaf. */
      readonly kind: 'leaf';
      /** The leaf whose `grad` receives it. */
      readonly tensor: Tensor;
    }
  | {
      /** The gradient goes on to an earlier op. */
      readonly kind: 'node';
      /** The op that produced the input. */
      readonly node: GradNode;
      /** Which of that op's outputs the input is. */
      readonly index: number;
    };

/**
 * A recorded operation: the node of the autograd graph that a tensor's `gradFn` points at. Made by
 * {@link record}; user code reads it (name, edges) but rarely builds one.
 */
export class GradNode {
  /** The op's name, for error messages. */
  readonly name: string;
  /** Shapes of the op's inputs: the gradients its backward returns must match them. */
  readonly inputShapes: readonly (readonly number[])[];
  /** How many outputs the op produced (the length of the gradient list its backward receives). */
  readonly outputCount: number;
  /** Per input: where its gradient goes, or null when the input does not require grad. */
  private edgeList: readonly (Edge | null)[];
  private fn: BackwardFn | null;
  private asyncFn: AsyncBackwardFn | null;
  private onFree: (() => void) | null;
  /**
   * Whether the gradients the backward returns are new tensors, a distinct one per input, over
   * whole buffers nothing else holds: backward then hands them to the leaves as they are instead of
   * copying them.
   */
  readonly freshGradients: boolean;

  /**
   * @param name - The op's name, for error messages.
   * @param inputShapes - The shapes of the op's inputs.
   * @param outputCount - How many outputs the op produced.
   * @param edges - Per input: where its gradient goes, or null.
   * @param fn - The op's backward.
   * @param onFree - Called once when the node is freed (to hand back saved buffers).
   * @param asyncFn - The op's backward on a worker thread, when it has one.
   * @param freshGradients - Whether the backward's gradients are new tensors nothing else holds.
   */
  constructor(
    name: string,
    inputShapes: readonly (readonly number[])[],
    outputCount: number,
    edges: readonly (Edge | null)[],
    fn: BackwardFn,
    onFree: (() => void) | null = null,
    asyncFn: AsyncBackwardFn | null = null,
    freshGradients = false,
  ) {
    this.name = name;
    this.inputShapes = inputShapes;
    this.outputCount = outputCount;
    this.edgeList = edges;
    this.fn = fn;
    this.onFree = onFree;
    this.asyncFn = asyncFn;
    this.freshGradients = freshGradients;
  }

  /** Per input: where its gradient goes, or null when the input does not require grad. */
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

  /**
   * Whether the node was freed (after a backward without `retainGraph`); a freed node cannot run
   * again.
   */
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
