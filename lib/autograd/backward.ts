/**
 * Reverse-mode backward over the recorded graph, like
 * `torch.autograd.backward`.
 *
 * Nodes run in a topological order (Kahn's algorithm: a node runs once
 * every node that feeds it a gradient has run), found with explicit stacks
 * so graphs of 10^5 nodes need no deep recursion. Gradients arriving at the
 * same output are summed first, so each node's backward runs once.
 */
import { EddyError, ShapeError, ValidationError } from '../errors';
import { addInto, sameShape, zip } from '../tensor/strided';
import { Tensor } from '../tensor/tensor';
import { checkBoolean, checkOptions, describe, fail, formatShape, optionKeys } from '../validate';
import { noGrad, pausingGrad } from './grad-mode';
import { GradNode } from './node';

/** The options of {@link backward} and {@link backwardAsync}. */
export interface BackwardOptions {
  /** Keep the graph so that backward can run through it again. @default false */
  retainGraph?: boolean;
  /**
   * Called during the walk as soon as a leaf's gradient from this backward
   * is complete (no node left to add to it), with that gradient — not
   * counting what `leaf.grad` held before — which must not be modified. In
   * the same order for the same graph. Data-parallel training starts a
   * gradient's all-reduce here, while the rest of backward runs.
   * @default none
   * @param leaf - The leaf tensor whose gradient is complete.
   * @param grad - Its gradient from this backward (read-only).
   */
  onGradReady?: (leaf: Tensor, grad: Tensor) => void;
}

/** The keys of BackwardOptions, for checkOptions. */
export const BACKWARD_OPTION_KEYS = optionKeys<BackwardOptions>({ retainGraph: true, onGradReady: true });

type GradReady = NonNullable<BackwardOptions['onGradReady']>;

interface Root {
  tensor: Tensor;
  grad: Tensor;
}

/**
 * Adds to the `grad` of every leaf that `tensors` were computed from the
 * gradient of `sum_i <tensors[i], gradTensors[i]>`. A gradient may be
 * omitted (or null) only for a one-element tensor, where it is 1. Frees the
 * graph unless `opts.retainGraph`.
 * @param tensors - The outputs to differentiate (the roots of the walk).
 * @param gradTensors - One upstream gradient per tensor, shaped like it; null or omitted for a
 *   one-element tensor (then 1).
 * @param opts - {@link BackwardOptions}.
 * @throws {@link ShapeError} when a gradient's shape differs from its tensor's.
 * @throws {@link ValidationError} when an argument or option is malformed.
 * @example
 * ```ts
 * const w = eddy.tensor([1, 2, 3]).requiresGrad_();
 * eddy.backward([eddy.sum(eddy.mul(w, w))]);
 * w.grad!.toArray(); // [2, 4, 6]
 * ```
 */
export function backward(tensors: readonly Tensor[], gradTensors?: readonly (Tensor | null | undefined)[], opts?: BackwardOptions): void {
  const { roots, retainGraph, onGradReady } = checkArguments(tensors, gradTensors, opts);
  run(roots, retainGraph, onGradReady);
}

/** Validates backward's arguments: the roots with their upstream gradients, and the options. */
function checkArguments(
  tensors: readonly Tensor[],
  gradTensors: readonly (Tensor | null | undefined)[] | undefined,
  opts: BackwardOptions | undefined,
): { roots: Root[]; retainGraph: boolean; onGradReady: GradReady | null } {
  if (!Array.isArray(tensors)) fail('an array of tensors', 'tensors', tensors);
  if (gradTensors !== undefined) {
    if (!Array.isArray(gradTensors)) fail('an array of tensors or nulls', 'gradTensors', gradTensors);
    if (gradTensors.length !== tensors.length) {
      throw new ValidationError(
        `Expected ${tensors.length} gradients for gradTensors (one per tensor) but received an array of length ${gradTensors.length}`,
      );
    }
  }
  const { retainGraph, onGradReady } = readOptions(opts);
  const roots = tensors.map((t, i) => checkRoot(`tensors[${i}]`, t, `gradTensors[${i}]`, gradTensors?.[i]));
  return { roots, retainGraph, onGradReady };
}

