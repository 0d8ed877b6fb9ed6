#define BOOST_TEST_MODULE theory_bounds
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <vector>

#include "iclsweep/core/error.hpp"
#include "iclsweep/data/params.hpp"
#include "iclsweep/theory/bounds.hpp"
#include "iclsweep/theory/params.hpp"

using namespace icl;

// The spec's tables are printed to 5 decimals, so a correct value is within 5e-6 of them.
constexpr double kTol = 1e-5;

static ParamRegistry theory_registry() {
  ParamRegistry r;
  r.add(data_param_specs());
  r.add(theory_param_specs());
  return r;
}

static void check_close(const std::vector<double>& got, const std::vector<double>& want, double tol, const char* what) {
  BOOST_TEST_REQUIRE(got.size() == want.size(), what << ": size " << got.size() << " != " << want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    BOOST_TEST(std::abs(got[i] - want[i]) < tol, what << "[" << i << "] = " << got[i] << ", spec " << want[i]);
}

// Pads a spec row written as "a, b, ..., then v" out to the grid size.
static std::vector<double> then_repeat(std::vector<double> head, double tail, std::size_t n) {
  while (head.size() < n) head.push_back(tail);
  return head;
}

BOOST_AUTO_TEST_CASE(v2_correct_columns_match_spec_tables) {
  const auto reg = theory_registry();
  const auto params = ParamMap::defaults(reg);
  const TheoryFigure f = theory_figure(TheoryParams::from(params));

  BOOST_TEST(std::abs(f.iw_best - 0.0101045) < 1e-7);
  std::vector<double> log2_nx;
  for (int j = 2; j <= 19; ++j) log2_nx.push_back(2.0 * j);
  check_close(f.x, log2_nx, 1e-12, "x = log2 N_x");
  BOOST_TEST(f.n_x.front() == 16.0);
  BOOST_TEST(f.n_x.back() == std::ldexp(1.0, 38));
  check_close(f.iw_curve,
              then_repeat({0.78990, 0.30253, 0.10758, 0.04057, 0.01924, 0.01277, 0.01087, 0.01032, 0.01016, 0.01012,
                           0.01011, 0.01011},
                          0.01010, 18),
              kTol, "IW curve (correct)");
  check_close(f.ic_lower, {0.00900, 0.02778, 0.05173, 0.08335, 0.12701, 0.19121, 0.29488, 0.49062}, kTol, "IC lower (correct)");
  check_close(f.ic_upper, {0.00904, 0.14243, 0.29639, 0.47844, 0.70118, 0.98819, 1.39231, 2.08144}, kTol, "IC upper");
  BOOST_TEST(std::abs(f.ic_all_irrelevant - 6.90776) < kTol);
  BOOST_TEST(std::abs(ic_lower_v2(8, 8, 10, 0.001, 1.0) - 6.90776) < kTol);
  BOOST_TEST(std::abs(f.y_max - 0.8899) < kTol);
  BOOST_TEST(f.y_min == -0.01);
  // Band: +-4096/N_x, lower edge clipped at 0 (it is negative at small N_x).
  BOOST_TEST(f.iw_lower.front() == 0.0);
  BOOST_TEST(std::abs(f.iw_upper.front() - (0.78990 + 256.0)) < kTol);
  BOOST_TEST(std::abs(f.iw_lower.back() - (f.iw_curve.back() - 4096.0 / std::ldexp(1.0, 38))) < 1e-15);
}

BOOST_AUTO_TEST_CASE(compat_reference_reproduces_the_notebook_columns) {
  const auto reg = theory_registry();
  auto params = ParamMap::defaults(reg);
  params.set(reg, "theory.compat_reference", "1");
  const TheoryParams t = TheoryParams::from(params);
  BOOST_TEST(t.flags.axis_natural_log);
  BOOST_TEST(t.flags.entropy_uses_C);
  BOOST_TEST(t.flags.ic_lower_without_eps_term);
  const TheoryFigure f = theory_figure(t);

  BOOST_TEST(std::abs(f.iw_best - 0.0111161) < 1e-7);
  BOOST_TEST(std::abs(f.x.front() - 2.773) < 1e-3);
  BOOST_TEST(std::abs(f.x[1] - 4.159) < 1e-3);
  BOOST_TEST(std::abs(f.x.back() - 26.340) < 1e-3);
  check_close(f.iw_curve,
              then_repeat({0.79091, 0.30354, 0.10859, 0.04158, 0.02025, 0.01378, 0.01188, 0.01133, 0.01118, 0.01113},
                          0.01112, 18),
              kTol, "IW curve (reference)");
  check_close(f.ic_lower, {0.0, 0.01878, 0.04273, 0.07435, 0.11801, 0.18221, 0.28588, 0.48162}, kTol, "IC lower (reference)");
  check_close(f.ic_upper, {0.00904, 0.14243, 0.29639, 0.47844, 0.70118, 0.98819, 1.39231, 2.08144}, kTol, "IC upper (reference)");
  // The spec prints the reference y-limit rounded to 0.891.
  BOOST_TEST(std::abs(f.y_max - 0.891) < 1e-3);
  BOOST_TEST(std::abs(f.y_max - (0.79091 + 0.1)) < kTol);
}

BOOST_AUTO_TEST_CASE(each_compat_flag_changes_only_its_own_quantity) {
  const auto reg = theory_registry();
  const TheoryFigure base = theory_figure(TheoryParams::from(ParamMap::defaults(reg)));
  auto p = ParamMap::defaults(reg);
  p.set(reg, "theory.ic_lower_without_eps_term", "1");
  const TheoryFigure no_eps = theory_figure(TheoryParams::from(p));
  BOOST_TEST(no_eps.iw_curve == base.iw_curve);
  for (std::size_t k = 0; k < base.ic_lower.size(); ++k)
    BOOST_TEST(std::abs(base.ic_lower[k] - no_eps.ic_lower[k] - 0.001 * 9) < 1e-12);
  auto q = ParamMap::defaults(reg);
  q.set(reg, "theory.axis_natural_log", "1");
  const TheoryFigure ln_axis = theory_figure(TheoryParams::from(q));
  BOOST_TEST(ln_axis.iw_curve == base.iw_curve);
  BOOST_TEST(std::abs(ln_axis.x[0] - std::log(16.0)) < 1e-12);
}

BOOST_AUTO_TEST_CASE(v1_recipe_matches_spec_tables) {
  const auto reg = theory_registry();
  auto params = ParamMap::defaults(reg);
  params.set(reg, "theory.version", "v1");
  const TheoryFigure f = theory_figure(TheoryParams::from(params));
  BOOST_TEST(std::abs(binary_entropy(0.99) - 0.0560015) < 1e-7);
  std::vector<double> log2_nx;
  for (int j = 6; j <= 17; ++j) log2_nx.push_back(2.0 * j);
  check_close(f.x, log2_nx, 1e-12, "v1 x");
  check_close(f.iw_curve,
              {0.21225, 0.13413, 0.09506, 0.07553, 0.06577, 0.06088, 0.05844, 0.05722, 0.05661, 0.05631, 0.05615, 0.05608},
              kTol, "v1 IW");
  check_close(f.ic_lower, {0, 0.00522, 0.01214, 0.02174, 0.03597, 0.05924, 0.10417, 0.22728}, kTol, "v1 IC lower");
  check_close(f.ic_upper, {0, 0.13353, 0.28768, 0.47000, 0.69315, 0.98083, 1.38629, 2.07944}, kTol, "v1 IC upper");
  BOOST_TEST(std::isnan(f.iw_lower.front()));
  BOOST_TEST(std::isinf(ic_upper_v1(8, 8)));
}

BOOST_AUTO_TEST_CASE(bounds_bracket_the_exact_ic_loss_and_order_in_k) {
  // For softmax h with one-hot labels the CE is -ln((1-eps C) * relevant_weight + eps); the lower bound
  // uses the extreme weight ratio e^{2 sqrt B}, the upper uniform weights (a weight ratio of 1 or more
  // in favour of relevant contexts). Check with relevant/irrelevant ratios in [1, e^{2 sqrt B}].
  const int L = 8, C = 10;
  const double eps = 0.001, B = 1.0;
  for (int k = 0; k < L; ++k) {
    for (double ratio : {1.0, 2.0, std::exp(2.0 * std::sqrt(B))}) {
      const double relevant = (L - k) * ratio / ((L - k) * ratio + k);
      const double ce = -std::log((1 - eps * C) * relevant + eps);
      BOOST_TEST(ce >= ic_lower_v2(k, L, C, eps, B) - 1e-12, "k=" << k << " ratio=" << ratio);
      BOOST_TEST(ce <= ic_upper_v2(k, L, C, eps) + 1e-12, "k=" << k << " ratio=" << ratio);
    }
    if (k > 0) BOOST_TEST(ic_lower_v2(k, L, C, eps, B) > ic_lower_v2(k - 1, L, C, eps, B));
  }
}

BOOST_AUTO_TEST_CASE(run_theory_fills_every_schema_field_with_its_shape) {
  const auto reg = theory_registry();
  auto params = ParamMap::defaults(reg);
  params.set(reg, "theory.num_contexts", "4");
  const ResultSchema schema = theory_schema(params);
  const PointRecord rec = run_theory(params);
  BOOST_TEST(rec.fields.size() == schema.fields.size());
  for (const auto& field : schema.fields) {
    const auto it = rec.fields.find(field.path);
    BOOST_TEST_REQUIRE((it != rec.fields.end()), field.path << " missing");
    BOOST_TEST(it->second.dims == field.dims, field.path);
  }
  BOOST_TEST(schema.find("theory/ic_lower")->dims[0] == 4);
}

BOOST_AUTO_TEST_CASE(invalid_values_name_the_key) {
  const auto reg = theory_registry();
  auto params = ParamMap::defaults(reg);
  params.set(reg, "theory.epsilon", "0.2");
  try {
    TheoryParams::from(params);
    BOOST_FAIL("expected ParamError");
  } catch (const ParamError& e) {
    BOOST_TEST(e.key == "theory.epsilon");
  }
}
