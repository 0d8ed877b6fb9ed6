#include "iclsweep/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <iomanip>
#include <sstream>

#include "iclsweep/core/error.hpp"
#include "iclsweep/model/config.hpp"
#include "iclsweep/model/transformer.hpp"

namespace icl {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string field(const std::string& prefix, const std::string& rest) { return prefix + rest; }

const char* const kReadoutHelp[] = {
    "fraction of predictions equal to the in-context answer (the shifted label, the target)",
    "fraction of predictions equal to the in-weight answer (the class before the within-group shift)",
    "fraction of predictions equal to neither"};
constexpr std::size_t kNumMetrics = 6;  // kSplitMetricNames, then kReadoutMetricNames

const char* metric_name(std::size_t m) { return m < 3 ? kSplitMetricNames[m] : kReadoutMetricNames[m - 3]; }
bool recorded(const SplitSpec& split, std::size_t m) { return m < 3 || split.flip; }

}  // namespace

void add_training_fields(ResultSchema& schema, const std::string& prefix, const std::vector<SplitSpec>& splits,
                         std::int64_t num_log, std::int64_t num_checkpoints) {
  schema.merge({field(prefix, "train/step"), FieldType::Int32, {num_log}, "optimizer step at the end of each logged block", {}});
  schema.merge({field(prefix, "train/loss"), FieldType::Float32, {num_log},
                "mean training loss (softmax CE on the observed query label) over the block", {}});
  schema.merge({field(prefix, "checkpoint/step"), FieldType::Int32, {num_checkpoints}, "step of each checkpoint", {}});
  for (const auto& s : splits) {
    for (const char* m : kSplitMetricNames)
      schema.merge({field(prefix, "eval/" + s.name + "/" + m), FieldType::Float32, {num_checkpoints},
                    std::string("per checkpoint: ") + m, {}});
    if (s.flip)
      for (int i = 0; i < 3; ++i)
        schema.merge({field(prefix, "eval/" + s.name + "/" + kReadoutMetricNames[i]), FieldType::Float32,
                      {num_checkpoints}, std::string("per checkpoint: ") + kReadoutHelp[i], {}});
  }
  schema.merge({field(prefix, "selected/index"), FieldType::Int32, {},
                "checkpoint index selected by the last minimal pretraining loss (§6.1)", {}});
  schema.merge({field(prefix, "selected/index_by_error"), FieldType::Int32, {},
                "checkpoint index selected by the last minimal pretraining 0-1 error (p_relevant figure)", {}});
  for (const auto& s : splits) {
    for (const char* m : kSplitMetricNames)
      schema.merge({field(prefix, "selected/" + s.name + "/" + m), FieldType::Float32, {},
                    std::string("at the selected checkpoint: ") + m, {}});
    if (s.flip)
      for (int i = 0; i < 3; ++i)
        schema.merge({field(prefix, "selected/" + s.name + "/" + kReadoutMetricNames[i]), FieldType::Float32, {},
                      std::string("at the selected checkpoint: ") + kReadoutHelp[i], {}});
  }
}

TrainingData TrainingData::build(const ParamMap& point) {
  TrainingData d;
  d.data = DataParams::from(point);
  d.train = TrainConfig::from(point);
  d.train_pool = std::make_shared<const Pool>(Pool::training(d.data));
  EvalOptions opt;
  opt.num_eval_samples = d.train.num_eval_samples;
  opt.pretraining_samples = d.train.num_pretraining_samples;
  opt.batch_size = d.train.eval_batch_size;
  opt.default_p_relevant = d.train.default_p_relevant;
  d.eval = std::make_unique<EvalSet>(d.data, d.train_pool, opt);
  return d;
}

std::vector<SplitMetrics> evaluate_splits(Model& model, const SplitSet& eval) {
  std::vector<SplitMetrics> out(eval.splits().size());
  Batch batch;
  Eigen::MatrixXf logits;
  for (std::size_t s = 0; s < eval.splits().size(); ++s) {
    if (!eval.valid(s)) continue;
    for (int k = 0; k < eval.num_batches(s); ++k) {
      eval.assemble(s, k, batch);
      model.logits(batch, logits);
      out[s].add(logits, batch);
    }
  }
  return out;
}