/** `tensor.backward(grad, opts)`: the same, with names that fit a method. */
export function backwardFrom(tensor: Tensor, grad?: Tensor | null, opts?: BackwardOptions): void {
  const { retainGraph, onGradReady } = readOptions(opts);
  run([checkRoot('backward()', tensor, 'grad', grad)], retainGraph, onGradReady);
}

function readOptions(opts: BackwardOptions | undefined): { retainGraph: boolean; onGradReady: GradReady | null } {
  const options = checkOptions('opts', opts, BACKWARD_OPTION_KEYS);
  const retainGraph = options.retainGraph === undefined ? false : checkBoolean('opts.retainGraph', options.retainGraph);
  if (options.onGradReady !== undefined && typeof options.onGradReady !== 'function') fail('a function', 'opts.onGradReady', options.onGradReady);
  return { retainGraph, onGradReady: options.onGradReady ?? null };
}

function checkRoot(name: string, t: unknown, gradName: string, grad: unknown): Root {
  if (!(t instanceof Tensor)) fail('Tensor', name, t);
  if (!t.requiresGrad) {
    throw new ValidationError(
      `Expected a tensor that requires grad for ${name} but received one that does not (create the tensors it is computed from with { requiresGrad: true })`,
    );
  }
  if (grad === undefined || grad === null) {
    if (t.size !== 1) {
      throw new ShapeError(
        `Expected a gradient of shape ${formatShape(t.shape)} for ${gradName} but received ${describe(grad)} (only one-element tensors have an implicit gradient of 1)`,
      );
    }
    return { tensor: t, grad: new Tensor(Float32Array.of(1), t.shape) };
  }
  if (!(grad instanceof Tensor)) fail('Tensor or null', gradName, grad);
  if (!sameShape(grad.shape, t.shape)) {
    throw new ShapeError(`Expected a gradient of shape ${formatShape(t.shape)} for ${gradName} but received shape ${formatShape(grad.shape)}`);
  }
  return { tensor: t, grad };
}

/**
 * Sums of incoming gradients. A gradient that arrives alone is kept as it
 * is (it may be the user's tensor or a view another node also holds);
 * adding a second one allocates a new tensor, which later additions may then
 * update in place because nothing else can see it — until it is handed to a
 * backward, which may return it as the gradient of several inputs (add
 * does), so `release` gives up that right.
 */
class GradientSums {
  private readonly owned = new Set<Tensor>();

  release(g: Tensor): void {
    this.owned.delete(g);
  }

  /** Takes `g` as this walk's own: a new tensor from a backward that promised so (`freshGradients`). */
  adopt(g: Tensor): void {
    this.owned.add(g);
  }

  add(previous: Tensor | null | undefined, g: Tensor): Tensor {
    if (!previous) return g;
    if (this.owned.has(previous)) {
      addInto(previous, g);
      return previous;
    }
    // A copy of previous plus g: the same float sums as zip, in one native pass when large.
    let sum: Tensor;
    if (sameShape(previous.shape, g.shape)) {
      sum = new Tensor(previous.toFloat32Array(), previous.shape);
      addInto(sum, g);
    } else {
      sum = new Tensor(zip(previous, g, previous.shape, (x, y) => x + y), previous.shape);
    }
    this.owned.add(sum);
    return sum;
  }

  /** `g` as a tensor the caller may keep and mutate: `g` itself if this made it, otherwise a copy. */
  fresh(g: Tensor): Tensor {
    return this.owned.has(g) ? g : new Tensor(g.toFloat32Array(), g.shape);
  }
}

/** What the walk asks its driver for: run a node's backward off the main thread, or a chance to yield. */
type Request = { kind: 'async'; node: GradNode; grads: (Tensor | null)[] } | { kind: 'tick' };

/**
 * The backward walk. Synchronous backwards run inline; with `useAsync`,
 * nodes that have an async backward are handed to the driver (which sends
 * back their input gradients), and the driver gets a `tick` after every
 * node so it can let the event loop run.
 */
