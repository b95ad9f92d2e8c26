/**
 * Optimizer: parameter groups, per-parameter state, and the step loop. Each
 * subclass supplies one fused native update per parameter tensor.
 */
import { ValidationError } from '../errors';
import { Parameter } from '../nn/parameter';
import { denseData, Tensor } from '../tensor/tensor';
import { checkNumber, checkOptions, describe, fail } from '../validate';

/** What an optimizer accepts as a parameter: a module's Parameter or a leaf tensor that requires grad. */
export type ParamLike = Parameter | Tensor;

/** A parameter group: its parameters, plus hyperparameters that override the optimizer's defaults. */
export type ParamGroupInput<O> = Partial<O> & {
  /** The parameters of this group. */
  params: Iterable<ParamLike>;
};

/** A group as the optimizer keeps it; `lr` is what learning-rate schedules change. */
export type ParamGroup<O> = O & {
  /** The group's parameters (their data tensors). */
  params: Tensor[];
  /** The lr schedules start from (PyTorch's `initial_lr`). */
  initialLr?: number;
};

/** Per-parameter state: a step count and named buffers shaped like the parameter. */
export interface ParamState {
  /** Updates applied to this parameter. */
  step: number;
  /** The optimizer's buffers for it (e.g. `exp_avg`), by name. */
  buffers: Record<string, Float32Array>;
}

/** Optimizer state for checkpoints: parameters are referred to by their position across groups. */
export interface OptimizerStateDict {
  /** Per-parameter state, keyed by the parameter's position across groups. */
  state: Record<number, ParamState>;
  /** Each group's hyperparameters (without its parameters). */
  paramGroups: Record<string, unknown>[];
}

function toTensor(p: unknown, where: string): Tensor {
  const t = p instanceof Parameter ? p.data : p;
  if (!(t instanceof Tensor)) fail('Parameter or Tensor', where, p);
  if (t.gradFn !== null) throw new ValidationError(`Expected a leaf tensor for ${where} but received the output of ${t.gradFn.name}`);
  if (!t.isContiguous()) throw new ValidationError(`Expected a contiguous tensor for ${where} but received a view of shape [${t.shape.join(', ')}]`);
  return t;
}

/** The base of the optimizers: parameter groups, per-parameter state, `step`, `zeroGrad` and state dicts. */
export abstract class Optimizer<O extends { lr: number }> {
  /** The parameter groups, each with its hyperparameters; schedules change their `lr`. */
  readonly paramGroups: ParamGroup<O>[] = [];
  protected readonly state = new Map<Tensor, ParamState>();
  private readonly kind: string;

  /**
   * `defaults` holds every hyperparameter of the optimizer, so its keys are
   * the known keys of `opts` and of each parameter group.
   */
  protected constructor(kind: string, params: Iterable<ParamLike> | ParamGroupInput<O>[], defaults: O, opts: Partial<O> | undefined) {
    this.kind = kind;
    const known = Object.keys(defaults);
    defaults = { ...defaults, ...checkOptions('options', opts, known) };
    const list = params === null || typeof params !== 'object' || !(Symbol.iterator in params) ? fail('an iterable of parameters or parameter groups', 'params', params) : Array.from(params as Iterable<unknown>);
    const isGroups = list.length > 0 && list.every((g) => g !== null && typeof g === 'object' && !(g instanceof Parameter) && !(g instanceof Tensor) && 'params' in (g as object));
    const groups = (isGroups ? list : [{ params: list }]) as ParamGroupInput<O>[];
    const seen = new Set<Tensor>();
    groups.forEach((g, gi) => {
      const tensors = Array.from(g.params ?? fail('an iterable of parameters', `params[${gi}].params`, g.params), (p, i) => toTensor(p, `params[${isGroups ? `${gi}].params[` : ''}${i}]`));
      for (const t of tensors) {
        if (seen.has(t)) throw new ValidationError(`Expected each parameter once but received one twice (in group ${gi})`);
        seen.add(t);
      }
      if (isGroups) checkOptions(`params[${gi}]`, g, [...known, 'params']);
      const { params: _params, ...overrides } = g;
      const group = { ...defaults, ...overrides, params: tensors } as ParamGroup<O>;
      this.validate(group, isGroups ? `params[${gi}]` : 'options');
      group.initialLr = group.lr;
      this.paramGroups.push(group);
    });
    if (seen.size === 0) throw new ValidationError(`Expected at least one parameter for ${kind} but received none`);
  }