void train_and_evaluate(Model& model, const TrainingData& data, const std::string& prefix, PointRecord& record,
                        const ProgressFn& progress, double progress_from, double progress_to,
                        const CheckpointHook& on_checkpoint) {
  std::vector<std::int64_t> positions;
  const TrainingBatchFn next_batch = [&](std::int64_t t, Batch& batch) {
    training_positions(data.data.seed, data.train_pool->size(), t, data.train.batch_size, positions);
    data.train_pool->assemble(positions, /*flip=*/false, batch);
  };
  train_and_evaluate(model, data.train, next_batch, *data.eval, prefix, record, progress, progress_from, progress_to,
                     on_checkpoint);
}

void train_and_evaluate(Model& model, const TrainConfig& tc, const TrainingBatchFn& next_batch, const SplitSet& eval,
                        const std::string& prefix, PointRecord& record, const ProgressFn& progress,
                        double progress_from, double progress_to, const CheckpointHook& on_checkpoint) {
  const auto& splits = eval.splits();
  const auto checkpoints = tc.checkpoint_steps();
  const std::size_t num_ckpt = checkpoints.size(), num_splits = splits.size();

  // metric[split][metric][checkpoint]
  std::vector<std::vector<std::vector<double>>> metric(
      num_splits, std::vector<std::vector<double>>(kNumMetrics, std::vector<double>(num_ckpt, kNaN)));
  std::string last_eval;  // "eval @ step S: pretraining loss L, error E" for the progress line
  auto evaluate_checkpoint = [&](std::size_t c) {
    const auto m = evaluate_splits(model, eval);
    for (std::size_t s = 0; s < num_splits; ++s) {
      if (!eval.valid(s)) continue;
      metric[s][0][c] = m[s].error();
      metric[s][1][c] = m[s].mean_loss(tc.selection_precision);
      metric[s][2][c] = m[s].context_fraction();
      metric[s][3][c] = m[s].in_context_frac();
      metric[s][4][c] = m[s].in_weight_frac();
      metric[s][5][c] = m[s].other_frac();
      if (splits[s].name == "pretraining") {
        std::ostringstream os;
        os << "eval @ step " << checkpoints[c] << ": pretraining loss " << std::setprecision(3) << m[s].mean_loss()
           << ", error " << m[s].error();
        last_eval = os.str();
      }
    }
    if (on_checkpoint) on_checkpoint(c);
  };

  std::vector<double> log_steps, log_loss;
  log_steps.reserve(static_cast<std::size_t>(tc.num_log_entries()));
  log_loss.reserve(static_cast<std::size_t>(tc.num_log_entries()));
  Batch batch;
  double block_sum = 0;
  int block_count = 0;
  std::size_t next_ckpt = 0;
  auto last_report = std::chrono::steady_clock::now();

  // A checkpoint's cost in steps, for progress: evaluation is a sizeable share of a point's time.
  evaluate_checkpoint(next_ckpt++);
  for (std::int64_t t = 0; t < tc.steps; ++t) {
    next_batch(t, batch);
    const float loss = model.train_step(batch);
    if (!std::isfinite(loss)) {
      std::ostringstream msg;
      msg << "training diverged: non-finite loss (" << loss << ") at step " << t
          << "; lower train.learning_rate or check the data parameters";
      throw NumericError(msg.str());
    }
    block_sum += loss;
    if (++block_count == tc.log_interval) {
      log_steps.push_back(static_cast<double>(t + 1));
      log_loss.push_back(block_sum / block_count);
      block_sum = 0;
      block_count = 0;
    }
    if (next_ckpt < num_ckpt && t + 1 == checkpoints[next_ckpt]) evaluate_checkpoint(next_ckpt++);
    const auto now = std::chrono::steady_clock::now();
    if (progress && now - last_report > std::chrono::milliseconds(500)) {
      last_report = now;
      const double f = static_cast<double>(t + 1) / static_cast<double>(tc.steps);
      std::ostringstream status;
      status << prefix << "step " << t + 1 << "/" << tc.steps << " loss " << std::setprecision(4)
             << (log_loss.empty() ? loss : log_loss.back()) << (last_eval.empty() ? "" : " | ") << last_eval;
      progress(progress_from + (progress_to - progress_from) * f, status.str());
    }
  }

  record.set_vector(field(prefix, "train/step"), log_steps);
  record.set_vector(field(prefix, "train/loss"), log_loss);
  record.set_vector(field(prefix, "checkpoint/step"), std::vector<double>(checkpoints.begin(), checkpoints.end()));
  for (std::size_t s = 0; s < num_splits; ++s)
    for (std::size_t m = 0; m < kNumMetrics; ++m)
      if (recorded(splits[s], m))
        record.set_vector(field(prefix, "eval/" + splits[s].name + "/" + metric_name(m)), metric[s][m]);

  // §6.1: the last checkpoint with minimal pretraining loss (and, for the p_relevant figure, error).
  const std::size_t pre = eval.find("pretraining");
  const int selected = select_checkpoint(metric[pre][1]);
  const int selected_by_error = select_checkpoint(metric[pre][0]);
  record.set_scalar(field(prefix, "selected/index"), selected);
  record.set_scalar(field(prefix, "selected/index_by_error"), selected_by_error);
  for (std::size_t s = 0; s < num_splits; ++s)
    for (std::size_t m = 0; m < kNumMetrics; ++m)
      if (recorded(splits[s], m))
        record.set_scalar(field(prefix, "selected/" + splits[s].name + "/" + metric_name(m)),
                          selected >= 0 ? metric[s][m][static_cast<std::size_t>(selected)] : kNaN);
}

