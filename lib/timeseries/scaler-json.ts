/** Rebuilding any scaler from its stored JSON. */
import { FormatError } from '../errors';
import { describe } from '../validate';
import { MinMaxScaler } from './min-max-scaler';
import { Scaler } from './scaler';
import { StandardScaler } from './standard-scaler';

/**
 * A fitted StandardScaler or MinMaxScaler from `toJSON()`'s output (dispatching on `type`).
 * @param json - The output of a scaler's `toJSON()` (parsed).
 * @throws {@link FormatError} when `json` is malformed or of an unknown type.
 */
export function scalerFromJSON(json: unknown): Scaler {
  const type = json !== null && typeof json === 'object' ? (json as { type?: unknown }).type : undefined;
  if (type === 'StandardScaler') return StandardScaler.fromJSON(json);
  if (type === 'MinMaxScaler') return MinMaxScaler.fromJSON(json);
  throw new FormatError(`Expected a scaler JSON object with type "StandardScaler" or "MinMaxScaler" for json but received ${json !== null && typeof json === 'object' ? `type ${describe(type)}` : describe(json)}`);
}
