#pragma once
// The exact Bayes baselines of Raventós et al. 2023 (PEERS-SPEC §3.4), in closed form, in double.
//
// Ridge (optimal for T_True, w ~ N(0, I)): the prediction of y_k (k = 0..K−1, 0-based) uses the k pairs
// before it: ŵ = (XᵀX + λI)⁻¹Xᵀy with λ = σ² (task scale 1), ŷ_k = ŵ·x_k; with no pair ŷ_0 = 0. This is
// the posterior mean of w under the Gaussian prior and Gaussian noise.
// dMMSE (optimal for T_Pretrain): the posterior mean over the M pool tasks, pool task i weighted by
// exp(−Σ_{j<k}(y_j − w_i·x_j)² / (2σ²)), normalised; with no pair it is the pool mean.
#include <vector>

#include "kinds/raventos/tasks.hpp"

namespace icl::raventos {

// Predictions (n, K) row-major.
std::vector<double> ridge_predictions(const Sequences& s, double lambda);
std::vector<double> dmmse_predictions(const Sequences& s, const TaskPool& pool, double noise_variance);

}  // namespace icl::raventos
