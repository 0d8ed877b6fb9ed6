#include "iclsweep/theory/params.hpp"

namespace icl {

std::vector<ParamSpec> theory_param_specs() {
  using T = ParamType;
  return {
      // ---- §4.6 theory figure ----
      {"theory.version", T::String, "v2", "theory-figure recipe: v2 (paper v2/v3 formulas, default) or v1 (Oct 2024 draft)", {"v2", "v1"}},
      {"theory.num_contexts", T::Int, "8", "L: context pairs; panels k = 0..L-1 irrelevant contexts", {}, 1, 4096},
      {"theory.num_classes", T::Int, "10", "C: classes (C >= 2)", {}, 2, std::int64_t{1} << 20},
      {"theory.epsilon", T::Real, "0.001", "eps: floor of the IC predictor on every class; 0 < eps < 1/C", {}},
      {"theory.B", T::Real, "1", "similarity bound B >= 0: softmax weights differ by at most exp(2 sqrt(B))", {}},
      {"theory.label_noise", T::Real, "0.001", "label noise 1-p of y*(x), spread evenly over the C-1 other classes; [0,1)", {}},
      {"theory.axis_natural_log", T::Bool, "0", "Q9 compat: x = ln N_x instead of log2 N_x", {}},
      {"theory.entropy_uses_C", T::Bool, "0", "Q10 compat: entropy spread term uses C instead of C-1", {}},
      {"theory.ic_lower_without_eps_term", T::Bool, "0", "Q11 compat: IC lower bound without +eps(C-1)", {}},
      {"theory.compat_reference", T::Bool, "0", "sets the three Q9-Q11 compat flags (reproduces fake_plots.ipynb)", {}},
      // ---- §4.4 Algorithm 1 online simulation ----
      {"online.learner", T::String, "hedge", "no-regret learner of the gate alpha: hedge (exponentiated gradient, 2 experts) or ogd (projected OGD on [0,1])", {"hedge", "ogd"}},
      {"online.step_schedule", T::String, "sqrt_t", "gate step size eta_n = eta0/sqrt(n) (sqrt_t) or eta0 (fixed); n = rounds of that gate key", {"sqrt_t", "fixed"}},
      {"online.step_size", T::Real, "", "eta0 > 0; unset = theory-guided sqrt(8 ln 2)/R (hedge) or 1/R (ogd), R = ln(1/online.epsilon)", {}},
      {"online.temperature", T::Real, "1", "T > 0: IC similarity s_i = -|x_i - x_q|^2 / T (T = 1 with unit prototypes ~ B = 1)", {}},
      {"online.epsilon", T::Real, "0.001", "eps: floor of h on every class, h = (1-eps C) sum_i softmax_i onehot(y_i) + eps; 0 < eps < 1/C", {}},
      {"online.records", T::Int, "64", "number of record points along t (>= 2)", {}, 2, std::int64_t{1} << 20},
      {"online.record_spacing", T::String, "log", "record points log-spaced or evenly spaced in t", {"log", "linear"}},
      {"online.iw_key", T::String, "decoded", "what g and alpha are tabular over: decoded (nearest prototype of the noisy query; errs more as sigma grows) or true_class (idealised; sigma does not affect g)", {"decoded", "true_class"}},
  };
}

}  // namespace icl
