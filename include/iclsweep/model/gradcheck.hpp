#pragma once
// Finite-difference gradient checker (double precision), written once and used for every layer and
// for whole models: central differences (f(θ+h) − f(θ−h)) / 2h of a scalar loss against the analytic
// gradient, entry by entry, reporting the worst relative error
//   |analytic − numeric| / max(|analytic| + |numeric|, abs_floor).
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace icl {

struct GradTensor {
  std::string name;
  double* values;         // perturbed in place (restored afterwards)
  const double* grads;    // analytic gradient, same length
  std::size_t size;
};

struct GradCheckResult {
  double max_rel_error = 0;
  std::string worst;      // "name[index]: analytic a, numeric n"
  std::size_t checked = 0;
};

struct GradCheckOptions {
  double step = 1e-6;
  double abs_floor = 1e-7;        // gradients below this are compared absolutely
  std::size_t max_per_tensor = 0; // 0 = every entry; else an evenly strided sample of that many
};

// loss(): recomputes the scalar loss from the current values (must not touch the grads buffers).
GradCheckResult check_gradients(const std::function<double()>& loss, const std::vector<GradTensor>& tensors,
                                const GradCheckOptions& options = {});

}  // namespace icl