  /** Updates every parameter that has a gradient. */
  step(): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (!p.grad) continue;
        let st = this.state.get(p);
        if (!st) this.state.set(p, (st = { step: 0, buffers: {} }));
        st.step += 1;
        this.update(denseData(p), denseData(p.grad), group, st);
      }
    }
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const group of this.paramGroups) for (const p of group.params) p.grad = null;
  }

  /** A copy of the state (buffers, step counts, group hyperparameters) for checkpoints. */
  stateDict(): OptimizerStateDict {
    const state: OptimizerStateDict['state'] = {};
    const paramGroups: Record<string, unknown>[] = [];
    let index = 0;
    for (const group of this.paramGroups) {
      const { params, ...hyper } = group;
      const ids: number[] = [];
      for (const p of params) {
        const st = this.state.get(p);
        if (st) {
          const buffers: Record<string, Float32Array> = {};
          for (const [k, v] of Object.entries(st.buffers)) buffers[k] = v.slice();
          state[index] = { step: st.step, buffers };
        }
        ids.push(index++);
      }
      paramGroups.push({ ...hyper, params: ids });
    }
    return { state, paramGroups };
  }

  /**
   * Restores `stateDict()` output; the groups must hold the same number of parameters of the same
   * sizes.
   * @param sd - A state dict from `stateDict()`.
   * @throws {@link ValidationError} when the state dict does not match the optimizer's groups.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const { groups, restored } = this.readStateDict(sd);
    groups.forEach((g, i) => (this.paramGroups[i] = g));
    this.state.clear();
    for (const [p, st] of restored) this.state.set(p, st);
  }

  /**
   * Checks a state dict as `loadStateDict` would, changing nothing.
   * @param sd - A state dict from `stateDict()`.
   * @throws {@link ValidationError} when the state dict does not match the optimizer's groups.
   */
  checkStateDict(sd: OptimizerStateDict): void {
    this.readStateDict(sd);
  }

  /** The groups and per-parameter state a state dict holds, all checked. */
  private readStateDict(sd: OptimizerStateDict): { groups: ParamGroup<O>[]; restored: Map<Tensor, ParamState> } {
    if (sd === null || typeof sd !== 'object' || !Array.isArray(sd.paramGroups) || typeof sd.state !== 'object') {
      fail('an optimizer state dict ({ state, paramGroups })', 'state', sd);
    }
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new ValidationError(`Expected ${this.paramGroups.length} parameter groups in the state dict for ${this.kind} but received ${sd.paramGroups.length}`);
    }
    const all = this.paramGroups.flatMap((g) => g.params);
    const restored = new Map<Tensor, ParamState>();
    for (const [key, entry] of Object.entries(sd.state)) {
      const p = all[Number(key)];
      if (!p) throw new ValidationError(`Unexpected parameter index ${key} in the state dict for ${this.kind} (it has ${all.length} parameters)`);
      const buffers: Record<string, Float32Array> = {};
      for (const [name, buf] of Object.entries(entry.buffers ?? {})) {
        if (!(buf instanceof Float32Array) || buf.length !== p.size) {
          throw new ValidationError(`Expected Float32Array of length ${p.size} for state ${key}.${name} but received ${describe(buf)}`);
        }
        buffers[name] = buf.slice();
      }
      restored.set(p, { step: checkNumber(`state ${key}.step`, entry.step, { min: 0 }), buffers });
    }
    const groups = sd.paramGroups.map((g, i) => {
      const { params: ids, ...hyper } = g as { params: unknown };
      if (!Array.isArray(ids) || ids.length !== this.paramGroups[i].params.length) {
        throw new ValidationError(`Expected ${this.paramGroups[i].params.length} parameters in group ${i} of the state dict for ${this.kind}`);
      }
      const merged = { ...this.paramGroups[i], ...hyper, params: this.paramGroups[i].params } as ParamGroup<O>;
      this.validate(merged, `paramGroups[${i}]`);
      return merged;
    });
    return { groups, restored };
  }

  /** Checks a group's hyperparameters; `where` names the group in messages. */
  protected abstract validate(group: ParamGroup<O>, where: string): void;

  /** One fused update of parameter p (in place) from its gradient g. */
  protected abstract update(p: Float32Array, g: Float32Array, group: ParamGroup<O>, state: ParamState): void;

  /** The named state buffer, created as zeros (or `init`) on first use. */
  protected buffer(state: ParamState, name: string, size: number, init = 0): Float32Array {
    let b = state.buffers[name];
    if (!b) state.buffers[name] = b = init === 0 ? new Float32Array(size) : new Float32Array(size).fill(init);
    return b;
  }
}

/** Validation helper for hyperparameters: `Expected … for lr (in options) but received …`. */
export function checkHyper(where: string, name: string, value: unknown, opts: { min?: number; max?: number; maxExclusive?: boolean } = {}): number {
  const { min = 0, max = Infinity, maxExclusive = false } = opts;
  const ok = typeof value === 'number' && Number.isFinite(value) && value >= min && (maxExclusive ? value < max : value <= max);
  if (!ok) {
    const range = max === Infinity ? `number >= ${min}` : `number in [${min}, ${max}${maxExclusive ? ')' : ']'}`;
    throw new ValidationError(`Expected ${range} for ${name} (in ${where}) but received ${describe(value)}`);
  }
  return value as number;
}
