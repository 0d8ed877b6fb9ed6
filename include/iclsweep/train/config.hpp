#pragma once
// Training-loop and evaluation settings of one grid point (PAPER-SPEC §1.6, §1.7, §2), under [train] and [eval].
#include <cstdint>
#include <optional>
#include <vector>

#include "iclsweep/core/model_kind.hpp"
#include "iclsweep/core/params.hpp"

namespace icl {

// How the evaluation loss that drives checkpoint selection is accumulated (train.selection_precision).
//   Double:  per-sample log-softmax and the running sum in double (the default; a confident wrong
//            answer never rounds to inf and 10^4 summands lose nothing).
//   Float32: the reference code's arithmetic: per-sample log-softmax in float, each batch's mean loss
//            in float, and the split's loss = the float mean of the batch means, weighted by batch size.
// SplitMetrics accumulates both; the precision chooses which one every split's recorded `loss` is, and
// so which one checkpoint selection (§6.1) sees.
enum class LossPrecision { Double, Float32 };

struct TrainConfig {
  // Most training-loss entries a stage may log (each point stores them all).
  static constexpr std::int64_t kMaxLogEntries = icl::kMaxLogEntries;

  std::int64_t steps = 1000;
  int batch_size = 32;
  std::int64_t checkpoint_interval = 500;  // evaluate at step 0, every interval, and the final step
  int log_interval = 50;                   // training loss: mean over each block of this many steps
  int num_eval_samples = 1000;             // per evaluation split, drawn from a 5x larger pool
  int num_pretraining_samples = 10000;     // the `pretraining` split, drawn from the training pool
  int eval_batch_size = 100;
  std::optional<double> default_p_relevant;  // p' of §1.8 for the `default` splits (unset: training p_rel)
  LossPrecision selection_precision = LossPrecision::Double;  // train.selection_precision

  // Checkpoint steps: 0, interval, 2*interval, ..., and steps (always last, once).
  std::vector<std::int64_t> checkpoint_steps() const;
  std::int64_t num_log_entries() const { return steps / log_interval; }

  static TrainConfig from(const ParamMap& params);  // read() + the first broken rule as InputError
  static TrainConfig read(const ParamMap& params);  // without checking the rules (collect_errors lists them)
  std::vector<std::string> collect_errors() const;
};

std::vector<ParamSpec> train_param_specs();

}  // namespace icl
