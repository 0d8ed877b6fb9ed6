#include "kinds/raventos/tasks.hpp"

#include <cmath>

namespace icl::raventos {

TaskPool::TaskPool(int dims, std::int64_t num_tasks, std::uint64_t seed) : D_(dims), M_(num_tasks) {
  tasks_.resize(static_cast<std::size_t>(M_) * D_);
  const StreamKey key = stream_key(seed, kTaskPool);
  for (std::int64_t i = 0; i < M_; ++i) {
    Philox rng(key, static_cast<std::uint64_t>(i));
    for (int d = 0; d < D_; ++d) tasks_[static_cast<std::size_t>(i) * D_ + d] = rng.normal();
  }
}

std::int64_t TaskPool::draw(StreamKey key, std::uint64_t cell, bool fresh, int K, double noise_std, double* x, double* y,
                            double* w) const {
  Philox rng(key, cell);
  std::int64_t index = -1;
  if (fresh || infinite()) {
    for (int d = 0; d < D_; ++d) w[d] = rng.normal();
  } else {
    index = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(M_)));
    for (int d = 0; d < D_; ++d) w[d] = task(index)[d];
  }
  for (int i = 0; i < K * D_; ++i) x[i] = rng.normal();
  for (int k = 0; k < K; ++k) {
    double dot = 0;
    for (int d = 0; d < D_; ++d) dot += w[d] * x[k * D_ + d];
    y[k] = dot + noise_std * rng.normal();
  }
  return index;
}

namespace {
Sequences draw_many(const TaskPool& pool, StreamKey key, std::uint64_t first_cell, bool fresh, int n, int K,
                    double noise_variance) {
  Sequences s;
  s.n = n;
  s.K = K;
  s.D = pool.dims();
  s.x.resize(static_cast<std::size_t>(n) * K * s.D);
  s.y.resize(static_cast<std::size_t>(n) * K);
  s.w.resize(static_cast<std::size_t>(n) * s.D);
  s.task.resize(n);
  const double noise_std = std::sqrt(noise_variance);
  for (int q = 0; q < n; ++q)
    s.task[q] = pool.draw(key, first_cell + static_cast<std::uint64_t>(q), fresh, K, noise_std,
                          s.x.data() + static_cast<std::size_t>(q) * K * s.D, s.y.data() + static_cast<std::size_t>(q) * K,
                          s.w.data() + static_cast<std::size_t>(q) * s.D);
  return s;
}
}  // namespace

Sequences evaluation_sequences(const TaskPool& pool, Distribution dist, int n, int K, double noise_variance, std::uint64_t seed) {
  const StreamKey key = stream_key(seed, kEval, static_cast<std::uint64_t>(dist));
  return draw_many(pool, key, 0, dist == Distribution::True, n, K, noise_variance);
}

Sequences training_sequences(const TaskPool& pool, std::int64_t step, int B, int K, double noise_variance, std::uint64_t seed) {
  const StreamKey key = stream_key(seed, kTrain);
  return draw_many(pool, key, static_cast<std::uint64_t>(step) * static_cast<std::uint64_t>(B), false, B, K, noise_variance);
}

}  // namespace icl::raventos
