/**
 * Initial and final states of a whole model, the PyTorch way: `forward(x,
 * { states })` starts every recurrent layer from the given state (zeros
 * where none is given) and returns each one's final state, so a caller can
 * carry a stream across calls. States are keyed by the layer's path in the
 * model, the prefix of its parameters in the state dict (`'1'` for
 * `layers[1]` of a Sequential, `'0.forward_layer'` inside a wrapper).
 */
import { ValidationError } from '../errors';
import { LayerState, RecurrentLayer, StateCarrier, StepCache } from '../layers/recurrent';
import { Module } from '../nn/module';
import { Tensor } from '../tensor/tensor';
import { describe, fail } from '../validate';
import type { CallContext } from './call';

/** Each recurrent layer's state, by its path in the model. */
export type ModelStates = Record<string, LayerState>;

/** Every recurrent layer of `model` (itself included) with its path. */
export function recurrentLayerPaths(model: Module): Map<RecurrentLayer, string> {
  const paths = new Map<RecurrentLayer, string>();
  const walk = (m: Module, path: string): void => {
    if (m instanceof RecurrentLayer && !paths.has(m)) paths.set(m, path);
    for (const [name, child] of m.children()) walk(child, path === '' ? name : `${path}.${name}`);
  };
  walk(model, '');
  return paths;
}

/** Every step-decoding layer of `model` (one carrying a StepCache, `usesStepCache`) with its path. */
export function stepCacheLayerPaths(model: Module): Map<Module, string> {
  const paths = new Map<Module, string>();
  const walk = (m: Module, path: string): void => {
    if ((m as { usesStepCache?: unknown }).usesStepCache === true && !paths.has(m)) paths.set(m, path);
    for (const [name, child] of m.children()) walk(child, path === '' ? name : `${path}.${name}`);
  };
  walk(model, '');
  return paths;
}

/** Each step-decoding layer's cache, by its path in the model. */
export type ModelCaches = Record<string, StepCache>;

/** Collects final states while handing out the initial ones; built per call. */
export class StatesOfCall implements StateCarrier {
  private readonly finals = new Map<RecurrentLayer, LayerState>();
  private readonly cachePaths: Map<Module, string>;
  private readonly finalCaches = new Map<Module, StepCache>();
  private readonly initialCaches: ModelCaches;

  constructor(
    private readonly paths: Map<RecurrentLayer, string>,
    private readonly initials: ModelStates | null,
    private readonly model: Module,
    caches: ModelCaches | null = null,
  ) {
    this.cachePaths = stepCacheLayerPaths(model);
    if (caches !== null && (typeof caches !== 'object' || Array.isArray(caches))) {
      throw new ValidationError(`Expected an object of layer caches (or null to start afresh) for caches but received ${describe(caches)}`);
    }
    const cacheKeys = new Set(this.cachePaths.values());
    for (const [key, cache] of Object.entries(caches ?? {})) {
      if (!cacheKeys.has(key)) {
        throw new ValidationError(`Expected caches keyed by the step-decoding layers of ${model.toString()} (${[...cacheKeys].map((k) => `'${k}'`).join(', ') || 'none'}) but received a cache for '${key}'`);
      }
      if (cache === null || typeof cache !== 'object' || typeof (cache as StepCache).select !== 'function') fail('a cache from an earlier call', `caches['${key}']`, cache);
    }
    this.initialCaches = caches ?? {};
    if (initials === null) return;
    if (typeof initials !== 'object' || Array.isArray(initials)) {
      throw new ValidationError(`Expected an object of layer states (or null for zeros) for states but received ${describe(initials)}`);
    }
    const known = new Set(paths.values());
    for (const [key, state] of Object.entries(initials)) {
      if (!known.has(key)) {
        const list = [...known].map((k) => `'${k}'`).join(', ');
        throw new ValidationError(`Expected states keyed by the recurrent layers of ${model.toString()} (${list || 'none'}) but received a state for '${key}'`);
      }
      if (state === null || typeof state !== 'object' || !(state.h instanceof Tensor) || (state.c !== undefined && !(state.c instanceof Tensor))) {
        throw new ValidationError(`Expected { h: Tensor, c?: Tensor } for states['${key}'] but received ${describe(state)}`);
      }
    }
  }

