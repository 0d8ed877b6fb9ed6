#pragma once
// One grid point's training run (PAPER-SPEC §1.6, §2, §6.1): the fixed training pool, with-replacement
// minibatches, the training-loss curve, evaluation of every split at every checkpoint on the same
// fixed batches, and checkpoint selection. Generic over icl::Model so every model kind that trains
// on the stylized distribution shares it.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "iclsweep/core/model_kind.hpp"
#include "iclsweep/core/record.hpp"
#include "iclsweep/data/params.hpp"
#include "iclsweep/data/splits.hpp"
#include "iclsweep/model/model.hpp"
#include "iclsweep/train/config.hpp"
#include "iclsweep/train/metrics.hpp"

namespace icl {

// The metrics recorded per split and checkpoint, in field order.
inline const char* const kSplitMetricNames[] = {"error", "loss", "context_fraction"};
// The ICL/IWL readout (SplitMetrics), recorded for flip splits only: elsewhere the two answers coincide.
inline const char* const kReadoutMetricNames[] = {"in_context_frac", "in_weight_frac", "other_frac"};

// Fields a trainer run writes for `splits` with the given number of log entries and checkpoints,
// under `prefix` ("" for the transformer, "alpha/" etc. for the stages of the gated model).
void add_training_fields(ResultSchema& schema, const std::string& prefix, const std::vector<SplitSpec>& splits,
                         std::int64_t num_log, std::int64_t num_checkpoints);

struct TrainingData {
  DataParams data;
  TrainConfig train;
  std::shared_ptr<const Pool> train_pool;
  std::unique_ptr<EvalSet> eval;
  static TrainingData build(const ParamMap& point);
};

// Called after each checkpoint's evaluation with its index (0 = step 0), so a model kind can log
// extra per-checkpoint metrics of the same parameters (the gated model's gate statistics, §3).
using CheckpointHook = std::function<void(std::size_t checkpoint)>;

// Trains `model` for config.steps and writes curves, per-checkpoint split metrics and the selected
// checkpoint's metrics into `record` under `prefix`. Throws NumericError on a non-finite loss.
void train_and_evaluate(Model& model, const TrainingData& data, const std::string& prefix, PointRecord& record,
                        const ProgressFn& progress, double progress_from = 0.0, double progress_to = 1.0,
                        const CheckpointHook& on_checkpoint = {});

// Fills `out` with the minibatch of optimizer step `step` (a pure function of the step).
using TrainingBatchFn = std::function<void(std::int64_t step, Batch& out)>;
// The same loop for any data source (Omniglot): minibatches from `next_batch`, evaluation on `eval`,
// whose split list must contain "pretraining".
void train_and_evaluate(Model& model, const TrainConfig& config, const TrainingBatchFn& next_batch, const SplitSet& eval,
                        const std::string& prefix, PointRecord& record, const ProgressFn& progress,
                        double progress_from = 0.0, double progress_to = 1.0, const CheckpointHook& on_checkpoint = {});

// Evaluates `model` on every split (no training); metrics[split] for one checkpoint.
std::vector<SplitMetrics> evaluate_splits(Model& model, const SplitSet& eval);

// Validation helper for model kinds that train: the problems of TrainConfig plus whatever `read_model`
// (e.g. ModelConfig::from) throws, as messages naming key, value and rule.
std::vector<std::string> training_point_errors(const ParamMap& point, const std::function<void(const ParamMap&)>& read_model);
// The rules that tie evaluation to the synthetic data's C = data.num_high_prob_classes + num_low_prob_classes.
std::vector<std::string> synthetic_eval_errors(const ParamMap& point);
// memory_bytes() of the synthetic transformer (ModelKind): also the gated model's g and h.
double synthetic_transformer_memory_bytes(const ParamMap& point);
// size_keys() of the kinds that train the §2 transformer (ModelKind): model, batch and data sizes.
std::vector<std::string> transformer_size_keys();

}  // namespace icl
