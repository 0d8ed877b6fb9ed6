// The stylized gated model of PAPER-SPEC §3: every part (g, h with θ, α, the mixture) and the whole
// model against central finite differences in double; θ's zero gradient at L = 1; the two temperature
// parameterisations; the mixture's clipping; stage switches that freeze parts exactly.
#define BOOST_TEST_MODULE model_gated
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "iclsweep/core/error.hpp"
#include "iclsweep/model/gated.hpp"
#include "iclsweep/model/gradcheck.hpp"
#include "iclsweep/model/layers.hpp"
#include "unit/model_test_util.hpp"

using namespace icl;
using icl::test::random_batch;
using icl::test::random_matrix;
using M = RowMat<double>;

namespace {
constexpr double kTol = 1e-5;
const GradCheckOptions kOptions{1e-6, 1e-4, 0};

// A random batch whose inputs are small enough that h's softmax weights are not saturated, with
// context labels that repeat the query label sometimes (so h puts mass on the target).
Batch gated_batch(int B, int L, int D, int C, std::uint64_t tag) {
  Batch batch = random_batch(B, L, D, C, tag);
  for (auto& x : batch.inputs) x *= 0.3f;
  for (int b = 0; b < B; b += 2) batch.labels[static_cast<std::size_t>(b) * (L + 1)] = batch.target(b);
  return batch;
}

std::vector<GradTensor> tensors_of(GatedModelT<double>& m, std::pair<int, int> range) {
  std::vector<GradTensor> out;
  auto& st = m.store();
  for (int i = range.first; i < range.second; ++i) {
    const auto& t = st.tensors[i];
    out.push_back({t.name, st.values.data() + t.offset, st.grads.data() + t.offset, t.size()});
  }
  return out;
}

void require_ok(const GradCheckResult& r, double tol = kTol) {
  BOOST_TEST_MESSAGE("checked " << r.checked << " entries, worst relative error " << r.max_rel_error << " at " << r.worst);
  BOOST_TEST(r.checked > 0u);
  BOOST_TEST(r.max_rel_error < tol, "worst " << r.worst << " rel err " << r.max_rel_error);
}

GradCheckResult check_stage(GatedModelT<double>& m, const Batch& batch, GatedOutput out, std::pair<int, int> range,
                            std::size_t max_per_tensor = 0) {
  m.set_stage(out, {}, GatedOptimizer::Adam, 3e-4);
  m.loss_and_gradient(batch);
  const auto grads = m.store().grads;  // the checker's loss() calls must not see later changes
  auto ts = tensors_of(m, range);
  for (auto& t : ts) t.grads = grads.data() + (t.values - m.store().values.data());
  GradCheckOptions o = kOptions;
  o.max_per_tensor = max_per_tensor;
  return check_gradients([&] { return m.loss(batch); }, ts, o);
}
}  // namespace

BOOST_AUTO_TEST_CASE(part_gradients_g_h_alpha) {
  const int L = 3, D = 6, C = 5;
  GatedConfig cfg;
  cfg.hidden = 7;
  GatedModelT<double> m(cfg, C, L, D, 11);
  m.store().values[m.store().tensors[m.h_tensors().first].offset] = 0.3;  // θ away from its init
  const Batch batch = gated_batch(8, L, D, C, 1);
  require_ok(check_stage(m, batch, GatedOutput::InWeight, m.g_tensors()));
  require_ok(check_stage(m, batch, GatedOutput::InContext, m.h_tensors()));
  // The gate only enters through the mixture: its gradient check is the mixture's, restricted to α.
  require_ok(check_stage(m, batch, GatedOutput::Mixture, m.alpha_tensors()));
}

BOOST_AUTO_TEST_CASE(whole_mixture_gradients_both_temperatures) {
  for (auto kind : {IcTemperature::DoubleExp, IcTemperature::Exp}) {
    const int L = 4, D = 8, C = 6;
    GatedConfig cfg;
    cfg.hidden = 9;
    cfg.temperature = kind;
    GatedModelT<double> m(cfg, C, L, D, 5);
    m.store().values[m.store().tensors[m.h_tensors().first].offset] = -0.4;
    const Batch batch = gated_batch(10, L, D, C, 2);
    require_ok(check_stage(m, batch, GatedOutput::Mixture, {0, static_cast<int>(m.store().tensors.size())}));
  }
}

