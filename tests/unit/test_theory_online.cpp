#define BOOST_TEST_MODULE theory_online
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/rng.hpp"
#include "iclsweep/data/params.hpp"
#include "iclsweep/theory/online.hpp"
#include "iclsweep/theory/params.hpp"

using namespace icl;

static const ParamRegistry& registry() {
  static const ParamRegistry r = [] {
    ParamRegistry reg;
    reg.add(data_param_specs());
    reg.add(theory_param_specs());
    return reg;
  }();
  return r;
}

static ParamMap params_with(const std::vector<std::string>& assignments) {
  auto p = ParamMap::defaults(registry());
  for (const auto& a : assignments) p.set_assignment(registry(), a);
  return p;
}

static OnlineTrace simulate(const std::vector<std::string>& assignments) {
  return simulate_online(OnlineParams::from(params_with(assignments)));
}

// First record step after which the curve stays above `level`; +inf if it never does. The gate starts at
// alpha = 1/2 and wanders around it while both tables are nearly empty, so "settled above 0.9" marks the
// move to g far more robustly than the first crossing of 1/2.
static double settled_step(const std::vector<double>& t, const std::vector<double>& alpha, double level) {
  double step = std::numeric_limits<double>::infinity();
  for (std::size_t i = alpha.size(); i-- > 0;) {
    if (alpha[i] <= level) break;
    step = t[i];
  }
  return step;
}

// ---- (a) no regret: the gate learner's regret per step vanishes ----
BOOST_AUTO_TEST_CASE(regret_grows_sublinearly_for_both_learners_and_noise_levels) {
  for (const char* learner : {"hedge", "ogd"})
    for (const char* sigma : {"0", "0.4"}) {
      const OnlineTrace tr = simulate({"data.dataset_size=2^20", std::string("online.learner=") + learner,
                                       std::string("data.input_noise_std=") + sigma, "online.records=16",
                                       "online.record_spacing=linear"});
      BOOST_TEST_REQUIRE(tr.t.size() == 16u);
      BOOST_TEST(tr.t.front() == std::ldexp(1.0, 16));  // N/16
      BOOST_TEST(tr.t.back() == std::ldexp(1.0, 20));   // N
      for (std::size_t i = 0; i < tr.t.size(); ++i) {
        // CE is convex, so f's loss is at most the linearised mixture's: regret <= learner regret.
        BOOST_TEST(tr.regret_high[i] <= tr.regret_mix_high[i] + 1e-6);
        BOOST_TEST(tr.regret_low[i] <= tr.regret_mix_low[i] + 1e-6);
      }
      const double early = (tr.regret_mix_high.front() + tr.regret_mix_low.front()) / tr.t.front();
      const double late = (tr.regret_mix_high.back() + tr.regret_mix_low.back()) / tr.t.back();
      BOOST_TEST(early > 0.0);
      BOOST_TEST(late < 0.5 * early, learner << " sigma=" << sigma << ": regret/t " << early << " at N/16, " << late << " at N");
      BOOST_TEST(late < 0.01, learner << " sigma=" << sigma << ": regret per step at N = " << late);
    }
}

// ---- (b) rare classes keep ICL longer: the gate moves to g later for C_L ----
BOOST_AUTO_TEST_CASE(gate_moves_to_g_earlier_for_frequent_classes) {
  for (int seed = 0; seed < 5; ++seed) {
    const OnlineTrace tr = simulate({"data.dataset_size=2^18", "data.seed=" + std::to_string(seed)});
    const double high = settled_step(tr.t, tr.alpha_high, 0.9);
    const double low = settled_step(tr.t, tr.alpha_low, 0.9);
    BOOST_TEST(std::isfinite(low), "seed " << seed << ": C_L gate never settled on g");
    // Per class the switch needs a fixed number of that class's queries, so in steps t it scales with
    // 1/w_c: w_H / w_L = 9 (seeds 0..9 give ratios 7-16). Require a third of that.
    BOOST_TEST(3.0 * high < low, "seed " << seed << ": C_H settles at t=" << high << ", C_L at t=" << low);
    BOOST_TEST(tr.alpha_high.back() > 0.99);
    BOOST_TEST(tr.alpha_low.back() > 0.99);
  }
}

