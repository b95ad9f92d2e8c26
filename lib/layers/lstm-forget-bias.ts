/**
 * Initialization that knows a layer class: the LSTM forget-gate bias.
 * `eddy.init` re-exports it beside the class-agnostic initializers of
 * `nn/init`, which know only parameters and shapes.
 */
import { ValidationError } from '../errors';
import { Module } from '../nn/module';
import { checkNumber, fail } from '../validate';
import { LSTM } from './recurrent';

/**
 * The LSTM forget-gate bias trick (Gers et al.; Jozefowicz et al.): in
 * every layer and direction of every LSTM in `module` (itself, or any
 * sub-module), sets the forget slice (rows H..2H; gates i, f, g, o) of
 * bias_ih to `value` and of bias_hh to 0, so the forget gate starts with a
 * total bias of `value`. Other gates' biases are left as they are.
 * @param module - An LSTM, or a module containing LSTMs.
 * @param value - The forget gate's total bias (1 when omitted).
 * @returns `module`.
 * @throws {@link ValidationError} when `module` holds no LSTM.
 */
export function lstmForgetBias<M extends Module>(module: M, value = 1): M {
  if (!(module instanceof Module)) fail('an LSTM or a module containing one', 'module', module);
  const v = checkNumber('value', value);
  const lstms: LSTM[] = [];
  const walk = (m: Module): void => {
    if (m instanceof LSTM) lstms.push(m);
    for (const [, child] of m.children()) walk(child);
  };
  walk(module);
  if (lstms.length === 0) throw new ValidationError(`Expected an LSTM or a module containing one for module but received ${module.toString()}`);
  for (const lstm of lstms) {
    if (!lstm.bias) throw new ValidationError(`Expected an LSTM with bias: true for lstmForgetBias but received ${lstm.toString()}`);
    const H = lstm.hiddenSize;
    for (const [name, p] of lstm.namedParameters()) {
      if (name.startsWith('bias_ih_l')) p.data.data.fill(v, p.data.offset + H, p.data.offset + 2 * H);
      if (name.startsWith('bias_hh_l')) p.data.data.fill(0, p.data.offset + H, p.data.offset + 2 * H);
    }
  }
  return module;
}