BOOST_AUTO_TEST_CASE(ic_part_alone_against_finite_differences) {
  // ic_forward/ic_backward_theta directly: loss = Σ R ⊙ h for a random R.
  const int B = 5, L = 4, D = 3, C = 4;
  const M X = random_matrix(B, (L + 1) * D, 21, 0.5), R = random_matrix(B, C, 22);
  std::vector<std::int32_t> labels(B * (L + 1));
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int32_t>((i * 7 + 3) % C);
  M s(B, L), w(B, L), h(B, C);
  for (auto kind : {IcTemperature::DoubleExp, IcTemperature::Exp}) {
    double theta = 0.2;
    auto loss = [&] {
      gated::ic_forward<double>(X, labels.data(), L, D, gated::temperature(theta, kind, 1e-8), s, w, h);
      return R.cwiseProduct(h).sum();
    };
    loss();
    BOOST_TEST((h.rowwise().sum().array() - 1.0).abs().maxCoeff() < 1e-12);  // h is a distribution
    const double g = gated::ic_backward_theta<double>(R, labels.data(), L, s, w, gated::temperature(theta, kind, 1e-8),
                                                      gated::temperature_derivative(theta, kind));
    require_ok(check_gradients(loss, {GradTensor{"theta", &theta, &g, 1}}, kOptions));
  }
}

BOOST_AUTO_TEST_CASE(theta_gets_exactly_zero_gradient_with_one_context) {
  for (auto kind : {IcTemperature::DoubleExp, IcTemperature::Exp}) {
    GatedConfig cfg;
    cfg.temperature = kind;
    GatedModel m(cfg, 10, 1, 64, 3);
    const Batch batch = gated_batch(32, 1, 64, 10, 3);
    for (auto out : {GatedOutput::InContext, GatedOutput::Mixture}) {
      m.set_stage(out, {}, GatedOptimizer::Adam, 3e-4);
      m.loss_and_gradient(batch);
      BOOST_TEST(m.store().grads[m.store().tensors[m.h_tensors().first].offset] == 0.0f);
    }
    // h copies the single context label: exactly one-hot.
    GatedModel::Outputs o;
    m.outputs(batch, o);
    for (int b = 0; b < batch.size; ++b) BOOST_TEST(o.h(b, batch.label(b, 0)) == 1.0f);
  }
}

