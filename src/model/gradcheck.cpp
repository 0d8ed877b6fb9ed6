#include "iclsweep/model/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace icl {

GradCheckResult check_gradients(const std::function<double()>& loss, const std::vector<GradTensor>& tensors,
                                const GradCheckOptions& o) {
  GradCheckResult r;
  for (const auto& t : tensors) {
    const std::size_t stride =
        (o.max_per_tensor == 0 || t.size <= o.max_per_tensor) ? 1 : (t.size + o.max_per_tensor - 1) / o.max_per_tensor;
    for (std::size_t i = 0; i < t.size; i += stride) {
      const double saved = t.values[i];
      t.values[i] = saved + o.step;
      const double up = loss();
      t.values[i] = saved - o.step;
      const double down = loss();
      t.values[i] = saved;
      const double numeric = (up - down) / (2 * o.step);
      const double analytic = t.grads[i];
      const double err = std::fabs(analytic - numeric) / std::max(std::fabs(analytic) + std::fabs(numeric), o.abs_floor);
      ++r.checked;
      if (err > r.max_rel_error || !std::isfinite(err)) {
        r.max_rel_error = std::isfinite(err) ? err : INFINITY;
        std::ostringstream s;
        s.precision(10);
        s << t.name << "[" << i << "]: analytic " << analytic << ", numeric " << numeric;
        r.worst = s.str();
      }
    }
  }
  return r;
}

}  // namespace icl
