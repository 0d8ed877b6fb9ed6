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
  // ICL/IWL readout (meaningful on flip splits): each prediction is the in-context answer (the observed,
  // shifted label = the target), else the in-weight answer (Batch::unshifted_query), else other. Where the two
  // answers coincide (no flip; label noise undoing the shift) the prediction counts as in-context, so
  // in_context == count - errors always. Counted only over batches that carry unshifted_query.
  double in_context = 0, in_weight = 0, other = 0;
  std::int64_t readout_count = 0;

  // logits: (B, C) for the batch's B sequences.
  void add(const Eigen::Ref<const Eigen::MatrixXf>& logits, const Batch& batch);
  double error() const { return count ? errors / count : 0.0; }
  double mean_loss(LossPrecision precision = LossPrecision::Double) const;
  double context_fraction() const { return count ? context_has_query / count : 0.0; }
  // NaN when no batch carried the in-weight answer.
  double in_context_frac() const;
  double in_weight_frac() const;
  double other_frac() const;
};

// argmax with ties going to the lowest class id (PAPER-SPEC §6.1).
int argmax_lowest(const float* row, int n);

// Index of the LAST checkpoint at which `values` is minimal (PAPER-SPEC §6.1). NaNs never win.
int select_checkpoint(const std::vector<double>& values);

}  // namespace icl
