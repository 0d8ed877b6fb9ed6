#include "kinds/omniglot/omniglot_kind.hpp"

#include <cmath>
#include <set>

#include "iclsweep/core/error.hpp"
#include "iclsweep/data/omniglot_pool.hpp"
#include "iclsweep/model/config.hpp"
#include "iclsweep/model/transformer.hpp"
#include "iclsweep/train/config.hpp"
#include "iclsweep/train/trainer.hpp"

namespace icl {
namespace {

const char* const kTokenizer = "resnet_v1";

std::vector<std::string> parameter_rules(const ParamMap& point, OmniglotParams& op) {
  std::vector<std::string> errors;
  try {
    op = OmniglotParams::read(point);
    errors = op.parameter_errors();
  } catch (const std::exception& e) {
    errors.emplace_back(e.what());
  }
  if (point.get_string("model.input_tokenizer") != kTokenizer)
    errors.push_back(ParamError("model.input_tokenizer", point.get_string("model.input_tokenizer"),
                                std::string("run.model_kind = omniglot needs the image tokenizer: set model.input_tokenizer = ") + kTokenizer)
                         .what());
  return errors;
}

EvalOptions eval_options(const TrainConfig& tc) {
  EvalOptions opt;
  opt.num_eval_samples = tc.num_eval_samples;
  opt.pretraining_samples = tc.num_pretraining_samples;
  opt.batch_size = tc.eval_batch_size;
  opt.default_p_relevant = tc.default_p_relevant;
  return opt;
}

}  // namespace

std::vector<std::string> OmniglotKind::validate(const ParamMap& point) const {
  OmniglotParams op;
  auto errors = parameter_rules(point, op);
  for (auto& e : training_point_errors(point, [](const ParamMap& p) { ModelConfig::from(p); })) errors.push_back(e);
  return errors;
}

std::vector<std::string> OmniglotKind::check_inputs(const ParamMap& point) const {
  try {
    const OmniglotParams op = OmniglotParams::read(point);
    const auto images = OmniglotImages::shared(op.path);  // loaded once per process, then shared
    return op.dataset_errors(*images, static_cast<int>(point.get_int("train.batch_size")), point.get_int("eval.num_eval_samples"));
  } catch (const std::exception& e) {
    return {e.what()};
  }
}

std::vector<std::pair<std::string, std::string>> OmniglotKind::input_fingerprints(const ParamMap& point) const {
  const OmniglotParams op = OmniglotParams::read(point);
  // Named by the configured value (a point parameter), so an empty omniglot.path that resolves elsewhere on
  // another machine or with another $XDG_DATA_HOME is compared by its contents.
  return {{"Omniglot data (omniglot.path = '" + op.path + "')", OmniglotImages::shared(op.path)->fingerprint()}};
}

ResultSchema OmniglotKind::schema(const ParamMap& point) const {
  const TrainConfig tc = TrainConfig::from(point);
  const auto num_ckpt = static_cast<std::int64_t>(tc.checkpoint_steps().size());
  ResultSchema s;
  add_training_fields(s, "", omniglot_evaluation_splits(), tc.num_log_entries(), num_ckpt);
  s.merge({"model/num_parameters", FieldType::Int32, {}, "trainable parameters (ResNet-v1 tokenizer + transformer)", {}});
  s.merge({"omniglot/num_classes", FieldType::Int32, {}, "C: Omniglot classes found under omniglot.path (1623 with the official zips)", {}});
  s.merge({"omniglot/num_low_prob_classes", FieldType::Int32, {}, "Lo = C - H (data.num_low_prob_classes is not used)", {}});
  s.merge({"omniglot/image_size", FieldType::Int32, {}, "image side fed to the tokenizer (105 = the paper)", {}});
  s.merge({"omniglot/paper_deviation", FieldType::Int32, {},
           "1 when the images were area-downsampled (omniglot.image_size != 105): not the paper's setting", {}});
  s.merge({"train/low_prob_queries", FieldType::Float64, {num_ckpt},
           "per checkpoint: training queries from C_L in the minibatches before it (the minibatch stream replayed)", {}});
  s.merge({"train/low_prob_classes_seen", FieldType::Int32, {num_ckpt},
           "per checkpoint: distinct C_L classes queried at least once in the minibatches before it", {}});
  return s;
}

// Cost model. The ResNet tokenizer dominates (PAPER-SPEC §5.3: 4.56 GFLOP per training step at L = 2,
// 105x105, 83 % in the stem), so time scales with images, (L+1)*B per step, and with pixels, plus a
// per-image share of batch assembly, transformer and Adam: `iclsweep bench --model omniglot` measured
// 148.7 ms per step + 5.1 ms assembly at 105x105 and 14.3 + 0.42 ms at 28x28 (idle, 2026-12-02), i.e.
// 1.56 ms per 105x105 image and 0.027 of that per image whatever its size. Evaluation is forward only,
// about a third of a training image. The reference values are `iclsweep calibrate`'s on that machine
// (CPU time, both cores busy, 2026-12-07; docs/cost-model.md), which refits them on any other.
std::vector<CostConstant> OmniglotKind::cost_constants() const {
  return {{"omniglot/train_image", "training image at 105 px (ResNet forward + backward, its share of the transformer and Adam); "
                                   "a smaller image counts (side/105)^2 + 0.027", 0.001},
          {"omniglot/eval_image", "evaluation image at 105 px (forward only), every split at every checkpoint; same scaling", 0.00047},
          {"omniglot/point", "one point's fixed setup: pools, evaluation sets, the downsampled image table", 0.092}};
}

std::vector<CostTerm> OmniglotKind::cost_terms(const ParamMap& point) const {
  const TrainConfig tc = TrainConfig::from(point);
  const double L = static_cast<double>(point.get_int("data.num_contexts"));
  const double side = static_cast<double>(point.get_int("omniglot.image_size"));
  const double per_image = side * side / (105.0 * 105.0) + 0.027;  // pixels, plus what every image costs whatever its size
  const double train_images = static_cast<double>(tc.steps) * tc.batch_size * (L + 1);
  const double eval_sequences = 27.0 * tc.num_eval_samples + tc.num_pretraining_samples;
  const double eval_images = static_cast<double>(tc.checkpoint_steps().size()) * eval_sequences * (L + 1);
  return {{"omniglot/train_image", train_images * per_image},
          {"omniglot/eval_image", eval_images * per_image},
          {"omniglot/point", 1}};
}

std::vector<std::vector<std::string>> OmniglotKind::calibration_points() const {
  const std::vector<std::string> base = {"run.model_kind=omniglot", "model.input_tokenizer=resnet_v1", "data.num_contexts=2",
                                         "data.num_high_prob_classes=20", "data.input_noise_std=0.1", "data.dataset_size=1000",
                                         "train.log_interval=5", "eval.num_pretraining_samples=50", "eval.num_eval_samples=50"};
  return calibration_variants(base, {
      {"omniglot.image_size=28", "train.steps=60", "train.checkpoint_interval=60"},
      {"omniglot.image_size=105", "train.batch_size=8", "train.steps=15", "train.checkpoint_interval=15"},
      {"omniglot.image_size=28", "train.steps=10", "train.checkpoint_interval=5"},
      {"omniglot.image_size=28", "train.steps=5", "train.checkpoint_interval=5", "train.log_interval=1"},
  });
}

// One training batch (evaluation runs forward only), for the full 1623 classes at most.
std::vector<std::string> OmniglotKind::size_keys() const {
  auto keys = transformer_size_keys();
  keys.push_back("omniglot.image_size");
  return keys;
}

double OmniglotKind::memory_bytes(const ParamMap& point) const {
  constexpr int kAllOmniglotClasses = 1623;
  return omniglot_train_memory_bytes(ModelConfig::from(point), TrainConfig::from(point).batch_size,
                                     static_cast<int>(point.get_int("data.num_contexts")),
                                     static_cast<int>(point.get_int("omniglot.image_size")), kAllOmniglotClasses);
}

PointRecord OmniglotKind::run(const ParamMap& point, const ProgressFn& progress) const {
  OmniglotParams op;
  const auto errors = parameter_rules(point, op);
  if (!errors.empty()) throw InputError(errors.front());
  const TrainConfig tc = TrainConfig::from(point);
  const ModelConfig mc = ModelConfig::from(point);
  const auto images = OmniglotImages::shared(op.path);
  const auto data_errors = op.dataset_errors(*images, tc.batch_size, tc.num_eval_samples);
  if (!data_errors.empty()) throw InputError(data_errors.front());

  const auto train_pool = std::make_shared<const OmniglotPool>(OmniglotPool::training(op, images));
  const OmniglotEvalSet eval(op, images, train_pool, eval_options(tc));
  const DataParams& dp = train_pool->params();
  Transformer model(mc, dp.num_classes(), dp.num_contexts, op.input_dim(), dp.seed);

  PointRecord record;
  record.set_scalar("model/num_parameters", static_cast<double>(model.num_parameters()));
  record.set_scalar("omniglot/num_classes", dp.num_classes());
  record.set_scalar("omniglot/num_low_prob_classes", dp.num_low_prob_classes);
  record.set_scalar("omniglot/image_size", op.image_size);
  record.set_scalar("omniglot/paper_deviation", op.image_size != OmniglotImages::kSide ? 1 : 0);

  OmniglotBatchStream stream(op, train_pool->size(), tc.batch_size);
  std::vector<std::int64_t> positions;
  double low_queries = 0;
  std::set<int> low_seen;
  const int H = dp.num_high_prob_classes;
  const TrainingBatchFn next_batch = [&](std::int64_t t, Batch& batch) {
    stream.positions(t, positions);
    train_pool->assemble(positions, /*flip=*/false, Exemplar::First, batch);
    for (int b = 0; b < batch.size; ++b)
      if (batch.query_class(b) >= H) {
        ++low_queries;
        low_seen.insert(batch.query_class(b));
      }
  };
  std::vector<double> low_at_ckpt, seen_at_ckpt;
  const CheckpointHook hook = [&](std::size_t) {
    low_at_ckpt.push_back(low_queries);
    seen_at_ckpt.push_back(static_cast<double>(low_seen.size()));
  };
  train_and_evaluate(model, tc, next_batch, eval, "", record, progress, 0.0, 1.0, hook);
  record.set_vector("train/low_prob_queries", low_at_ckpt);
  record.set_vector("train/low_prob_classes_seen", seen_at_ckpt);
  return record;
}

std::vector<std::pair<std::string, std::string>> OmniglotKind::summary_fields() const {
  return {{"pretrain_loss", "selected/pretraining/loss"},
          {"IBD_err", "selected/eval-default-none/error"},
          {"OOBD_err", "selected/eval-default-none-flip_label/error"},
          {"OOBD_relCL", "selected/eval-relevant_context-low_prob-flip_label/error"},
          {"heldout_err", "selected/eval-default-none-heldout_input-flipped_label/error"}};
}

}  // namespace icl
