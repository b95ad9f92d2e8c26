/**
 * How containers call their layers: every layer gets the input(s) and a
 * context with the batch's sequence lengths and the call's mode; whatever
 * it returns is reduced to the tensor the next layer sees (a recurrent
 * layer's output sequence, an attention layer's context vectors).
 */
import { EddyError } from '../errors';
import type { StateCarrier } from '../layers/recurrent';
import { CALL_CONTEXT_KEYS, Module } from '../nn/module';
import { optionKeys } from '../validate';
import { Tensor } from '../tensor/tensor';
import type { ModelLengths } from './lengths';

/** Passed as the last argument of every layer call inside a model. */
export interface CallContext {
  /**
   * Length of each sequence in the batch, for layers that mask padding. A
   * functional model also takes one entry per input (see `model/lengths.ts`)
   * and hands each layer the lengths of its own input.
   */
  lengths?: ModelLengths;
  /**
   * Training mode for this call, passed to every layer (`fit` passes true,
   * `predict` and `evaluate` false), so a model can train and predict at
   * the same time without touching its `training` flag.
   * @default each layer's own `training` flag
   */
  training?: boolean;
  /** Hands initial states to the recurrent layers a model calls and collects their final ones (see `model/states.ts`). */
  carrier?: StateCarrier;
}

/** A module that can sit in a model: anything with a forward method. */
export interface Layer extends Module {
  /**
   * Computes the layer's output.
   * @param args - The layer's inputs, then its call options.
   */
  forward(...args: never[]): unknown;
}

export function isLayer(value: unknown): value is Layer {
  return value instanceof Module && typeof (value as { forward?: unknown }).forward === 'function';
}

/** A layer whose graph inputs do not map one-to-one onto forward's arguments (recurrent layers take h0, c0). */
interface GraphCallable {
  /** `inputLengths`: the lengths each graph input carries (a transformer decoder masks its memory with the second's). */
  graphCall(inputs: Tensor[], ctx: CallContext, inputLengths?: readonly (Int32Array | undefined)[]): unknown;
}

/** Calls a layer on inputs plus the context (and, for layers with a graphCall, the lengths of each input). */
export function callLayer(layer: Layer, inputs: Tensor[], ctx: CallContext, inputLengths?: readonly (Int32Array | undefined)[]): unknown {
  const custom = (layer as unknown as Partial<GraphCallable>).graphCall;
  if (typeof custom === 'function') return custom.call(layer, inputs, ctx, inputLengths);
  const forward = layer.forward as (...args: unknown[]) => unknown;
  return forward.call(layer, ...inputs, layerOptions(ctx));
}

/** The options object a layer's forward gets: the context's lengths and mode, when set. */
function layerOptions(ctx: CallContext): CallContext {
  const out: CallContext = {};
  if (ctx.lengths !== undefined) out.lengths = ctx.lengths;
  if (ctx.training !== undefined) out.training = ctx.training;
  return out;
}

/** `callLayer`, awaiting layers that can run off the main thread (`forwardAsync`, `graphCallAsync`). */
export async function callLayerAsync(layer: Layer, inputs: Tensor[], ctx: CallContext, inputLengths?: readonly (Int32Array | undefined)[]): Promise<unknown> {
  const l = layer as unknown as { graphCallAsync?: GraphCallable['graphCall']; graphCall?: unknown; forwardAsync?: (...args: unknown[]) => Promise<unknown> };
  if (typeof l.graphCallAsync === 'function') return l.graphCallAsync.call(layer, inputs, ctx, inputLengths);
  if (typeof l.forwardAsync === 'function' && typeof l.graphCall !== 'function') return l.forwardAsync.call(layer, ...inputs, layerOptions(ctx));
  return callLayer(layer, inputs, ctx, inputLengths);
}

/** The tensor a layer's result stands for, or one of its named parts (`h`, `weights`, …). */
export function pick(result: unknown, layer: Layer, key?: string): Tensor {
  if (result instanceof Tensor && key === undefined) return result;
  if (result !== null && typeof result === 'object') {
    const obj = result as Record<string, unknown>;
    const name = key ?? ('output' in obj ? 'output' : 'context' in obj ? 'context' : undefined);
    if (name !== undefined && obj[name] instanceof Tensor) return obj[name] as Tensor;
    if (key !== undefined) {
      throw new EddyError(`${layer.toString()} returned no output named "${key}" (it has ${Object.keys(obj).join(', ')})`);
    }
  }
  throw new EddyError(`${layer.toString()} returned no tensor a following layer could take`);
}

// CallContext and the key list layers accept must name the same keys.
if (optionKeys<CallContext>({ lengths: true, training: true, carrier: true }).join() !== CALL_CONTEXT_KEYS.join()) {
  throw new Error('CALL_CONTEXT_KEYS (nn/module.ts) differs from CallContext');
}