function* walk(roots: Root[], retainGraph: boolean, useAsync: boolean, onGradReady: GradReady | null): Generator<Request, void, (Tensor | null)[] | undefined> {
  const sums = new GradientSums();
  const leafGrads = new Map<Tensor, Tensor>();
  // Per node, the summed gradient of each of its outputs so far.
  const pending = new Map<GradNode, (Tensor | null)[]>();
  const addToNode = (node: GradNode, index: number, g: Tensor): void => {
    let slots = pending.get(node);
    if (!slots) pending.set(node, (slots = new Array<Tensor | null>(node.outputCount).fill(null)));
    slots[index] = sums.add(slots[index], g);
  };

  const starts: GradNode[] = [];
  for (const { tensor, grad } of roots) {
    if (tensor.gradFn === null) {
      leafGrads.set(tensor, sums.add(leafGrads.get(tensor), grad));
    } else {
      addToNode(tensor.gradFn, tensor.outputIndex, grad);
      starts.push(tensor.gradFn);
    }
  }
  const waiting = countConsumers(starts);
  // Per leaf, the nodes yet to run that have an edge to it (only when someone listens).
  const leafWaiting = new Map<Tensor, number>();
  if (onGradReady) {
    for (const node of waiting.keys()) {
      for (const edge of node.edges) if (edge !== null && edge.kind === 'leaf') leafWaiting.set(edge.tensor, (leafWaiting.get(edge.tensor) ?? 0) + 1);
    }
  }

  const ready = [...new Set(starts)].filter((node) => waiting.get(node) === 0);
  while (ready.length > 0) {
    const node = ready.pop() as GradNode;
    const grads = pending.get(node);
    pending.delete(node);
    grads?.forEach((g) => g && sums.release(g));
    let inputGrads: (Tensor | null)[] | null = null;
    if (grads) {
      if (useAsync && node.backwardAsyncFn) {
        const dense = grads.map((g) => (g === null ? null : g.contiguous()));
        inputGrads = checkResult(node, yield { kind: 'async', node, grads: dense });
      } else {
        inputGrads = callBackward(node, grads);
      }
    }
    node.edges.forEach((edge, i) => {
      if (edge === null) return;
      const g = inputGrads ? inputGrads[i] : null;
      if (edge.kind === 'leaf') {
        if (g) {
          const previous = leafGrads.get(edge.tensor);
          if (!previous && node.freshGradients) sums.adopt(g);
          leafGrads.set(edge.tensor, sums.add(previous, g));
        }
        if (onGradReady) {
          const left = (leafWaiting.get(edge.tensor) as number) - 1;
          leafWaiting.set(edge.tensor, left);
          const done = leafGrads.get(edge.tensor);
          if (left === 0 && done) onGradReady(edge.tensor, done);
        }
        return;
      }
      if (g) addToNode(edge.node, edge.index, g);
      const left = (waiting.get(edge.node) as number) - 1;
      waiting.set(edge.node, left);
      if (left === 0) ready.push(edge.node);
    });
    // Freed as we go, so saved activations are released during backward.
    if (!retainGraph) node.free();
    if (useAsync) yield { kind: 'tick' };
  }

  // Leaves get new tensors (never the caller's gradTensors or a buffer some
  // node also handed elsewhere) and only after every node has run, so a
  // failing backward leaves all `grad`s as they were.
  for (const [leaf, g] of leafGrads) {
    // onGradReady's listener was promised g as this step's gradient: adding an earlier grad goes into a copy.
    const total = leaf.grad !== null && onGradReady ? new Tensor(g.toFloat32Array(), g.shape) : sums.fresh(g);
    if (leaf.grad !== null) addInto(total, leaf.grad);
    leaf.grad = total;
  }
}

function run(roots: Root[], retainGraph: boolean, onGradReady: GradReady | null = null): void {
  pausingGrad(() => {
    const steps = walk(roots, retainGraph, false, onGradReady);
    while (!steps.next().done);
  });
}

/** Longest stretch of synchronous backward work before yielding to the event loop. */
const YIELD_AFTER_MS = 5;