// ---- (c) persistence when IW cannot beat IC (§4.5) ----
BOOST_AUTO_TEST_CASE(input_noise_keeps_the_gate_on_h_where_g_is_worse) {
  // sigma = 0.4: the nearest-prototype key misreads ~19% of queries, mostly frequent classes read as
  // rare ones, so g on C_L keys floors well above h (ICL persists there) while C_H keys still go to g.
  const OnlineTrace mid = simulate({"data.dataset_size=2^20", "data.input_noise_std=0.4"});
  BOOST_TEST(mid.decode_error > 0.05);
  BOOST_TEST(mid.alpha_low.back() < 0.1);
  BOOST_TEST(mid.alpha_high.back() > 0.9);
  const std::size_t last = mid.t.size() - 1, half = last / 2;
  const double g_low_rate = (mid.loss_g_low[last] - mid.loss_g_low[half]) / (mid.queries_low[last] - mid.queries_low[half]);
  const double h_low_rate = (mid.loss_h_low[last] - mid.loss_h_low[half]) / (mid.queries_low[last] - mid.queries_low[half]);
  BOOST_TEST(g_low_rate > h_low_rate + 0.3, "late per-step loss on C_L keys: g " << g_low_rate << ", h " << h_low_rate);
  // sigma = 0.6: g is worse than h for every key, so the gate stays on h everywhere.
  const OnlineTrace high = simulate({"data.dataset_size=2^20", "data.input_noise_std=0.6"});
  BOOST_TEST(high.alpha_low.back() < 0.1);
  BOOST_TEST(high.alpha_high.back() < 0.1);
  // The same sigma with g keyed by the true class: noise no longer hurts g and the gate goes to g (transience).
  const OnlineTrace ideal = simulate({"data.dataset_size=2^20", "data.input_noise_std=0.6", "online.iw_key=true_class"});
  BOOST_TEST(ideal.decode_error == 0.0);
  BOOST_TEST(ideal.alpha_low.back() > 0.9);
  BOOST_TEST(ideal.alpha_high.back() > 0.9);
}

// ---- exact pieces ----
BOOST_AUTO_TEST_CASE(g_is_the_add_half_kt_estimator) {
  // One high class, deterministic labels, no input noise: the key is the class and every label is that
  // class, so g's cumulative loss over n rounds is exactly sum_{j<n} ln((j + C/2)/(j + 1/2)).
  const OnlineTrace tr = simulate({"data.dataset_size=20000", "data.num_high_prob_classes=1", "data.p_high=0.5"});
  const int C = 6;
  for (std::size_t i = 0; i < tr.t.size(); i += 7) {
    const auto n = static_cast<std::int64_t>(tr.queries_high[i]);
    double expected = 0;
    for (std::int64_t j = 0; j < n; ++j) expected += std::log((j + 0.5 * C) / (j + 0.5));
    BOOST_TEST(std::abs(tr.loss_g_high[i] - expected) < 1e-9 * std::max(1.0, expected), "n = " << n);
  }
}

BOOST_AUTO_TEST_CASE(h_with_one_context_copies_its_label_with_the_eps_floor) {
  // L = 1, sigma = 0, no label noise: h's loss is -ln(1 - eps(C-1)) on relevant sequences and -ln eps on
  // irrelevant ones, so the mean loss is p_rel a + (1 - p_rel) b up to binomial noise in the relevance draws.
  const std::int64_t N = 1 << 16;
  const double p_rel = 0.9, eps = 0.001, C = 10;
  const OnlineTrace tr = simulate({"data.dataset_size=" + std::to_string(N), "online.epsilon=0.001"});
  const double a = -std::log(1 - eps * (C - 1)), b = -std::log(eps);
  const double mean = (tr.loss_h_high.back() + tr.loss_h_low.back()) / N;
  const double se = (b - a) * std::sqrt(p_rel * (1 - p_rel) / N);
  BOOST_TEST(std::abs(mean - (p_rel * a + (1 - p_rel) * b)) < 6 * se, "mean h loss " << mean);
}

