/**
 * The orthonormal factor of a QR factorization, for `init.orthogonal`.
 * Householder reflections rather than Gram–Schmidt: they stay orthogonal
 * to rounding error however ill-conditioned the random draw happens to be.
 */

/**
 * Q of the reduced QR of A (m×n, m ≥ n, row-major) by Householder
 * reflections in float64, with column j multiplied by sign(R_jj): the
 * unique Q for which R has a positive diagonal (torch.linalg.qr + the sign
 * fix in torch.nn.init.orthogonal_). Returned row-major, m×n.
 */
export function householderQ(a: Float64Array, m: number, n: number): Float64Array {
  const col = Array.from({ length: n }, (_, j) => Float64Array.from({ length: m }, (_, i) => a[i * n + j]));
  const reflectors: { v: Float64Array; vv: number }[] = [];
  const reflect = (v: Float64Array, vv: number, k: number, y: Float64Array): void => {
    if (vv === 0) return;
    let dot = 0;
    for (let i = k; i < m; i++) dot += v[i] * y[i];
    const f = (2 * dot) / vv;
    for (let i = k; i < m; i++) y[i] -= f * v[i];
  };
  const sign = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const x = col[k];
    let norm = 0;
    for (let i = k; i < m; i++) norm += x[i] * x[i];
    norm = Math.sqrt(norm);
    // alpha = −sign(x_k)·‖x‖ avoids cancellation in v = x − alpha·e_k.
    const alpha = x[k] > 0 ? -norm : norm;
    const v = new Float64Array(m);
    for (let i = k; i < m; i++) v[i] = x[i];
    v[k] -= alpha;
    let vv = 0;
    for (let i = k; i < m; i++) vv += v[i] * v[i];
    for (let j = k; j < n; j++) reflect(v, vv, k, col[j]);
    sign[k] = col[k][k] < 0 ? -1 : 1;
    reflectors.push({ v, vv });
  }
  // Q = H_0 · … · H_{n−1} applied to the first n columns of the identity.
  const q = new Float64Array(m * n);
  for (let j = 0; j < n; j++) {
    const e = new Float64Array(m);
    e[j] = 1;
    for (let k = n - 1; k >= 0; k--) reflect(reflectors[k].v, reflectors[k].vv, k, e);
    for (let i = 0; i < m; i++) q[i * n + j] = e[i] * sign[j];
  }
  return q;
}
