#include "kinds/synthetic/transformer_kind.hpp"

#include <cstdint>

#include "iclsweep/model/config.hpp"
#include "iclsweep/model/transformer.hpp"
#include "iclsweep/train/config.hpp"
#include "iclsweep/train/trainer.hpp"

namespace icl {

std::vector<std::string> TransformerKind::validate(const ParamMap& point) const {
  auto errors = training_point_errors(point, [](const ParamMap& p) { ModelConfig::from(p); });
  for (auto& e : synthetic_eval_errors(point)) errors.push_back(std::move(e));
  return errors;
}

ResultSchema TransformerKind::schema(const ParamMap& point) const {
  const TrainConfig tc = TrainConfig::from(point);
  ResultSchema s;
  add_training_fields(s, "", evaluation_splits(), tc.num_log_entries(),
                      static_cast<std::int64_t>(tc.checkpoint_steps().size()));
  s.merge({"model/num_parameters", FieldType::Int32, {}, "trainable parameters", {}});
  return s;
}

std::vector<CostConstant> TransformerKind::cost_constants() const {
  return {{"transformer/train_gflop", "GFLOP of training matmuls (forward and backward, Transformer::train_step_flops)", 0.014},
          {"transformer/train_step", "training step: batch assembly, Adam, softmax and layer norms", 9.3e-05},
          {"transformer/eval_gflop", "GFLOP of evaluation forward passes (every split at every checkpoint)", 0.014},
          {"transformer/sample", "sequence generated: the training pool (data.dataset_size) and the evaluation sets", 3.7e-08},
          {"transformer/point", "one point's fixed setup and bookkeeping", 0.0041}};
}

std::vector<CostTerm> TransformerKind::cost_terms(const ParamMap& point) const {
  const TrainConfig tc = TrainConfig::from(point);
  const ModelConfig mc = ModelConfig::from(point);
  const int L = static_cast<int>(point.get_int("data.num_contexts"));
  const int C = static_cast<int>(point.get_int("data.num_high_prob_classes") + point.get_int("data.num_low_prob_classes"));
  const double steps = static_cast<double>(tc.steps);
  const double checkpoints = static_cast<double>(tc.checkpoint_steps().size());
  const double eval_sequences = 18.0 * tc.num_eval_samples + tc.num_pretraining_samples;
  const double step_gflop = transformer_train_step_flops(mc, C, tc.batch_size, L) * 1e-9;
  const double sequence_forward_gflop = transformer_train_step_flops(mc, C, 1, L) / 3 * 1e-9;
  return {{"transformer/train_gflop", steps * step_gflop},
          {"transformer/train_step", steps},
          {"transformer/eval_gflop", checkpoints * eval_sequences * sequence_forward_gflop},
          {"transformer/sample", static_cast<double>(point.get_int("data.dataset_size")) + eval_sequences},
          {"transformer/point", 1}};
}

std::vector<std::vector<std::string>> TransformerKind::calibration_points() const {
  const std::vector<std::string> base = {"run.model_kind=transformer", "data.input_noise_std=0.2", "train.log_interval=10"};
  return calibration_variants(base, {
      // training-dominated, at two context lengths
      {"data.num_contexts=1", "train.steps=2000", "train.checkpoint_interval=2000", "data.dataset_size=64",
            "eval.num_eval_samples=50", "eval.num_pretraining_samples=200"},
      {"data.num_contexts=8", "train.steps=600", "train.checkpoint_interval=600", "data.dataset_size=64",
            "eval.num_eval_samples=50", "eval.num_pretraining_samples=200"},
      // evaluation-dominated
      {"data.num_contexts=1", "train.steps=100", "train.checkpoint_interval=10", "data.dataset_size=64",
            "eval.num_eval_samples=500", "eval.num_pretraining_samples=2000"},
      // pool generation at large N
      {"data.num_contexts=1", "train.steps=50", "train.checkpoint_interval=50", "data.dataset_size=2^20",
            "eval.num_eval_samples=50", "eval.num_pretraining_samples=200"},
      // the fixed cost of a point
      {"data.num_contexts=1", "train.steps=10", "train.checkpoint_interval=10", "data.dataset_size=64",
            "eval.num_eval_samples=10", "eval.num_pretraining_samples=50"},
      // a mix, as a check of the fit
      {"data.num_contexts=4", "train.steps=600", "train.checkpoint_interval=100", "data.dataset_size=2^14",
            "eval.num_eval_samples=200", "eval.num_pretraining_samples=1000"},
  });
}

std::vector<std::string> TransformerKind::size_keys() const { return transformer_size_keys(); }

double TransformerKind::memory_bytes(const ParamMap& point) const { return synthetic_transformer_memory_bytes(point); }

PointRecord TransformerKind::run(const ParamMap& point, const ProgressFn& progress) const {
  const TrainingData data = TrainingData::build(point);
  const ModelConfig mc = ModelConfig::from(point);
  Transformer model(mc, data.data.num_classes(), data.data.num_contexts, data.data.num_dims, data.data.seed);
  PointRecord record;
  record.set_scalar("model/num_parameters", static_cast<double>(model.num_parameters()));
  train_and_evaluate(model, data, "", record, progress);
  return record;
}

std::vector<std::pair<std::string, std::string>> TransformerKind::summary_fields() const {
  return {{"pretrain_loss", "selected/pretraining/loss"},
          {"IBD_err", "selected/eval-default-none/error"},
          {"OOBD_err", "selected/eval-default-none-flip_label/error"},
          {"OOBD_relCL", "selected/eval-relevant_context-low_prob-flip_label/error"}};
}

}  // namespace icl