// The simulation avoids D-dim vectors (see online.hpp). Check it against a direct D-dim Monte Carlo of
// the same distribution and predictors: decode error and h's mean loss, within 6 standard errors.
static void check_against_direct_simulation(const std::vector<std::string>& setting) {
  const OnlineParams o = OnlineParams::from(params_with(setting));
  const OnlineTrace tr = simulate_online(o);
  const DataParams& d = o.data;
  const int C = d.num_classes(), D = d.num_dims, L = d.num_contexts, H = d.num_high_prob_classes;
  const std::vector<double> mu = online_prototypes(d);
  const std::int64_t M = 1 << 16;
  Philox rng(stream_key(12345, Purpose::Sampling), 0);
  auto from_w = [&] { return rng.uniform() < d.p_high ? int(rng.below(H)) : H + int(rng.below(C - H)); };
  std::vector<double> xq(D), x(D);
  double errors = 0, loss_sum = 0, loss_sq = 0;
  for (std::int64_t n = 0; n < M; ++n) {
    const int q = from_w();
    std::vector<int> cls(L);
    const bool relevant = rng.bernoulli(d.p_relevant_context);
    do {  // plain rejection: relevant = at least one context of class q, irrelevant = none
      int matches = 0;
      for (int i = 0; i < L; ++i) matches += (cls[i] = from_w()) == q;
      if (relevant == (matches > 0)) break;
    } while (true);
    for (int j = 0; j < D; ++j) xq[j] = mu[q * D + j] + d.input_noise_std * rng.normal();
    int decoded = 0;
    double best = -1e300;
    for (int c = 0; c < C; ++c) {
      double s = 0;
      for (int j = 0; j < D; ++j) s += mu[c * D + j] * xq[j];
      if (s > best) best = s, decoded = c;
    }
    errors += decoded != q;
    const int y = rng.bernoulli(d.label_noise) ? (q + 1) % C : q;
    std::vector<double> dist(L, 0.0);
    std::vector<int> label(L);
    for (int i = 0; i < L; ++i) {
      for (int j = 0; j < D; ++j) {
        const double diff = mu[cls[i] * D + j] + d.input_noise_std * rng.normal() - xq[j];
        dist[i] += diff * diff;
      }
      label[i] = rng.bernoulli(d.label_noise) ? (cls[i] + 1) % C : cls[i];
    }
    const double dmin = *std::min_element(dist.begin(), dist.end());
    double total = 0, on_label = 0;
    for (int i = 0; i < L; ++i) {
      const double w = std::exp(-(dist[i] - dmin) / o.temperature);  // softmax_i(-dist_i / T)
      total += w;
      if (label[i] == y) on_label += w;
    }
    const double loss = -std::log((1 - o.epsilon * C) * on_label / total + o.epsilon);
    loss_sum += loss;
    loss_sq += loss * loss;
  }
  const double N = static_cast<double>(d.dataset_size);
  const double p_direct = errors / M, p_sim = tr.decode_error;
  const double se_p = std::sqrt(p_direct * (1 - p_direct) * (1.0 / M + 1.0 / N));
  BOOST_TEST(std::abs(p_direct - p_sim) < 6 * se_p + 1e-12, "decode error: direct " << p_direct << ", simulation " << p_sim);
  const double mean_direct = loss_sum / M, var = loss_sq / M - mean_direct * mean_direct;
  const double mean_sim = (tr.loss_h_high.back() + tr.loss_h_low.back()) / N;
  const double se_mean = std::sqrt(var * (1.0 / M + 1.0 / N));
  BOOST_TEST_MESSAGE("decode " << p_direct << " vs " << p_sim << " se " << se_p << "; h loss " << mean_direct << " vs " << mean_sim << " se " << se_mean);
  BOOST_TEST(std::abs(mean_direct - mean_sim) < 6 * se_mean, "h loss: direct " << mean_direct << ", simulation " << mean_sim);
}

BOOST_AUTO_TEST_CASE(projected_geometry_matches_a_direct_d_dim_simulation) {
  // Noisy similarities (the softmax is nearly uniform) and sharp ones (it mostly finds the relevant context).
  check_against_direct_simulation({"data.num_contexts=4", "data.input_noise_std=0.3", "data.label_noise=0.05",
                                   "data.dataset_size=2^17", "online.temperature=2", "online.epsilon=0.01"});
  check_against_direct_simulation({"data.num_contexts=4", "data.input_noise_std=0.15", "data.label_noise=0.05",
                                   "data.dataset_size=2^17", "online.temperature=0.25", "online.epsilon=0.01"});
}