BOOST_AUTO_TEST_CASE(temperature_parameterisations) {
  BOOST_TEST(gated::temperature(0.0, IcTemperature::DoubleExp, 1e-8) == std::exp(1.0) + 1e-8, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(gated::temperature(0.0, IcTemperature::Exp, 1e-8) == 1.0 + 1e-8, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(gated::temperature(-30.0, IcTemperature::DoubleExp, 1e-8) > 1.0);  // T > 1 always (Q8)
  BOOST_TEST(gated::temperature(-30.0, IcTemperature::Exp, 1e-8) < 1e-7);      // exp reaches small T
  BOOST_TEST(gated::temperature_derivative(0.5, IcTemperature::DoubleExp) == std::exp(std::exp(0.5)) * std::exp(0.5),
             boost::test_tools::tolerance(1e-14));
  // The model's temperature at init (θ = 0) follows the option.
  GatedConfig a, b;
  b.temperature = IcTemperature::Exp;
  BOOST_TEST(GatedModelT<double>(a, 4, 2, 3, 0).temperature() == std::exp(1.0) + 1e-8, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(GatedModelT<double>(b, 4, 2, 3, 0).temperature() == 1.0 + 1e-8, boost::test_tools::tolerance(1e-14));
  // A lower temperature sharpens h towards the nearest context.
  const int L = 2, D = 2, C = 3;
  M X(1, 6);
  X << 0.0, 0.0, 1.0, 0.0, 0.1, 0.0;  // x_1 = (0,0), x_2 = (1,0), x_q = (0.1, 0)
  std::int32_t labels[3] = {0, 1, 2};
  M s(1, L), w(1, L), h(1, C);
  gated::ic_forward<double>(X, labels, L, D, 1.0, s, w, h);
  const double h_T1 = h(0, 0);
  gated::ic_forward<double>(X, labels, L, D, 0.1, s, w, h);
  BOOST_TEST(h(0, 0) > h_T1);
  BOOST_TEST(h_T1 == 1.0 / (1.0 + std::exp(0.01 - 0.81)), boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(mixture_clipping_and_loss) {
  // h one-hot on class 0, p_g on class 1; α = 0 gives f = h: classes 1, 2 clip to 1e-8 and get no gradient.
  M h(1, 3), p(1, 3), f(1, 3), o(1, 3), d_o(1, 3), df(1, 3), dh(1, 3), dp(1, 3);
  h << 1, 0, 0;
  p << 0.2, 0.7, 0.1;
  const double a0 = 0.0;
  gated::mixture_forward<double>(h, p, &a0, 1e-8, f);
  BOOST_TEST(f(0, 0) == 1.0);
  BOOST_TEST(f(0, 1) == 1e-8);
  BOOST_TEST(f(0, 2) == 1e-8);
  gated::log_floor_forward<double>(f, 1e-8, o);
  const std::int32_t y = 1;
  const double loss = layers::softmax_cross_entropy<double>(o, &y, 1, d_o);
  BOOST_TEST(loss == -std::log(1e-8) + std::log(1.0 + 2e-8), boost::test_tools::tolerance(1e-12));  // −log f_y + log Σ f
  gated::log_floor_backward<double>(f, 1e-8, d_o, df);
  BOOST_TEST(df(0, 1) == 0.0);
  BOOST_TEST(df(0, 2) == 0.0);
  BOOST_TEST(df(0, 0) != 0.0);
  // α = 0.5: nothing clips, f is the convex combination.
  const double a1 = 0.5;
  gated::mixture_forward<double>(h, p, &a1, 1e-8, f);
  BOOST_TEST(f(0, 1) == 0.35, boost::test_tools::tolerance(1e-15));
  double da = 0;
  df << 1.0, 2.0, 3.0;
  gated::mixture_backward<double>(h, p, &a1, df, dh, dp, &da);
  BOOST_TEST(da == (1.0 * (0.2 - 1) + 2.0 * 0.7 + 3.0 * 0.1), boost::test_tools::tolerance(1e-14));
  BOOST_TEST(dh(0, 2) == 1.5);
  BOOST_TEST(dp(0, 2) == 1.5);
  // h's own floor is 1e-7: o_h of an absent class is log 1e-7.
  M oh(1, 3);
  h << 1, 0, 0;
  gated::log_floor_forward<double>(h, 1e-7, oh);
  BOOST_TEST(oh(0, 1) == std::log(1e-7), boost::test_tools::tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(frozen_parts_stay_exactly_fixed_and_sgd_moves_alpha) {
  GatedModel m({}, 10, 2, 16, 9);
  const Batch batch = gated_batch(32, 2, 16, 10, 4);
  const auto before = m.parameter_values();
  m.set_stage(GatedOutput::Mixture, {false, false, true}, GatedOptimizer::Sgd, 1e-2);
  for (int i = 0; i < 5; ++i) BOOST_TEST(std::isfinite(m.train_step(batch)));
  const auto after = m.parameter_values();
  auto changed = [&](std::pair<int, int> r) {
    const auto& ts = m.store().tensors;
    for (std::size_t k = ts[r.first].offset; k < ts[r.second - 1].offset + ts[r.second - 1].size(); ++k)
      if (before[k] != after[k]) return true;
    return false;
  };
  BOOST_TEST(!changed(m.g_tensors()));
  BOOST_TEST(!changed(m.h_tensors()));
  BOOST_TEST(changed(m.alpha_tensors()));
  // P0-g with Adam touches g only.
  GatedModel n({}, 10, 2, 16, 9);
  n.set_stage(GatedOutput::InWeight, {true, false, false}, GatedOptimizer::Adam, 3e-4);
  n.train_step(batch);
  const auto v = n.parameter_values();
  const auto& ts = n.store().tensors;
  for (std::size_t k = ts[n.h_tensors().first].offset; k < v.size(); ++k) BOOST_TEST_REQUIRE(v[k] == before[k]);
  BOOST_TEST(v[0] != before[0]);
}

BOOST_AUTO_TEST_CASE(float_matches_double_and_init_streams_are_independent) {
  const int L = 2, D = 16, C = 10;
  GatedModel mf({}, C, L, D, 4);
  GatedModelT<double> md({}, C, L, D, 4);
  const Batch batch = gated_batch(16, L, D, C, 5);
  for (auto out : {GatedOutput::InWeight, GatedOutput::InContext, GatedOutput::Mixture}) {
    mf.set_stage(out, {}, GatedOptimizer::Adam, 3e-4);
    md.set_stage(out, {}, GatedOptimizer::Adam, 3e-4);
    BOOST_TEST(mf.loss(batch) == md.loss(batch), boost::test_tools::tolerance(1e-4));
  }
  // g's first kernel and α's first kernel come from different ModelInit sub-streams.
  const auto& st = mf.store();
  const auto& g1 = st.tensors[mf.g_tensors().first];
  const auto& a1 = st.tensors[mf.alpha_tensors().first];
  BOOST_TEST(st.values[g1.offset] * std::sqrt(static_cast<float>(g1.fan_in)) !=
             st.values[a1.offset] * std::sqrt(static_cast<float>(a1.fan_in)));
  BOOST_TEST(mf.num_parameters() == static_cast<std::size_t>((D * 64 + 64) + (64 * 64 + 64) + (64 * C + C) + 1 +
                                                             ((L + 1) * D * 64 + 64) + (64 * 64 + 64) + (64 + 1)));
  BOOST_TEST(mf.theta() == 0.0f);
}

BOOST_AUTO_TEST_CASE(wrong_batch_shapes_are_refused) {
  GatedModel m({}, 10, 2, 16, 1);
  Eigen::MatrixXf out;
  BOOST_CHECK_THROW(m.logits(gated_batch(4, 3, 16, 10, 6), out), InputError);
  BOOST_CHECK_THROW(m.logits(gated_batch(4, 2, 8, 10, 6), out), InputError);
  BOOST_CHECK_THROW(m.logits(gated_batch(4, 2, 16, 5, 6), out), InputError);
  m.logits(gated_batch(100, 2, 16, 10, 7), out);
  BOOST_TEST(out.rows() == 100);
  BOOST_TEST(out.cols() == 10);
}