async function runAsync(roots: Root[], retainGraph: boolean, onGradReady: GradReady | null): Promise<void> {
  await noGrad(async () => {
    const steps = walk(roots, retainGraph, true, onGradReady);
    let since = performance.now();
    let step = steps.next();
    while (!step.done) {
      const request = step.value;
      if (request.kind === 'async') {
        const fn = request.node.backwardAsyncFn as NonNullable<GradNode['backwardAsyncFn']>;
        step = steps.next(await fn(request.grads));
        since = performance.now();
        continue;
      }
      if (performance.now() - since > YIELD_AFTER_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        since = performance.now();
      }
      step = steps.next();
    }
  });
}

/**
 * `backward` that keeps the event loop responsive: ops with a native
 * backward (the recurrent layers) run it on a worker thread, and the rest
 * of the walk yields to the event loop every few milliseconds. Same
 * arguments and result; resolves when every `grad` is filled in. Do not
 * change the graph's tensors while it runs.
 * @param tensors - The outputs to differentiate (the roots of the walk).
 * @param gradTensors - One upstream gradient per tensor, as for {@link backward}.
 * @param opts - {@link BackwardOptions}.
 * @throws {@link ShapeError} when a gradient's shape differs from its tensor's (as a rejection).
 * @throws {@link ValidationError} when an argument or option is malformed (as a rejection).
 */
export async function backwardAsync(tensors: readonly Tensor[], gradTensors?: readonly (Tensor | null | undefined)[], opts?: BackwardOptions): Promise<void> {
  const { roots, retainGraph, onGradReady } = checkArguments(tensors, gradTensors, opts);
  await runAsync(roots, retainGraph, onGradReady);
}

/**
 * For every node reachable from `starts`, the number of edges from other
 * reachable nodes into it: how many gradients it waits for. Throws before
 * anything runs if part of the graph was already freed.
 */
function countConsumers(starts: readonly GradNode[]): Map<GradNode, number> {
  const waiting = new Map<GradNode, number>();
  const stack: GradNode[] = [];
  for (const node of starts) {
    if (!waiting.has(node)) {
      waiting.set(node, 0);
      stack.push(node);
    }
  }
  while (stack.length > 0) {
    const node = stack.pop() as GradNode;
    if (node.freed) {
      throw new EddyError(
        `The graph through ${node.name} was already freed by an earlier backward(); pass { retainGraph: true } to that call to run backward through it again`,
        'ERR_EDDY_GRAPH_FREED',
      );
    }
    for (const edge of node.edges) {
      if (edge === null || edge.kind !== 'node') continue;
      const count = waiting.get(edge.node);
      if (count === undefined) stack.push(edge.node);
      waiting.set(edge.node, (count ?? 0) + 1);
    }
  }
  return waiting;
}

/** Runs one node's backward on contiguous gradients and checks what it returns. */
function callBackward(node: GradNode, grads: (Tensor | null)[]): (Tensor | null)[] {
  const fn = node.backwardFn as NonNullable<GradNode['backwardFn']>;
  return checkResult(node, fn(grads.map((g) => (g === null ? null : g.contiguous()))));
}

/** Checks the gradients a node's backward returned: one per input, each shaped like it. */
function checkResult(node: GradNode, result: unknown): (Tensor | null)[] {
  const shapes = node.inputShapes;
  if (!Array.isArray(result) || result.length !== shapes.length) {
    throw new EddyError(`Expected the backward of ${node.name} to return ${shapes.length} gradients (one per input) but it returned ${describe(result)}`);
  }
  result.forEach((g, i) => {
    if (g === null) return;
    if (!(g instanceof Tensor)) {
      throw new EddyError(`Expected the backward of ${node.name} to return a Tensor or null for input ${i} but it returned ${describe(g)}`);
    }
    if (!sameShape(g.shape, shapes[i])) {
      throw new EddyError(
        `Expected the backward of ${node.name} to return a gradient of shape ${formatShape(shapes[i])} for input ${i} but it returned shape ${formatShape(g.shape)}`,
      );
    }
  });
  return result;
}
