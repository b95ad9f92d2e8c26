// Layer normalization of single rows, for the layer-normalized cells:
// y = γ ⊙ x̂ + β with x̂ = (x − mean(x)) / sqrt(var(x) + eps), biased variance.
#pragma once

namespace eddy {

constexpr float kLayerNormEps = 1e-5f;

// y may alias x. Saves x̂ and 1/sqrt(var + eps) when xhat/rstd are given.
void ln_forward_row(float* y, float* xhat, float* rstd, const float* x, const float* gamma, const float* beta, int n);

// dx = rstd · (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)) with ĝ = dy ⊙ γ. dx may alias dy.
void ln_backward_row(float* dx, const float* dy, const float* xhat, float rstd, const float* gamma, int n);

}  // namespace eddy
