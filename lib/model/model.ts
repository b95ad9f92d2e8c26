/**
 * Model: a module with `fit`, `evaluate` and `predict`. Sequential and
 * functional models derive from it.
 */
import { CheckpointState, saveCheckpoint } from '../io/checkpoint';
import { save, SaveOptions } from '../io/model-file';
import { Module } from '../nn/module';
import { Tensor } from '../tensor/tensor';
import { Data } from './batches';
import { Logs } from './callbacks';
import { CallContext } from './call';
import { evaluate, EvaluateOptions, fit, FitOptions, History, predict, PredictOptions } from './training';

export abstract class Model extends Module {
  /** Set by a callback (or early stopping) to end `fit` after the current epoch. */
  stopTraining = false;

  /**
   * Runs the model on a batch.
   * @param inputs - The input, or one tensor per input of a multi-input model.
   * @param ctx - {@link CallContext}: lengths and mode.
   */
  abstract forward(inputs: Tensor | readonly Tensor[], ctx?: CallContext): Tensor | Tensor[];

  /**
   * `forward` with the recurrent layers running on worker threads.
   * @param inputs - The input, or one tensor per input of a multi-input model.
   * @param ctx - {@link CallContext}: lengths and mode.
   */
  abstract forwardAsync(inputs: Tensor | readonly Tensor[], ctx?: CallContext): Promise<Tensor | Tensor[]>;

  /** Whether `forward` takes its inputs as an array (a model built with `inputs: [...]`), not one tensor. */
  protected get takesInputArray(): boolean {
    return false;
  }

  /**
   * How a graph calls this model when it sits in another graph as a layer:
   * the inputs as one array (a multi-input model) or one tensor, each with
   * the lengths its graph input carries.
   * @param inputs - The tensors reaching this model, one per input.
   * @param ctx - The outer call's context (its mode is kept).
   * @param inputLengths - The lengths each of `inputs` carries.
   */
  graphCall(inputs: Tensor[], ctx: CallContext, inputLengths?: readonly (Int32Array | undefined)[]): Tensor | Tensor[] {
    return this.forward(this.takesInputArray ? inputs : inputs[0], nestedContext(inputs, ctx, inputLengths));
  }

  /**
   * `graphCall` with the recurrent layers running on worker threads.
   * @param inputs - The tensors reaching this model, one per input.
   * @param ctx - The outer call's context (its mode is kept).
   * @param inputLengths - The lengths each of `inputs` carries.
   */
  graphCallAsync(inputs: Tensor[], ctx: CallContext, inputLengths?: readonly (Int32Array | undefined)[]): Promise<Tensor | Tensor[]> {
    return this.forwardAsync(this.takesInputArray ? inputs : inputs[0], nestedContext(inputs, ctx, inputLengths));
  }

  /** Whether any layer carries states from one call to the next (`stateful: true`). */
  get stateful(): boolean {
    for (const m of this.modules()) if (m !== this && (m as { stateful?: unknown }).stateful === true) return true;
    return false;
  }

  /** Forgets the carried states of every stateful layer. */
  resetStates(): void {
    for (const m of this.modules()) {
      const reset = (m as { resetStates?: () => void }).resetStates;
      if (m !== this && typeof reset === 'function') reset.call(m);
    }
  }

  /**
   * Trains the model; the numeric work runs off the main thread and each step yields to the event
   * loop.
   * @param data - Tensors `{ x, y, lengths }` (batched here) or an iterable of batches, such as an
   *   `eddy.data` pipeline.
   * @param opts - {@link FitOptions}; `loss` is required.
   * @returns The logged values per epoch.
   * @throws {@link ValidationError} when the data or an option is malformed.
   * @throws {@link NonFiniteError} when a loss or gradient is not finite and `onNonFinite` is
   *   'error'.
   * @throws {@link AbortError} when `signal` aborts.
   * @example
   * ```ts
   * const model = eddy.sequential([
   *   new eddy.LSTM({ inputSize: 1, hiddenSize: 32, batchFirst: true }),
   *   new eddy.SequencePooling({ mode: 'last' }),
   *   new eddy.Linear({ inFeatures: 32, outFeatures: 1 }),
   * ]);
   * const history = await model.fit({ x, y }, { loss: 'mse', epochs: 10, validationSplit: 0.1 });
   * ```
   */
  fit(data: Data, opts: FitOptions): Promise<History> {
    return fit(this, data, opts);
  }

  /**
   * Mean loss and metrics over `data`.
   * @param data - Tensors `{ x, y, lengths }` or an iterable of batches.
   * @param opts - {@link EvaluateOptions}; `loss` is required.
   * @example
   * ```ts
   * const { loss, accuracy } = await model.evaluate({ x, y }, { loss: 'crossEntropy', metrics: ['accuracy'] });
   * ```
   */
  evaluate(data: Data, opts: EvaluateOptions): Promise<Logs> {
    return evaluate(this, data, opts);
  }

  /**
   * Writes the model to a safetensors file, atomically (`eddy.load` reads it back).
   * @param path - The file to write.
   * @param opts - {@link SaveOptions}.
   * @throws {@link FileError} when the file cannot be written.
   */
  save(path: string, opts?: SaveOptions): Promise<void> {
    return save(this, path, opts);
  }

  /**
   * Writes a checkpoint — weights, optimizer state, epoch and step,
   * generators — that `fit({ resumeFrom })` continues exactly. Atomic: a
   * crash while saving leaves the previous file intact.
   * @param path - The file to write.
   * @param state - The optimizer, epoch, step, generators and schedule to save.
   * @throws {@link FileError} when the file cannot be written.
   */
  saveCheckpoint(path: string, state: Omit<CheckpointState, 'model'> = {}): Promise<void> {
    return saveCheckpoint(path, { ...state, model: this });
  }

  /**
   * Outputs for every row of `x`, computed in batches.
   * @param x - The inputs, or one tensor per input of a multi-input model.
   * @param opts - {@link PredictOptions}.
   * @example
   * ```ts
   * const y = await model.predict(x, { batchSize: 256 });
   * ```
   */
  predict(x: Tensor | Tensor[], opts?: PredictOptions): Promise<Tensor> {
    return predict(this, x, opts);
  }
}

/** The context a nested model runs with: the outer mode, and the lengths of its own inputs (shared, or one entry per input). */
function nestedContext(inputs: Tensor[], ctx: CallContext, inputLengths?: readonly (Int32Array | undefined)[]): CallContext {
  const out: CallContext = {};
  if (ctx.training !== undefined) out.training = ctx.training;
  const lengths = inputLengths ?? inputs.map(() => undefined);
  if (lengths.some((l) => l !== undefined)) out.lengths = inputs.length === 1 ? lengths[0] : lengths.map((l) => l ?? null);
  else if (ctx.lengths !== undefined) out.lengths = ctx.lengths;
  return out;
}
