/**
 * The CTC recursions for one sequence, in log space (Graves et al., 2006;
 * the same formulation as PyTorch's CPU kernel).
 *
 * Alignments run over the extended label sequence
 *   l' = (blank, l_1, blank, l_2, …, l_L, blank),   S = 2L + 1 states.
 * alpha_t(s) sums the probabilities of prefixes of length t + 1 ending in
 * state s, beta_t(s) those of suffixes from t starting in s; both include
 * the emission lp(t, l'_s), so alpha_t(s) + beta_t(s) counts it twice.
 * A state is entered from itself, from s - 1, or from s - 2 when l'_s is a
 * label different from l'_{s-2} (a repeated label needs a blank between).
 */

/** One sequence's log-probabilities: lp(t, c) is data[offset + t·stride + c], for t < steps. */
export interface Emissions {
  data: Float32Array;
  offset: number;
  stride: number;
  steps: number;
}

/** log(e^a + e^b) without overflow; -Infinity stands for probability 0. */
export function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** The extended sequence l' for `labels`. */
export function extendLabels(labels: ArrayLike<number>, blank: number): Int32Array {
  const ext = new Int32Array(2 * labels.length + 1).fill(blank);
  for (let i = 0; i < labels.length; i++) ext[2 * i + 1] = labels[i];
  return ext;
}

/** Fills alpha (steps × S, row-major) and returns log p(labels | x). */
export function ctcAlpha(alpha: Float64Array, e: Emissions, ext: Int32Array): number {
  const S = ext.length;
  const { data, offset, stride, steps } = e;
  if (steps === 0) return S === 1 ? 0 : -Infinity;
  for (let s = 0; s < S; s++) alpha[s] = s < 2 ? data[offset + ext[s]] : -Infinity;
  for (let t = 1; t < steps; t++) {
    const row = t * S;
    const prev = row - S;
    const lp = offset + t * stride;
    for (let s = 0; s < S; s++) {
      let v = alpha[prev + s];
      if (s > 0) v = logAdd(v, alpha[prev + s - 1]);
      if (s > 1 && ext[s] !== ext[s - 2]) v = logAdd(v, alpha[prev + s - 2]);
      alpha[row + s] = v === -Infinity ? v : v + data[lp + ext[s]];
    }
  }
  const last = (steps - 1) * S;
  return S > 1 ? logAdd(alpha[last + S - 1], alpha[last + S - 2]) : alpha[last];
}

/** Fills beta (steps × S, row-major), the mirror image of ctcAlpha. */
export function ctcBeta(beta: Float64Array, e: Emissions, ext: Int32Array): void {
  const S = ext.length;
  const { data, offset, stride, steps } = e;
  if (steps === 0) return;
  const last = (steps - 1) * S;
  for (let s = 0; s < S; s++) beta[last + s] = s >= S - 2 ? data[offset + (steps - 1) * stride + ext[s]] : -Infinity;
  for (let t = steps - 2; t >= 0; t--) {
    const row = t * S;
    const next = row + S;
    const lp = offset + t * stride;
    for (let s = 0; s < S; s++) {
      let v = beta[next + s];
      if (s < S - 1) v = logAdd(v, beta[next + s + 1]);
      if (s < S - 2 && ext[s] !== ext[s + 2]) v = logAdd(v, beta[next + s + 2]);
      beta[row + s] = v === -Infinity ? v : v + data[lp + ext[s]];
    }
  }
}

/**
 * Adds scale · d(-log p)/d lp(t, c) into grad (laid out like the
 * emissions) for t < steps: -exp(log Σ_{s: l'_s = c} alpha_t(s)·beta_t(s)
 * - lp(t, c) - log p). `sums` is scratch of length C.
 *
 * This is the gradient with respect to the log-probabilities themselves
 * (what a finite-difference check measures). PyTorch's kernel returns
 * this plus scale·exp(lp(t, c)): its gradient for logits behind a
 * log-softmax. Through log-softmax the two agree, because the extra term
 * sums to scale over each row and log-softmax's backward removes exactly
 * such a term.
 */
export function ctcGradient(
  grad: Float32Array,
  alpha: Float64Array,
  beta: Float64Array,
  e: Emissions,
  ext: Int32Array,
  logLikelihood: number,
  scale: number,
  sums: Float64Array,
): void {
  const S = ext.length;
  const { data, offset, stride, steps } = e;
  for (let t = 0; t < steps; t++) {
    sums.fill(-Infinity);
    for (let s = 0; s < S; s++) sums[ext[s]] = logAdd(sums[ext[s]], alpha[t * S + s] + beta[t * S + s]);
    const lp = offset + t * stride;
    for (let c = 0; c < sums.length; c++) {
      // Classes no alignment visits at t get 0, unless p = 0 (then NaN, as in PyTorch).
      if (sums[c] === -Infinity && logLikelihood !== -Infinity) continue;
      grad[lp + c] -= scale * Math.exp(sums[c] - data[lp + c] - logLikelihood);
    }
  }
}
