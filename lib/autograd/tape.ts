/**
 * The tape: how operations record themselves for reverse-mode autograd.
 *
 * Every differentiable op (the elementwise ops, matmul, the recurrent
 * layers) computes its outputs eagerly and then calls `record()` with a
 * closure that maps output gradients to input gradients. Nothing is recorded
 * when grad mode is off or no input requires grad, so inference pays one
 * check per op.
 */
import { EddyError } from '../errors';
import { Tensor, checkTensor } from '../tensor/tensor';
import { fail } from '../validate';
import { isGradEnabled } from './grad-mode';
import { AsyncBackwardFn, BackwardFn, Edge, GradNode } from './node';

export { GradNode } from './node';
export type { AsyncBackwardFn, BackwardFn, Edge } from './node';
export { isGradEnabled, noGrad } from './grad-mode';
export { backward, backwardAsync } from './backward';
export type { BackwardOptions } from './backward';

/**
 * Records an op whose `outputs` were computed from `inputs`, if grad mode is
 * on and some input requires grad: the outputs then require grad and point
 * at a new GradNode.
 *
 * Contract for `backward`: it receives one gradient per output, each
 * shaped like that output and contiguous (though possibly at a non-zero
 * offset into shared storage), or null when the output got no
 * gradient (treat it as zeros); it is called only when at least one is not
 * null, with recording off, and at most once unless the graph is retained.
 * It must not modify the gradients it receives (they may be shared), and
 * returns one gradient per input shaped like that input (any layout; it may
 * return a received gradient or a view of one), or null for none. Inputs
 * that do not require grad may get null; whatever they get is ignored.
 * Outputs must be new tensors, not any of the inputs. `opts.onFree` runs
 * once when the graph is freed after a backward without retainGraph (not
 * when an unused graph is garbage-collected). `opts.backwardAsync`, the
 * same computation off the main thread, is what `backwardAsync()` uses.
 * `opts.freshGradients` promises that every gradient either backward
 * returns is a new tensor over a whole new buffer, a distinct one per input,
 * that nothing else holds: a parameter's gradient is then handed to its
 * `grad` as it is, where otherwise it is copied (a step's worth of copies
 * for a large recurrent layer).
 * @param name - The op's name, for error messages.
 * @param inputs - The tensors the op read.
 * @param outputs - The new tensors the op computed from them.
 * @param backward - Maps output gradients to input gradients (see the contract above).
 * @param opts - `onFree`, run once when the graph is freed; `backwardAsync`, the same backward off
 *   the main thread; `freshGradients`, the promise above.
 * @throws {@link ValidationError} when an argument is malformed.
 * @throws {@link EddyError} when an output already requires grad or is one of the inputs.
 */
export function record(
  name: string,
  inputs: readonly Tensor[],
  outputs: readonly Tensor[],
  backward: BackwardFn,
  opts: { onFree?: () => void; backwardAsync?: AsyncBackwardFn; freshGradients?: boolean } = {},
): void {
  if (typeof name !== 'string') fail('string', 'name', name);
  if (!Array.isArray(inputs)) fail('an array of tensors', 'inputs', inputs);
  if (!Array.isArray(outputs)) fail('an array of tensors', 'outputs', outputs);
  if (typeof backward !== 'function') fail('a function', 'backward', backward);
  if (!isGradEnabled()) return;
  let needed = false;
  for (let i = 0; i < inputs.length; i++) if (checkTensor(`inputs[${i}]`, inputs[i]).requiresGrad) needed = true;
  if (!needed) return;
  outputs.forEach((out, i) => {
    // An output that already requires grad (or is an input) would get a
    // second gradFn, or become a non-leaf behind the user's back, and could
    // make the graph cyclic.
    if (checkTensor(`outputs[${i}]`, out).requiresGrad || inputs.includes(out)) {
      throw new EddyError(`record(${name}): outputs[${i}] is an input or already part of a graph; an op must return new Tensor objects`);
    }
  });
  const node = new GradNode(name, inputs.map((t) => t.shape), outputs.length, inputs.map(edgeTo), backward, opts.onFree ?? null, opts.backwardAsync ?? null, opts.freshGradients === true);
  outputs.forEach((out, i) => {
    out.requiresGrad = true;
    out.gradFn = node;
    out.outputIndex = i;
  });
}

/** `record()` for an op with one output, whose backward therefore always gets a gradient. */
export function recordSingleOutput(name: string, inputs: readonly Tensor[], output: Tensor, backward: (grad: Tensor) => (Tensor | null)[]): void {
  record(name, inputs, [output], (grads) => backward(grads[0] as Tensor));
}

function edgeTo(t: Tensor): Edge | null {
  if (!t.requiresGrad) return null;
  return t.gradFn === null ? { kind: 'leaf', tensor: t } : { kind: 'node', node: t.gradFn, index: t.outputIndex };
}
