#pragma once
// Evaluation metrics of PAPER-SPEC §6.1 and the checkpoint selection rule.
#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "iclsweep/core/batch.hpp"
#include "iclsweep/train/config.hpp"  // LossPrecision

namespace icl {

// Running sums over the batches of one split at one checkpoint. The loss is accumulated both ways
// (LossPrecision, train/config.hpp); mean_loss(precision) reads one.
struct SplitMetrics {
  double errors = 0;            // 0-1 errors against the observed (noisy) query label
  double loss = 0;              // -sum_c label_dist_c * log softmax(logits)_c, in double
  float weighted_batch_means = 0;  // sum over batches of B_k * (float mean loss of batch k), in float
  double context_has_query = 0; // samples whose context holds the query class
  std::int64_t count = 0;

  // logits: (B, C) for the batch's B sequences.
  void add(const Eigen::Ref<const Eigen::MatrixXf>& logits, const Batch& batch);
  double error() const { return count ? errors / count : 0.0; }
  double mean_loss(LossPrecision precision = LossPrecision::Double) const;
  double context_fraction() const { return count ? context_has_query / count : 0.0; }
};

// argmax with ties going to the lowest class id (PAPER-SPEC §6.1).
int argmax_lowest(const float* row, int n);

// Index of the LAST checkpoint at which `values` is minimal (PAPER-SPEC §6.1). NaNs never win.
int select_checkpoint(const std::vector<double>& values);

}  // namespace icl