// ---- validation and memory shared by the kinds that train on the stylized distribution (src/kinds/synthetic, gated) ----

std::vector<std::string> training_point_errors(const ParamMap& point, const std::function<void(const ParamMap&)>& read_model) {
  std::vector<std::string> errors;
  try {
    read_model(point);
  } catch (const std::exception& e) {
    errors.emplace_back(e.what());
  }
  try {
    for (auto& e : TrainConfig::read(point).collect_errors()) errors.push_back(e);
  } catch (const std::exception& e) {
    errors.emplace_back(e.what());
  }
  return errors;
}

std::vector<std::string> synthetic_eval_errors(const ParamMap& point) {
  const auto classes = point.get_int("data.num_high_prob_classes") + point.get_int("data.num_low_prob_classes");
  const auto samples = point.get_int("eval.num_eval_samples");
  if (samples >= 1 && classes >= 1 && classes <= std::numeric_limits<int>::max() && 5 * samples < classes)
    return {eval_pool_too_small(5 * samples, static_cast<int>(classes)).what()};
  return {};
}

// The synthetic transformer: one training batch (evaluation runs forward only), T = 2L + 1 tokens of D inputs.
std::vector<std::string> transformer_size_keys() {
  return {"model.embed_dim",    "model.num_blocks", "model.num_heads",
          "model.widening_factor", "train.batch_size", "data.num_contexts",
          "data.num_dims",      "data.num_high_prob_classes", "data.num_low_prob_classes"};
}

double synthetic_transformer_memory_bytes(const ParamMap& point) {
  const ModelConfig mc = ModelConfig::from(point);
  const TrainConfig tc = TrainConfig::from(point);
  const auto L = point.get_int("data.num_contexts");
  const auto C = point.get_int("data.num_high_prob_classes") + point.get_int("data.num_low_prob_classes");
  const auto D = point.get_int("data.num_dims");
  const double prototypes = 4.0 * static_cast<double>(C) * static_cast<double>(D);
  return transformer_memory_bytes(mc, tc.batch_size, static_cast<int>(2 * L + 1), static_cast<int>(C), static_cast<int>(D)) +
         prototypes;
}

}  // namespace icl
