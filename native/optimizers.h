// Fused parameter updates, one pass over each tensor, following PyTorch's
// single-tensor update rules operation for operation (float32 tensor
// arithmetic, scalar factors computed in double as Python does).
#pragma once

#include <cstddef>
#include <cstdint>

namespace eddy {

struct SgdArgs {
  double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
  bool first_step = false;  // the momentum buffer starts as a copy of the gradient
};
// buf: momentum buffer, or null when momentum is 0.
void sgd_step(float* p, const float* g, float* buf, size_t n, const SgdArgs& a);

struct AdamArgs {
  double lr = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool decoupled = false;  // AdamW: decay the weights, not the gradient
  int64_t step = 1;        // 1 on the first update
};
// vmax: running maximum of v (AMSGrad), or null.
void adam_step(float* p, const float* g, float* m, float* v, float* vmax, size_t n, const AdamArgs& a);

struct RmspropArgs {
  double lr = 0, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0;
};
// gavg: running mean of the gradient (centered), or null; buf: momentum buffer, or null.
void rmsprop_step(float* p, const float* g, float* sq, float* gavg, float* buf, size_t n, const RmspropArgs& a);

struct AdagradArgs {
  double lr = 0, lr_decay = 0, weight_decay = 0, eps = 1e-10;
  int64_t step = 1;
};
void adagrad_step(float* p, const float* g, float* sum, size_t n, const AdagradArgs& a);

}  // namespace eddy
