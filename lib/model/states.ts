/**
 * Initial and final states of a whole model, the PyTorch way: `forward(x,
 * { states })` starts every recurrent layer from the given state (zeros
 * where none is given) and returns each one's final state, so a caller can
 * carry a stream across calls. States are keyed by the layer's path in the
 * model, the prefix of its parameters in the state dict (`'1'` for
 * `layers[1]` of a Sequential, `'0.forward_layer'` inside a wrapper).
 */
import { ValidationError } from '../errors';
import { LayerState, RecurrentLayer, StateCarrier } from '../layers/recurrent';
import { Module } from '../nn/module';
import { Tensor } from '../tensor/tensor';
import { describe } from '../validate';
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

/** Collects final states while handing out the initial ones; built per call. */
export class StatesOfCall implements StateCarrier {
  private readonly finals = new Map<RecurrentLayer, LayerState>();

  constructor(
    private readonly paths: Map<RecurrentLayer, string>,
    private readonly initials: ModelStates | null,
    private readonly model: Module,
  ) {
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
}

/** What a model's forward returns when given `states`. */
export interface OutputWithStates<O = Tensor> {
  /** The model's output, as without `states`. */
  output: O;
  /** The final state of every recurrent layer the call ran, by path. */
  states: ModelStates;
}

/** Splits a forward's options into the layers' context and, when `states` was given, the carrier for this call. */
export function carryStates(model: Module, ctx: CallContext & Partial<WithStates>): { inner: CallContext; carrier?: StatesOfCall } {
  if (ctx === null || typeof ctx !== 'object' || ctx.states === undefined) return { inner: ctx };
  const { states, ...rest } = ctx;
  const carrier = new StatesOfCall(recurrentLayerPaths(model), states, model);
  return { inner: { ...rest, carrier }, carrier };
}
