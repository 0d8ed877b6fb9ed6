#pragma once
// Tasks and data of Raventós et al. 2023 (PEERS-SPEC §3.1).
//
// A task is w ~ N(0, I_D); inputs x ~ N(0, I_D); targets y = w·x + ε, ε ~ N(0, σ²). The pretraining pool
// holds M tasks drawn once per seed; a training sequence takes one pool task uniformly with replacement
// (or, for M = ∞, a fresh task) and fresh x and noise. A sequence of K pairs is 2K tokens of width D+1:
// x-token [0, x_1..x_D], y-token [y, 0..0]; the prediction of y_k is read at the x_k token.
//
// Random streams (core/rng.hpp; ids of this family only, never renumbered):
//   kTaskPool   cell i = pool task i (D normals)
//   kTrain      cell = step·B + b: the task index (or the fresh task), then x_1..x_K, then the K noises
//   kEval       sub_a = distribution (0 T_Pretrain, 1 T_True), cell = sequence: same layout as kTrain
//   kInit       sub_a = parameter tensor index (model.hpp)
#include <cstdint>
#include <vector>

#include "iclsweep/core/rng.hpp"
#include "iclsweep/model/tensor.hpp"

namespace icl::raventos {

// Purposes of this family's streams: a block far from the engine's own ids (1..13) and from other families.
inline constexpr Purpose kTaskPool = static_cast<Purpose>(0x52415601u);  // 'RAV' 01
inline constexpr Purpose kTrain = static_cast<Purpose>(0x52415602u);
inline constexpr Purpose kEval = static_cast<Purpose>(0x52415603u);
inline constexpr Purpose kInit = static_cast<Purpose>(0x52415604u);

enum class Distribution { Pretrain = 0, True = 1 };

// Sequences as plain doubles: x (n, K, D), y (n, K), the task w (n, D) and its pool index (−1 = fresh).
struct Sequences {
  int n = 0, K = 0, D = 0;
  std::vector<double> x, y, w;
  std::vector<std::int64_t> task;
  const double* x_at(int s, int k) const { return x.data() + (static_cast<std::size_t>(s) * K + k) * D; }
  double y_at(int s, int k) const { return y[static_cast<std::size_t>(s) * K + k]; }
};

class TaskPool {
 public:
  // M = 0: infinite (no pool).
  TaskPool(int dims, std::int64_t num_tasks, std::uint64_t seed);
  int dims() const { return D_; }
  std::int64_t size() const { return M_; }
  bool infinite() const { return M_ == 0; }
  const double* task(std::int64_t i) const { return tasks_.data() + static_cast<std::size_t>(i) * D_; }
  const std::vector<double>& tasks() const { return tasks_; }  // (M, D) row-major

  // One sequence from stream cell (key, cell): a task (from the pool, or fresh when `fresh` or the pool
  // is infinite), then x and noise. Writes x (K·D), y (K), w (D); returns the pool index or −1.
  std::int64_t draw(StreamKey key, std::uint64_t cell, bool fresh, int K, double noise_std, double* x, double* y,
                    double* w) const;

 private:
  int D_;
  std::int64_t M_;
  std::vector<double> tasks_;
};

// The n sequences of an evaluation distribution (T_Pretrain: pool tasks; T_True: fresh tasks), from kEval.
Sequences evaluation_sequences(const TaskPool& pool, Distribution dist, int n, int K, double noise_variance,
                               std::uint64_t seed);

// Training sequences of one step (cells step·B .. step·B + B − 1 of kTrain).
Sequences training_sequences(const TaskPool& pool, std::int64_t step, int B, int K, double noise_variance,
                             std::uint64_t seed);

// Tokens (n·2K, D+1) of the sequences, as the model reads them: x-token [0, x], y-token [y, 0..0].
template <class S>
void to_tokens(const Sequences& s, RowMat<S>& tokens) {
  const int T = 2 * s.K, W = s.D + 1;
  tokens.setZero(static_cast<Eigen::Index>(s.n) * T, W);
  for (int q = 0; q < s.n; ++q)
    for (int k = 0; k < s.K; ++k) {
      const Eigen::Index r = static_cast<Eigen::Index>(q) * T + 2 * k;
      const double* xk = s.x_at(q, k);
      for (int d = 0; d < s.D; ++d) tokens(r, 1 + d) = static_cast<S>(xk[d]);
      tokens(r + 1, 0) = static_cast<S>(s.y_at(q, k));
    }
}

}  // namespace icl::raventos
