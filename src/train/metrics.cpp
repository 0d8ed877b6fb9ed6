#include "iclsweep/train/metrics.hpp"

#include <cmath>
#include <limits>

namespace icl {

int argmax_lowest(const float* row, int n) {
  int best = 0;
  for (int c = 1; c < n; ++c)
    if (row[c] > row[best]) best = c;
  return best;
}

void SplitMetrics::add(const Eigen::Ref<const Eigen::MatrixXf>& logits, const Batch& batch) {
  const int C = batch.num_classes;
  std::vector<float> row(static_cast<std::size_t>(C));
  for (int b = 0; b < batch.size; ++b) {
    for (int c = 0; c < C; ++c) row[static_cast<std::size_t>(c)] = logits(b, c);
    if (argmax_lowest(row.data(), C) != batch.target(b)) errors += 1;
    // log-softmax in double: the loss of a confident wrong answer must not round to inf.
    double mx = -std::numeric_limits<double>::infinity();
    for (int c = 0; c < C; ++c) mx = std::max(mx, static_cast<double>(row[static_cast<std::size_t>(c)]));
    double z = 0;
    for (int c = 0; c < C; ++c) z += std::exp(row[static_cast<std::size_t>(c)] - mx);
    const double log_z = mx + std::log(z);
    const float* dist = batch.label_dist.data() + static_cast<std::size_t>(b) * C;
    for (int c = 0; c < C; ++c)
      if (dist[c] > 0) loss -= dist[c] * (row[static_cast<std::size_t>(c)] - log_z);
    if (batch.context_contains_query(b)) context_has_query += 1;
    ++count;
  }
}

int select_checkpoint(const std::vector<double>& values) {
  int best = -1;
  for (int i = 0; i < static_cast<int>(values.size()); ++i) {
    const double v = values[static_cast<std::size_t>(i)];
    if (std::isnan(v)) continue;
    if (best < 0 || v <= values[static_cast<std::size_t>(best)]) best = i;
  }
  return best;
}

}  // namespace icl
