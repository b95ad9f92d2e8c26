/**
 * A lower bound on the number of parameters a layer config asks for,
 * computed from the JSON alone, before any layer is built (each class
 * declares its own: `parameterBound` in its registration). A file whose
 * config would allocate more weights than the file holds is lying, and
 * building it first could allocate gigabytes (a config claiming
 * `hiddenSize: 100000` is 40 bytes of JSON); the loader checks this bound
 * against the file's tensors and refuses before constructing anything.
 *
 * The bounds leave out biases and normalization gains, so they never
 * exceed what a valid model holds. Classes that declare no bound (user
 * layers may not) count zero beyond their nested layers: their numbers are
 * only capped.
 */

import { ConfigObject, registrationOf } from '../nn/registry';

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * The bound for a config tree: every `{ className, config }` found at any
 * depth contributes its own bound. Returns `Infinity` past `depthLimit`
 * (the registry rejects such configs anyway).
 */
export function parameterLowerBound(spec: Json, depth = 0): number {
  if (depth > 80) return Infinity;
  if (Array.isArray(spec)) return spec.reduce((a: number, v) => a + parameterLowerBound(v, depth + 1), 0);
  if (!isObject(spec)) return 0;
  let total = 0;
  if (typeof spec.className === 'string' && isObject(spec.config)) {
    const own = registrationOf(spec.className)?.parameterBound;
    if (own) total += own(spec.config as ConfigObject);
  }
  for (const key of Object.keys(spec)) total += parameterLowerBound(spec[key], depth + 1);
  return total;
}

/** The largest number anywhere in a config tree (sizes of unknown classes are capped by it). */
export function largestNumber(spec: Json, depth = 0): number {
  if (depth > 80) return Infinity;
  if (typeof spec === 'number') return Math.abs(spec);
  if (Array.isArray(spec)) return spec.reduce((a: number, v) => Math.max(a, largestNumber(v, depth + 1)), 0);
  if (!isObject(spec)) return 0;
  let m = 0;
  for (const key of Object.keys(spec)) m = Math.max(m, largestNumber(spec[key], depth + 1));
  return m;
}