  initial(layer: RecurrentLayer): LayerState | undefined {
    const path = this.paths.get(layer);
    return path === undefined || this.initials === null || !Object.prototype.hasOwnProperty.call(this.initials, path) ? undefined : this.initials[path];
  }

  final(layer: RecurrentLayer, state: LayerState): void {
    if (this.finals.has(layer)) {
      throw new ValidationError(`Expected each recurrent layer to run once per call to carry states, but ${layer.toString()} at '${this.paths.get(layer)}' of ${this.model.toString()} ran twice`);
    }
    this.finals.set(layer, state);
  }

  initialCache(layer: Module): StepCache | undefined {
    const path = this.cachePaths.get(layer);
    return path === undefined || !Object.prototype.hasOwnProperty.call(this.initialCaches, path) ? undefined : this.initialCaches[path];
  }

  finalCache(layer: Module, cache: StepCache): void {
    this.finalCaches.set(layer, cache);
  }

  /** The final caches by path, or undefined when the model has no step-decoding layer. */
  caches(): ModelCaches | undefined {
    if (this.cachePaths.size === 0) return undefined;
    const out: ModelCaches = {};
    for (const [layer, path] of this.cachePaths) {
      const cache = this.finalCaches.get(layer);
      if (cache) out[path] = cache;
    }
    return out;
  }

  /** The final states by path, in the model's layer order. */
  result(): ModelStates {
    const out: ModelStates = {};
    for (const [layer, path] of this.paths) {
      const state = this.finals.get(layer);
      if (state) out[path] = state.c ? { h: state.h, c: state.c } : { h: state.h };
    }
    return out;
  }
}

/** The `states` option of a model's forward. */
export interface WithStates {
  /** Initial state of each recurrent layer by path; missing layers (or null for all) start from zeros. */
  states: ModelStates | null;
  /**
   * The caches of step-decoding layers (a `TransformerDecoder`'s keys and
   * values, a `PositionalEncoding`'s next position) from an earlier call,
   * by path; missing layers (or null for all) start afresh. With `states`
   * or `caches` such layers run step by step and continue where the last
   * call ended, which is what token-by-token decoding needs. A cache is
   * extended in place by the call that continues it.
   * @default null
   */
  caches?: ModelCaches | null;
}

/** What a model's forward returns when given `states`. */
export interface OutputWithStates<O = Tensor> {
  /** The model's output, as without `states`. */
  output: O;
  /** The final state of every recurrent layer the call ran, by path. */
  states: ModelStates;
  /** The caches of the step-decoding layers, by path (models that have any). */
  caches?: ModelCaches;
}

/** Splits a forward's options into the layers' context and, when `states` was given, the carrier for this call. */
export function carryStates(model: Module, ctx: CallContext & Partial<WithStates>): { inner: CallContext; carrier?: StatesOfCall } {
  if (ctx === null || typeof ctx !== 'object' || (ctx.states === undefined && ctx.caches === undefined)) return { inner: ctx };
  const { states, caches, ...rest } = ctx;
  const carrier = new StatesOfCall(recurrentLayerPaths(model), states ?? null, model, caches ?? null);
  return { inner: { ...rest, carrier }, carrier };
}

/** A forward's result with the final states (and caches, for models with step-decoding layers) of the call. */
export function withStates<O>(output: O, carrier: StatesOfCall): OutputWithStates<O> {
  const caches = carrier.caches();
  return caches ? { output, states: carrier.result(), caches } : { output, states: carrier.result() };
}
