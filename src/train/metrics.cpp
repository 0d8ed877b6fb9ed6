#include "iclsweep/train/metrics.hpp"

#include <algorithm>
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
  float batch_sum = 0;  // float32 path: the batch's summed loss, as jnp.mean would accumulate it
  const bool readout = batch.unshifted_query.size() >= static_cast<std::size_t>(batch.size);
  for (int b = 0; b < batch.size; ++b) {
    for (int c = 0; c < C; ++c) row[static_cast<std::size_t>(c)] = logits(b, c);
    const int predicted = argmax_lowest(row.data(), C);
    if (predicted != batch.target(b)) errors += 1;
    if (readout) {
      if (predicted == batch.target(b))
        in_context += 1;
      else if (predicted == batch.unshifted_query[static_cast<std::size_t>(b)])
        in_weight += 1;
      else
        other += 1;
      ++readout_count;
    }
    // log-softmax in double: the loss of a confident wrong answer must not round to inf.
    double mx = -std::numeric_limits<double>::infinity();
    for (int c = 0; c < C; ++c) mx = std::max(mx, static_cast<double>(row[static_cast<std::size_t>(c)]));
    double z = 0;
    for (int c = 0; c < C; ++c) z += std::exp(row[static_cast<std::size_t>(c)] - mx);
    const double log_z = mx + std::log(z);
    const float* dist = batch.label_dist.data() + static_cast<std::size_t>(b) * C;
    for (int c = 0; c < C; ++c)
      if (dist[c] > 0) loss -= dist[c] * (row[static_cast<std::size_t>(c)] - log_z);
    // The same loss in float throughout: x - max - log(sum exp(x - max)), as jax.nn.log_softmax.
    float mx_f = -std::numeric_limits<float>::infinity();
    for (int c = 0; c < C; ++c) mx_f = std::max(mx_f, row[static_cast<std::size_t>(c)]);
    float z_f = 0;
    for (int c = 0; c < C; ++c) z_f += std::exp(row[static_cast<std::size_t>(c)] - mx_f);
    const float log_z_f = std::log(z_f);
    float loss_f = 0;
    for (int c = 0; c < C; ++c)
      if (dist[c] > 0) loss_f -= dist[c] * (row[static_cast<std::size_t>(c)] - mx_f - log_z_f);
    batch_sum += loss_f;
    if (batch.context_contains_query(b)) context_has_query += 1;
    ++count;
  }
  if (batch.size > 0) {
    const float batch_mean = batch_sum / static_cast<float>(batch.size);
    weighted_batch_means += static_cast<float>(batch.size) * batch_mean;
  }
}

double SplitMetrics::mean_loss(LossPrecision precision) const {
  if (!count) return 0.0;
  if (precision == LossPrecision::Float32) return static_cast<double>(weighted_batch_means / static_cast<float>(count));
  return loss / static_cast<double>(count);
}

double SplitMetrics::in_context_frac() const {
  return readout_count ? in_context / readout_count : std::numeric_limits<double>::quiet_NaN();
}
double SplitMetrics::in_weight_frac() const {
  return readout_count ? in_weight / readout_count : std::numeric_limits<double>::quiet_NaN();
}
double SplitMetrics::other_frac() const {
  return readout_count ? other / readout_count : std::numeric_limits<double>::quiet_NaN();
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
