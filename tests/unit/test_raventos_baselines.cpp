// Raventós 2023 baselines (PEERS-SPEC §3.4) against closed forms and hand-computed values.
#define BOOST_TEST_MODULE raventos_baselines
#include <boost/test/unit_test.hpp>

#include <Eigen/Dense>
#include <cmath>

#include "kinds/raventos/baselines.hpp"

using namespace icl;
using namespace icl::raventos;

namespace {
Sequences one_sequence(int D, int K, const std::vector<double>& x, const std::vector<double>& y) {
  Sequences s;
  s.n = 1, s.K = K, s.D = D;
  s.x = x, s.y = y, s.w.assign(D, 0.0), s.task = {-1};
  return s;
}
}  // namespace

BOOST_AUTO_TEST_CASE(ridge_by_hand_on_a_one_dimensional_case) {
  // D = 1, λ = 0.5: ŷ_0 = 0; ŷ_1 = x1·x0·y0/(x0² + λ); ŷ_2 = x2·(x0y0 + x1y1)/(x0² + x1² + λ).
  const auto s = one_sequence(1, 3, {2.0, -1.0, 0.5}, {1.0, 3.0, 0.0});
  const auto p = ridge_predictions(s, 0.5);
  BOOST_TEST(p[0] == 0.0);
  BOOST_TEST(p[1] == -1.0 * 2.0 * 1.0 / 4.5, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(p[2] == 0.5 * (2.0 - 3.0) / 5.5, boost::test_tools::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(ridge_is_the_gaussian_posterior_mean) {
  // Posterior of w ~ N(0, I) given y = Xw + N(0, σ²): mean = (XᵀX/σ² + I)⁻¹ Xᵀy/σ², the ridge solution with λ = σ².
  const TaskPool pool(3, 0, 1);
  const double s2 = 0.3;
  const Sequences s = evaluation_sequences(pool, Distribution::True, 5, 6, s2, 2);
  const auto p = ridge_predictions(s, s2);
  for (int q = 0; q < 5; ++q)
    for (int k = 1; k < 6; ++k) {
      Eigen::MatrixXd X(k, 3);
      Eigen::VectorXd y(k);
      for (int j = 0; j < k; ++j) {
        for (int d = 0; d < 3; ++d) X(j, d) = s.x_at(q, j)[d];
        y(j) = s.y_at(q, j);
      }
      const Eigen::MatrixXd prec = X.transpose() * X / s2 + Eigen::MatrixXd::Identity(3, 3);
      const Eigen::VectorXd mean = prec.inverse() * X.transpose() * y / s2;
      const Eigen::Map<const Eigen::VectorXd> xk(s.x_at(q, k), 3);
      BOOST_TEST(p[q * 6 + k] == mean.dot(xk), boost::test_tools::tolerance(1e-10));
    }
}

BOOST_AUTO_TEST_CASE(dmmse_with_one_task_returns_that_task) {
  const TaskPool pool(4, 1, 5);
  const Sequences s = evaluation_sequences(pool, Distribution::True, 3, 5, 0.25, 5);
  const auto p = dmmse_predictions(s, pool, 0.25);
  for (int q = 0; q < 3; ++q)
    for (int k = 0; k < 5; ++k) {
      double dot = 0;
      for (int d = 0; d < 4; ++d) dot += pool.task(0)[d] * s.x_at(q, k)[d];
      BOOST_TEST(p[q * 5 + k] == dot, boost::test_tools::tolerance(1e-12));
    }
}

BOOST_AUTO_TEST_CASE(dmmse_by_hand_with_two_tasks) {
  // D = 1, pool {w_a, w_b}: ŷ_0 = mean(w)·x0; ŷ_1 = x1·(w_a e_a + w_b e_b)/(e_a + e_b), e_i = exp(−(y0 − w_i x0)²/(2σ²)).
  const TaskPool pool(1, 2, 9);
  const double wa = pool.task(0)[0], wb = pool.task(1)[0], s2 = 0.25;
  const auto s = one_sequence(1, 2, {1.5, -0.7}, {0.4, 0.0});
  const auto p = dmmse_predictions(s, pool, s2);
  BOOST_TEST(p[0] == 1.5 * 0.5 * (wa + wb), boost::test_tools::tolerance(1e-12));
  const double ea = std::exp(-std::pow(0.4 - wa * 1.5, 2) / (2 * s2)), eb = std::exp(-std::pow(0.4 - wb * 1.5, 2) / (2 * s2));
  BOOST_TEST(p[1] == -0.7 * (wa * ea + wb * eb) / (ea + eb), boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(each_baseline_is_best_on_its_own_distribution) {
  // dMMSE is Bayes-optimal on T_Pretrain, Ridge on T_True (§3.4): each has the lower MSE on its own set.
  const int D = 4, K = 8, n = 4000;
  const TaskPool pool(D, 8, 11);
  auto mse = [&](const Sequences& s, const std::vector<double>& p) {
    double t = 0;
    for (std::size_t i = 0; i < p.size(); ++i) t += (p[i] - s.y[i]) * (p[i] - s.y[i]);
    return t / p.size();
  };
  const Sequences pre = evaluation_sequences(pool, Distribution::Pretrain, n, K, 0.125, 11);
  const Sequences tru = evaluation_sequences(pool, Distribution::True, n, K, 0.125, 11);
  BOOST_TEST(mse(pre, dmmse_predictions(pre, pool, 0.125)) < mse(pre, ridge_predictions(pre, 0.125)));
  BOOST_TEST(mse(tru, ridge_predictions(tru, 0.125)) < mse(tru, dmmse_predictions(tru, pool, 0.125)));
}
