#include "iclsweep/theory/bounds.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "iclsweep/core/error.hpp"
#include "param_access.hpp"

namespace icl {

using detail::theory_bool;
using detail::theory_int;
using detail::theory_real;
using detail::theory_value;

TheoryParams TheoryParams::from(const ParamMap& p) {
  TheoryParams t;
  t.version = theory_value(p, "theory.version") == "v1" ? TheoryVersion::V1 : TheoryVersion::V2;
  t.num_contexts = detail::theory_int32(p, "theory.num_contexts");
  t.num_classes = detail::theory_int32(p, "theory.num_classes");
  t.epsilon = theory_real(p, "theory.epsilon");
  t.B = theory_real(p, "theory.B");
  t.label_noise = theory_real(p, "theory.label_noise");
  if (theory_bool(p, "theory.compat_reference")) {
    t.flags = TheoryCompatFlags::reference();
  } else {
    t.flags.axis_natural_log = theory_bool(p, "theory.axis_natural_log");
    t.flags.entropy_uses_C = theory_bool(p, "theory.entropy_uses_C");
    t.flags.ic_lower_without_eps_term = theory_bool(p, "theory.ic_lower_without_eps_term");
  }
  t.validate();
  return t;
}

void TheoryParams::validate() const {
  if (num_contexts < 1) throw ParamError("theory.num_contexts", std::to_string(num_contexts), "must be >= 1");
  if (num_classes < 2) throw ParamError("theory.num_classes", std::to_string(num_classes), "must be >= 2");
  if (!(epsilon > 0.0 && epsilon * num_classes < 1.0))
    throw ParamError("theory.epsilon", format_real(epsilon),
                     "must satisfy 0 < eps < 1/C = " + format_real(1.0 / num_classes) + " (the floor leaves mass 1 - eps C to the contexts)");
  if (!(B >= 0.0)) throw ParamError("theory.B", format_real(B), "must be >= 0");
  if (!(label_noise >= 0.0 && label_noise < 1.0)) throw ParamError("theory.label_noise", format_real(label_noise), "must lie in [0, 1)");
}

// x ln x with the limit 0 at x = 0.
static double x_ln_x(double x) { return x > 0.0 ? x * std::log(x) : 0.0; }

double label_entropy(double label_noise, int num_classes, bool entropy_uses_C) {
  const double p = 1.0 - label_noise;
  const double q = label_noise / (num_classes - 1);
  const double spread = entropy_uses_C ? num_classes : num_classes - 1;
  return -x_ln_x(p) - spread * x_ln_x(q);
}

double binary_entropy(double p) { return -x_ln_x(p) - x_ln_x(1.0 - p); }

double iw_curve_v2(double entropy, int num_classes, double n_x) {
  return entropy + 0.5 * (num_classes - 1) * std::log(n_x) / n_x;
}
double iw_band_lower_v2(double entropy, int num_classes, double n_x) {
  return std::max(0.0, iw_curve_v2(entropy, num_classes, n_x) - 4096.0 / n_x);
}
double iw_band_upper_v2(double entropy, int num_classes, double n_x) {
  return iw_curve_v2(entropy, num_classes, n_x) + 4096.0 / n_x;
}
double iw_curve_v1(double n_x) { return binary_entropy(0.99) + 10.0 / std::sqrt(n_x); }

double ic_lower_v2(int k, int L, int C, double epsilon, double B, bool without_eps_term) {
  if (k == L) return -std::log(epsilon);  // every context irrelevant: p_y = eps exactly
  // Irrelevant softmax mass is smallest when relevant similarities are maximal: weight ratio e^{2 sqrt B}.
  const double irrelevant_weight = k / (k + (L - k) * std::exp(2.0 * std::sqrt(B)));
  // CE = -ln p_y >= 1 - p_y = (1 - eps C) * irrelevant_weight + eps (C - 1).
  return (1.0 - epsilon * C) * irrelevant_weight + (without_eps_term ? 0.0 : epsilon * (C - 1));
}
double ic_upper_v2(int k, int L, int C, double epsilon) {
  if (k == L) return -std::log(epsilon);
  // Uniform weights over contexts is the worst case for the relevant mass (L-k)/L.
  return -std::log((1.0 - epsilon * C) * (L - k) / static_cast<double>(L) + epsilon);
}
double ic_lower_v1(int k, int L) { return 2.0 * k / (k + (L - k) * std::exp(4.0)); }
double ic_upper_v1(int k, int L) {
  return k == L ? std::numeric_limits<double>::infinity() : std::log(static_cast<double>(L) / (L - k));
}

std::vector<double> theory_nx_grid(TheoryVersion version) {
  const int first = version == TheoryVersion::V2 ? 2 : 6, last = version == TheoryVersion::V2 ? 19 : 17;
  std::vector<double> grid;
  for (int j = first; j <= last; ++j) grid.push_back(std::ldexp(1.0, 2 * j));  // (2^j)^2
  return grid;
}

double theory_axis_coordinate(double n_x, bool natural_log) { return natural_log ? std::log(n_x) : std::log2(n_x); }

TheoryFigure theory_figure(const TheoryParams& t) {
  TheoryFigure f;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const bool v2 = t.version == TheoryVersion::V2;
  f.n_x = theory_nx_grid(t.version);
  f.iw_best = v2 ? label_entropy(t.label_noise, t.num_classes, t.flags.entropy_uses_C) : binary_entropy(0.99);
  for (double n : f.n_x) {
    f.x.push_back(theory_axis_coordinate(n, v2 && t.flags.axis_natural_log));
    f.iw_curve.push_back(v2 ? iw_curve_v2(f.iw_best, t.num_classes, n) : iw_curve_v1(n));
    f.iw_lower.push_back(v2 ? iw_band_lower_v2(f.iw_best, t.num_classes, n) : nan);
    f.iw_upper.push_back(v2 ? iw_band_upper_v2(f.iw_best, t.num_classes, n) : nan);
  }
  for (int k = 0; k < t.num_contexts; ++k) {
    f.ic_lower.push_back(v2 ? ic_lower_v2(k, t.num_contexts, t.num_classes, t.epsilon, t.B, t.flags.ic_lower_without_eps_term)
                            : ic_lower_v1(k, t.num_contexts));
    f.ic_upper.push_back(v2 ? ic_upper_v2(k, t.num_contexts, t.num_classes, t.epsilon) : ic_upper_v1(k, t.num_contexts));
  }
  f.ic_all_irrelevant = v2 ? -std::log(t.epsilon) : nan;
  const double max_ic_lower = *std::max_element(f.ic_lower.begin(), f.ic_lower.end());
  const double max_iw = *std::max_element(f.iw_curve.begin(), f.iw_curve.end());
  f.y_max = std::max(max_ic_lower, max_iw) + 0.1;
  return f;
}

ResultSchema theory_schema(const ParamMap& params) {
  const TheoryParams t = TheoryParams::from(params);
  const auto G = static_cast<std::int64_t>(theory_nx_grid(t.version).size());
  const std::int64_t L = t.num_contexts;
  const auto f64 = FieldType::Float64;
  ResultSchema s;
  s.fields = {
      {"theory/n_x", f64, {G}, "N_x grid (2^j)^2: training queries per input x", {}},
      {"theory/x", f64, {G}, "x coordinate: log2 N_x (ln N_x with theory.axis_natural_log, Q9)", {}},
      {"theory/iw_curve", f64, {G}, "IW loss curve (nats): v2 H + ((C-1)/2) ln N_x / N_x, v1 H2(0.99) + 10/sqrt(N_x)", {}},
      {"theory/iw_band_lower", f64, {G}, "IW band lower edge: curve - 4096/N_x clipped at 0 (v2; NaN for v1)", {}},
      {"theory/iw_band_upper", f64, {G}, "IW band upper edge: curve + 4096/N_x (v2; NaN for v1)", {}},
      {"theory/ic_lower", f64, {L}, "IC loss lower bound (nats) per k = 0..L-1 irrelevant contexts", {{"axis0", "k"}}},
      {"theory/ic_upper", f64, {L}, "IC loss upper bound (nats) per k = 0..L-1 irrelevant contexts", {{"axis0", "k"}}},
      {"theory/ic_all_irrelevant", f64, {}, "IC loss at k = L: ln(1/eps) exactly (v2; NaN for v1)", {}},
      {"theory/iw_best", f64, {}, "entropy H(y*) the IW curve falls to (nats)", {}},
      {"theory/y_limit", f64, {2}, "figure y-limits [-0.01, max(max_k IC lower, max IW) + 0.1]", {}},
  };
  return s;
}

PointRecord run_theory(const ParamMap& params) {
  const TheoryFigure f = theory_figure(TheoryParams::from(params));
  PointRecord r;
  r.set_vector("theory/n_x", f.n_x);
  r.set_vector("theory/x", f.x);
  r.set_vector("theory/iw_curve", f.iw_curve);
  r.set_vector("theory/iw_band_lower", f.iw_lower);
  r.set_vector("theory/iw_band_upper", f.iw_upper);
  r.set_vector("theory/ic_lower", f.ic_lower);
  r.set_vector("theory/ic_upper", f.ic_upper);
  r.set_scalar("theory/ic_all_irrelevant", f.ic_all_irrelevant);
  r.set_scalar("theory/iw_best", f.iw_best);
  r.set_vector("theory/y_limit", {f.y_min, f.y_max});
  return r;
}

}  // namespace icl
