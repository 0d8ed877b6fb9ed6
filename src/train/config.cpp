#include "iclsweep/train/config.hpp"

#include "iclsweep/core/error.hpp"

#include <string>

namespace icl {

std::vector<ParamSpec> train_param_specs() {
  using T = ParamType;
  return {
      {"train.steps", T::Int, "1000", "optimizer steps (paper: 50000 or 100000, §2)", {}, 1, (std::int64_t{1} << 31) - 1},
      {"train.batch_size", T::Int, "32", "sequences per step, drawn with replacement from the pool (§1.6)", {}, 1, 65536},
      {"train.checkpoint_interval", T::Int, "500", "evaluate every this many steps (plus step 0 and the final step)", {}, 1, (std::int64_t{1} << 31) - 1},
      {"train.log_interval", T::Int, "50", "training loss is logged as the mean over blocks of this many steps", {}, 1, (std::int64_t{1} << 31) - 1},
      {"eval.num_eval_samples", T::Int, "1000", "draws per evaluation split, from a pool of 5x this size (§1.7)", {}, 1, std::int64_t{1} << 20},
      {"eval.num_pretraining_samples", T::Int, "10000", "draws of the `pretraining` split from the training pool (§1.7)", {}, 1, std::int64_t{1} << 24},
      {"eval.batch_size", T::Int, "100", "evaluation batch size", {}, 1, 65536},
      {"eval.default_p_relevant_context", T::Real, "", "p' of the `default` splits (§1.8); unset = the training p_rel", {}},
      {"train.selection_precision", T::String, "double",
       "accumulation of the evaluation loss that is recorded and drives checkpoint selection (§6.1): double, or "
       "float32 (per-sample loss and batch means in float, as the reference code; for exact parity)",
       {"double", "float32"}},
  };
}

std::vector<std::int64_t> TrainConfig::checkpoint_steps() const {
  std::vector<std::int64_t> out;
  for (std::int64_t s = 0; s < steps; s += checkpoint_interval) out.push_back(s);
  out.push_back(steps);
  return out;
}

TrainConfig TrainConfig::from(const ParamMap& p) {
  const TrainConfig c = read(p);
  const auto errors = c.collect_errors();
  if (!errors.empty()) throw InputError(errors.front());
  return c;
}

TrainConfig TrainConfig::read(const ParamMap& p) {
  TrainConfig c;
  c.steps = p.get_int("train.steps");
  c.batch_size = p.get_int32("train.batch_size");
  c.checkpoint_interval = p.get_int("train.checkpoint_interval");
  c.log_interval = p.get_int32("train.log_interval");
  c.num_eval_samples = p.get_int32("eval.num_eval_samples");
  c.num_pretraining_samples = p.get_int32("eval.num_pretraining_samples");
  c.eval_batch_size = p.get_int32("eval.batch_size");
  if (p.has("eval.default_p_relevant_context")) c.default_p_relevant = p.get_real("eval.default_p_relevant_context");
  const std::string precision = p.get_string("train.selection_precision");
  if (precision == "double")
    c.selection_precision = LossPrecision::Double;
  else if (precision == "float32")
    c.selection_precision = LossPrecision::Float32;
  else  // the registry's choices refuse anything else first; a guard for maps built without it
    throw ParamError("train.selection_precision", precision, "must be double or float32");
  return c;
}

std::vector<std::string> TrainConfig::collect_errors() const {
  std::vector<std::string> e;
  auto rule = [&](const char* key, const std::string& value, const char* text) {
    e.push_back(std::string("parameter '") + key + "' = " + value + ": " + text);
  };
  if (steps < 1) rule("train.steps", std::to_string(steps), "must be >= 1");
  if (batch_size < 1) rule("train.batch_size", std::to_string(batch_size), "must be >= 1");
  if (checkpoint_interval < 1) rule("train.checkpoint_interval", std::to_string(checkpoint_interval), "must be >= 1");
  if (log_interval < 1) rule("train.log_interval", std::to_string(log_interval), "must be >= 1");
  if (num_eval_samples < 1) rule("eval.num_eval_samples", std::to_string(num_eval_samples), "must be >= 1");
  if (num_pretraining_samples < 1) rule("eval.num_pretraining_samples", std::to_string(num_pretraining_samples), "must be >= 1");
  if (eval_batch_size < 1) rule("eval.batch_size", std::to_string(eval_batch_size), "must be >= 1");
  if (default_p_relevant && !(*default_p_relevant >= 0.0 && *default_p_relevant <= 1.0))
    rule("eval.default_p_relevant_context", format_real(*default_p_relevant), "must lie in [0, 1]");
  if (steps >= 1 && checkpoint_interval >= 1 && steps / checkpoint_interval > 100000)
    rule("train.checkpoint_interval", std::to_string(checkpoint_interval), "gives more than 100000 checkpoints: raise it");
  // The loss curve has steps / log_interval entries, and the results file a dataset of that length per
  // point: none (a 0-length field) or too many are refused here rather than failing every point at run time.
  if (steps >= 1 && log_interval > steps)
    e.push_back("parameter 'train.log_interval' = " + std::to_string(log_interval) + ": must be <= train.steps = " +
                std::to_string(steps) + " so that at least one training loss is logged (lower it or raise train.steps)");
  if (steps >= 1 && log_interval >= 1 && steps / log_interval > kMaxLogEntries)
    e.push_back("parameter 'train.log_interval' = " + std::to_string(log_interval) + ": gives " +
                std::to_string(steps / log_interval) + " logged losses over train.steps = " + std::to_string(steps) +
                ", more than " + std::to_string(kMaxLogEntries) + ": raise it");
  return e;
}

}  // namespace icl
