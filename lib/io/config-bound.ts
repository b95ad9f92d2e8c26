/**
 * A lower bound on the number of parameters a layer config asks for,
 * computed from the JSON alone, before any layer is built. A file whose
 * config would allocate more weights than the file holds is lying, and
 * building it first could allocate gigabytes (a config claiming
 * `hiddenSize: 100000` is 40 bytes of JSON); the loader checks this bound
 * against the file's tensors and refuses before constructing anything.
 *
 * The bounds leave out biases and normalization gains, so they never
 * exceed what a valid model holds. Unknown (user-registered) classes count
 * zero beyond their nested layers: their numbers are only capped.
 */

type Json = unknown;

function num(v: Json): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
}

function isObject(v: Json): v is Record<string, Json> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Weights without biases of a (possibly stacked, bidirectional) recurrent layer. */
function recurrentBound(c: Record<string, Json>, gates: number): number {
  const input = num(c.inputSize);
  const hidden = num(c.hiddenSize);
  const layers = Math.max(1, num(c.numLayers));
  const dirs = c.bidirectional === true ? 2 : 1;
  return dirs * gates * hidden * (input + hidden) + (layers - 1) * dirs * gates * hidden * (dirs * hidden + hidden);
}

const OWN_BOUNDS: Record<string, (c: Record<string, Json>) => number> = {
  RNN: (c) => recurrentBound(c, 1),
  LSTM: (c) => recurrentBound(c, 4),
  GRU: (c) => recurrentBound(c, 3),
  Linear: (c) => num(c.inFeatures) * num(c.outFeatures),
  Embedding: (c) => num(c.numEmbeddings) * num(c.embeddingDim),
  AdditiveAttention: (c) => (num(c.querySize) + num(c.keySize) + 1) * num(c.hiddenSize),
  GeneralAttention: (c) => num(c.querySize) * num(c.keySize),
  LayerNorm: (c) => (c.elementwiseAffine === false ? 0 : 2 * (Array.isArray(c.normalizedShape) ? c.normalizedShape.reduce((a: number, d) => a * Math.max(1, num(d)), 1) : num(c.normalizedShape))),
};

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
    const own = Object.prototype.hasOwnProperty.call(OWN_BOUNDS, spec.className) ? OWN_BOUNDS[spec.className] : undefined;
    if (own) total += own(spec.config);
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