// Moments of d_i = |mu_{c_i} - mu_q + sigma (xi_i - xi_q)|^2 in closed form, with Delta_i = mu_{c_i} - mu_q:
//   E d_i = |Delta_i|^2 + 2 sigma^2 D,   Var d_i = 8 sigma^2 |Delta_i|^2 + 8 sigma^4 D,
//   Cov(d_i, d_j) = 4 sigma^2 Delta_i . Delta_j + 2 sigma^4 D   (i != j: the shared query noise).
BOOST_AUTO_TEST_CASE(geometry_distances_have_the_d_dim_moments) {
  const OnlineParams o = OnlineParams::from(params_with({"data.input_noise_std=0.3"}));
  const DataParams& d = o.data;
  const int C = d.num_classes(), D = d.num_dims, q = 2, b = 7;
  const double sigma = d.input_noise_std, s2 = sigma * sigma;
  const std::vector<double> mu = online_prototypes(d);
  auto dot = [&](int a, int c) {
    double s = 0;
    for (int j = 0; j < D; ++j) s += mu[a * D + j] * mu[c * D + j];
    return s;
  };
  const double delta2 = 2.0 - 2.0 * dot(b, q);  // |mu_b - mu_q|^2
  const int ctx[4] = {q, q, b, b};
  const double mean_want[4] = {2 * s2 * D, 2 * s2 * D, delta2 + 2 * s2 * D, delta2 + 2 * s2 * D};
  const double var_want[4] = {8 * s2 * s2 * D, 8 * s2 * s2 * D, 8 * s2 * delta2 + 8 * s2 * s2 * D, 8 * s2 * delta2 + 8 * s2 * s2 * D};
  // pairs (0,1): same class; (2,3): Delta . Delta = delta2; (0,2): Delta_0 = 0
  const int pair_a[3] = {0, 2, 0}, pair_b[3] = {1, 3, 2};
  const double cov_want[3] = {2 * s2 * s2 * D, 4 * s2 * delta2 + 2 * s2 * s2 * D, 2 * s2 * s2 * D};

  OnlineGeometry geometry(d);
  const int M = 200000;
  std::vector<std::array<double, 4>> draws(M);
  for (int n = 0; n < M; ++n) {
    Philox rng(stream_key(99, Purpose::Sampling), static_cast<std::uint64_t>(n));
    geometry.draw(rng, q, ctx, 4, draws[n].data(), false);
  }
  double mean[4] = {0, 0, 0, 0};
  for (const auto& x : draws)
    for (int i = 0; i < 4; ++i) mean[i] += x[i] / M;
  // Each statistic is a sample mean of some per-draw value v; its standard error is sd(v)/sqrt(M).
  auto check_mean_of = [&](auto value, double want, const std::string& what) {
    double m = 0, m2 = 0;
    for (const auto& x : draws) {
      const double v = value(x);
      m += v / M;
      m2 += v * v / M;
    }
    const double se = std::sqrt(std::max(0.0, m2 - m * m) / M);
    BOOST_TEST(std::abs(m - want) < 6 * se, what << ": " << m << ", closed form " << want << " (se " << se << ")");
  };
  for (int i = 0; i < 4; ++i) {
    check_mean_of([&](const std::array<double, 4>& x) { return x[i]; }, mean_want[i], "E d_" + std::to_string(i));
    check_mean_of([&](const std::array<double, 4>& x) { return (x[i] - mean[i]) * (x[i] - mean[i]); }, var_want[i],
                  "Var d_" + std::to_string(i));
  }
  for (int k = 0; k < 3; ++k) {
    const int i = pair_a[k], j = pair_b[k];
    check_mean_of([&](const std::array<double, 4>& x) { return (x[i] - mean[i]) * (x[j] - mean[j]); }, cov_want[k],
                  "Cov(d_" + std::to_string(i) + ", d_" + std::to_string(j) + ")");
  }
  (void)C;
}

BOOST_AUTO_TEST_CASE(same_parameters_give_the_same_trace_and_seeds_differ) {
  const std::vector<std::string> s = {"data.dataset_size=5000", "data.input_noise_std=0.2", "data.num_contexts=3"};
  const OnlineTrace a = simulate(s), b = simulate(s);
  BOOST_TEST(a.loss_f_high == b.loss_f_high);
  BOOST_TEST(a.alpha_low == b.alpha_low);
  auto s2 = s;
  s2.push_back("data.seed=1");
  BOOST_TEST(simulate(s2).loss_f_high != a.loss_f_high);
}

BOOST_AUTO_TEST_CASE(record_fills_every_schema_field_and_reports_progress) {
  const ParamMap p = params_with({"data.dataset_size=3000", "online.records=10"});
  const ResultSchema schema = online_schema(p);
  std::vector<double> fractions;
  const PointRecord rec = run_online(p, [&](double f) { fractions.push_back(f); });
  BOOST_TEST(rec.fields.size() == schema.fields.size());
  for (const auto& field : schema.fields) {
    const auto it = rec.fields.find(field.path);
    BOOST_TEST_REQUIRE((it != rec.fields.end()), field.path << " missing");
    BOOST_TEST(it->second.dims.size() == field.dims.size(), field.path);
    for (std::size_t i = 0; i < field.dims.size(); ++i) BOOST_TEST(it->second.dims[i] <= field.dims[i], field.path);
  }
  BOOST_TEST(!fractions.empty());
  BOOST_TEST(fractions.back() == 1.0);
  BOOST_TEST(std::is_sorted(fractions.begin(), fractions.end()));
}

BOOST_AUTO_TEST_CASE(unsupported_settings_name_the_key) {
  try {
    OnlineParams::from(params_with({"data.relevance_mode=per_slot"}));
    BOOST_FAIL("expected ParamError");
  } catch (const ParamError& e) {
    BOOST_TEST(e.key == "data.relevance_mode");
  }
  BOOST_CHECK_THROW(OnlineParams::from(params_with({"online.epsilon=0.5"})), ParamError);
  BOOST_CHECK_THROW(OnlineParams::from(params_with({"online.step_size=-1"})), ParamError);
  const OnlineParams o = OnlineParams::from(params_with({}));
  BOOST_TEST(std::abs(o.step_size - std::sqrt(8 * std::log(2.0)) / std::log(1000.0)) < 1e-12);
}
