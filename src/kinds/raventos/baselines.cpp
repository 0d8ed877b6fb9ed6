#include "kinds/raventos/baselines.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>

#include "iclsweep/core/error.hpp"

namespace icl::raventos {

std::vector<double> ridge_predictions(const Sequences& s, double lambda) {
  const int D = s.D, K = s.K;
  std::vector<double> out(static_cast<std::size_t>(s.n) * K, 0.0);
  Eigen::MatrixXd A(D, D);
  Eigen::VectorXd b(D);
  for (int q = 0; q < s.n; ++q) {
    A = lambda * Eigen::MatrixXd::Identity(D, D);
    b.setZero();
    for (int k = 0; k < K; ++k) {
      const Eigen::Map<const Eigen::VectorXd> xk(s.x_at(q, k), D);
      if (k > 0) {
        const Eigen::VectorXd w = A.ldlt().solve(b);
        out[static_cast<std::size_t>(q) * K + k] = w.dot(xk);
      }
      A.noalias() += xk * xk.transpose();
      b += s.y_at(q, k) * xk;
    }
  }
  return out;
}

std::vector<double> dmmse_predictions(const Sequences& s, const TaskPool& pool, double noise_variance) {
  if (pool.infinite()) throw Error("internal: dMMSE needs a finite task pool (raventos.num_tasks > 0)");
  const int D = s.D, K = s.K;
  const std::int64_t M = pool.size();
  std::vector<double> out(static_cast<std::size_t>(s.n) * K, 0.0);
  std::vector<double> loglik(static_cast<std::size_t>(M)), pred(static_cast<std::size_t>(M));
  const double inv2s2 = 1.0 / (2.0 * noise_variance);
  const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> W(pool.tasks().data(), M, D);
  Eigen::VectorXd preds(M);
  for (int q = 0; q < s.n; ++q) {
    std::fill(loglik.begin(), loglik.end(), 0.0);
    for (int k = 0; k < K; ++k) {
      const Eigen::Map<const Eigen::VectorXd> xk(s.x_at(q, k), D);
      preds.noalias() = W * xk;  // w_i · x_k for every pool task
      double mx = -std::numeric_limits<double>::infinity();
      for (std::int64_t i = 0; i < M; ++i) mx = std::max(mx, loglik[i]);
      double num = 0, den = 0;
      for (std::int64_t i = 0; i < M; ++i) {
        const double p = std::exp(loglik[i] - mx);
        den += p;
        num += p * preds[i];
      }
      out[static_cast<std::size_t>(q) * K + k] = num / den;
      const double y = s.y_at(q, k);
      for (std::int64_t i = 0; i < M; ++i) {
        const double r = y - preds[i];
        loglik[i] -= r * r * inv2s2;
      }
    }
  }
  return out;
}

}  // namespace icl::raventos
