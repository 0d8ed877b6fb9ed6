#include "kinds/gated/gated_kind.hpp"

#include <cmath>
#include <limits>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/rng.hpp"
#include "iclsweep/train/trainer.hpp"

namespace icl {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Per checkpoint and split, under alpha/eval/<split>/ (and alpha/selected/<split>/ at the selected checkpoint).
const char* const kGateMetricNames[] = {"p_iwl", "p_iwl_ge_half", "p_iwl_ge_half_given_context", "ic_pred", "iw_pred"};
const char* const kGateMetricHelp[] = {
    "mean gate alpha (p_iwl, weight on g) over the split",
    "fraction of samples with alpha >= 0.5",
    "fraction with alpha >= 0.5 among samples whose context holds the query class (NaN if none)",
    "accuracy of a class sampled from h (not argmax) against the observed query label",
    "accuracy of a class sampled from p_g (not argmax) against the observed query label",
};
// The same checkpoint's g and h evaluated alone: alpha/eval_iw/<split>/, alpha/eval_ic/<split>/.
const char* const kAloneMetricNames[] = {"error", "loss"};

double ratio(double num, std::int64_t den) { return den ? num / static_cast<double>(den) : kNaN; }

// A class drawn from the distribution `p` (C entries, need not sum exactly to 1 in float).
int sample_class(const float* p, int C, Philox& rng) {
  double total = 0;
  for (int c = 0; c < C; ++c) total += p[c];
  const double u = rng.uniform() * total;
  double cum = 0;
  int last_positive = 0;
  for (int c = 0; c < C; ++c) {
    if (p[c] <= 0) continue;
    last_positive = c;
    cum += p[c];
    if (u < cum) return c;
  }
  return last_positive;
}

// Estimated run time of each stage in seconds on one idle core of the development machine, from a fit to
// measured Release timings (2026-11, see the report of the gated-kind commit); the cost model prices the
// training and the evaluation seconds with machine constants (gated/train_second, gated/eval_second, fitted
// by `iclsweep calibrate`: the evaluations cost ~2.6x what this fit says):
//   per sequence and training step  1.77 µs + 0.33 µs·(L−1) + 0.0123 µs·(C−10)
//   per sequence and evaluation pass 0.47 µs + 0.20 µs·(L−1) + 0.0106 µs·(C−10)
// (L = 1, C = 10, 15000 steps + 33 checkpoints: 1.32 s measured; L = 8: 3.86 s; C = 500: 9.48 s).
// The mixture is evaluated twice per checkpoint (the trainer's pass and the gate-metric pass).
struct StageCosts {
  double p0_g = 0, p0_h = 0, mixture = 0;  // seconds of each stage (progress fractions)
  double train = 0, eval = 0;              // seconds of all training steps, of all evaluations
};

StageCosts stage_costs(const ParamMap& point, const TrainConfig& tc, const GatedParams& gp) {
  const double L = static_cast<double>(point.get_int("data.num_contexts"));
  const double C = static_cast<double>(point.get_int("data.num_high_prob_classes") + point.get_int("data.num_low_prob_classes"));
  const double train_us = 1.77 + 0.33 * (L - 1) + 0.0123 * (C - 10);
  const double eval_us = 0.47 + 0.20 * (L - 1) + 0.0106 * (C - 10);
  const double B = tc.batch_size;
  const double eval_seqs = 18.0 * tc.num_eval_samples + tc.num_pretraining_samples;
  StageCosts s;
  auto stage = [&](double steps, double interval, double eval_passes) {
    const double checkpoints = std::floor(steps / std::max(1.0, interval)) + 1;
    const double train = steps * B * train_us * 1e-6, eval = checkpoints * eval_seqs * eval_passes * eval_us * 1e-6;
    s.train += train;
    s.eval += eval;
    return train + eval;
  };
  const double p0 = static_cast<double>(gp.p0_steps), p0i = static_cast<double>(gp.p0_checkpoint_interval);
  s.p0_g = stage(p0, p0i, 1);
  s.p0_h = stage(p0, p0i, 1);
  s.mixture = stage(static_cast<double>(tc.steps), static_cast<double>(tc.checkpoint_interval), 2);
  return s;
}

}  // namespace

std::vector<ParamSpec> gated_param_specs() {
  using T = ParamType;
  return {
      {"model.gated_protocol", T::String, "p2",
       "gated model (§3): how the mixture is trained after P0-g and P0-h: p1 (alpha on frozen g, h; Adam), p2 (alpha, g, h "
       "jointly from P0's g, h; Adam), p2_fresh (alpha, g, h jointly from a fresh init; Adam; what the paper's stylized "
       "figures show, docs/gated-protocols.md), p3 (alpha on frozen g, h; plain SGD with gated.sgd_learning_rate)",
       {"p1", "p2", "p2_fresh", "p3"}},
      {"model.ic_temperature", T::String, "double_exp",
       "gated model: temperature of h, T = exp(exp(theta)) + 1e-8 (double_exp, quirk Q8) or exp(theta) + 1e-8 (exp)",
       {"double_exp", "exp"}},
      {"gated.p0_steps", T::Int, "", "gated model: steps of each P0 stage (g alone, h alone); unset = train.steps", {}, 1, (std::int64_t{1} << 31) - 1},
      {"gated.p0_checkpoint_interval", T::Int, "",
       "gated model: checkpoint interval of the P0 stages; unset = train.checkpoint_interval", {}, 1, (std::int64_t{1} << 31) - 1},
      {"gated.sgd_learning_rate", T::Real, "1e-05", "gated model: plain-SGD learning rate of protocol p3 (> 0)", {}},
  };
}

GatedParams GatedParams::from(const ParamMap& p) {
  GatedParams g;
  const std::string temp = p.get_string("model.ic_temperature");
  if (temp == "double_exp")
    g.temperature = IcTemperature::DoubleExp;
  else if (temp == "exp")
    g.temperature = IcTemperature::Exp;
  else
    throw ParamError("model.ic_temperature", temp, "must be double_exp or exp");
  g.protocol = p.get_string("model.gated_protocol");
  if (g.protocol != "p1" && g.protocol != "p2" && g.protocol != "p2_fresh" && g.protocol != "p3")
    throw ParamError("model.gated_protocol", g.protocol, "must be p1, p2, p2_fresh or p3");
  g.p0_steps = p.has("gated.p0_steps") ? p.get_int("gated.p0_steps") : p.get_int("train.steps");
  g.p0_checkpoint_interval =
      p.has("gated.p0_checkpoint_interval") ? p.get_int("gated.p0_checkpoint_interval") : p.get_int("train.checkpoint_interval");
  g.learning_rate = p.get_real("train.learning_rate");
  g.sgd_learning_rate = p.get_real("gated.sgd_learning_rate");
  if (p.get_real("train.weight_decay") != 0)
    throw ParamError("train.weight_decay", p.get_string("train.weight_decay"),
                     "the gated model has no weight decay (it applies to run.model_kind = transformer and omniglot): leave it at 0");
  if (g.p0_steps < 1) throw ParamError("gated.p0_steps", std::to_string(g.p0_steps), "must be >= 1");
  if (g.p0_checkpoint_interval < 1)
    throw ParamError("gated.p0_checkpoint_interval", std::to_string(g.p0_checkpoint_interval), "must be >= 1");
  if (g.p0_steps / g.p0_checkpoint_interval > 100000)
    throw ParamError("gated.p0_checkpoint_interval", std::to_string(g.p0_checkpoint_interval),
                     "gives more than 100000 P0 checkpoints: raise it");
  // The P0 stages log with train.log_interval: their own step count must allow one entry and not too many.
  if (p.has("gated.p0_steps")) {
    const std::int64_t log_interval = p.get_int("train.log_interval");
    if (log_interval > g.p0_steps)
      throw ParamError("gated.p0_steps", std::to_string(g.p0_steps),
                       "must be >= train.log_interval = " + std::to_string(log_interval) +
                           " so that each P0 stage logs at least one training loss (raise it or lower train.log_interval)");
    if (log_interval >= 1 && g.p0_steps / log_interval > TrainConfig::kMaxLogEntries)
      throw ParamError("gated.p0_steps", std::to_string(g.p0_steps),
                       "gives more than " + std::to_string(TrainConfig::kMaxLogEntries) +
                           " logged losses per P0 stage at train.log_interval = " + std::to_string(log_interval) +
                           ": raise train.log_interval");
  }
  if (!(g.learning_rate > 0)) throw ParamError("train.learning_rate", format_real(g.learning_rate), "must be > 0");
  if (!(g.sgd_learning_rate > 0)) throw ParamError("gated.sgd_learning_rate", format_real(g.sgd_learning_rate), "must be > 0");
  return g;
}

double GatedSplitMetrics::p_iwl() const { return ratio(alpha_sum, count); }
double GatedSplitMetrics::p_iwl_ge_half() const { return ratio(alpha_ge_half, count); }
double GatedSplitMetrics::p_iwl_ge_half_given_context() const {
  return with_context > 0 ? alpha_ge_half_context / with_context : kNaN;
}
double GatedSplitMetrics::ic_pred() const { return ratio(ic_correct, count); }
double GatedSplitMetrics::iw_pred() const { return ratio(iw_correct, count); }

std::vector<GatedSplitMetrics> evaluate_gated_splits(GatedModel& model, const EvalSet& eval, std::uint64_t seed,
                                                     std::size_t checkpoint) {
  std::vector<GatedSplitMetrics> out(eval.splits().size());
  Batch batch;
  GatedModel::Outputs o;
  const int C = model.num_classes();
  for (std::size_t s = 0; s < eval.splits().size(); ++s) {
    if (!eval.valid(s)) continue;
    GatedSplitMetrics& m = out[s];
    const StreamKey key = stream_key(seed, Purpose::Sampling, kGatedSamplingTag + s, checkpoint);
    std::int64_t sample = 0;
    for (int k = 0; k < eval.num_batches(s); ++k) {
      eval.assemble(s, k, batch);
      model.outputs(batch, o);
      // g alone and h alone through the trainer's own metric code (error vs the observed label, loss vs label_dist).
      m.ic.add(o.ic_logits, batch);
      m.iw.add(o.g_logits, batch);
      // Row-major copies so each sample's distribution is contiguous for sampling.
      const RowMat<float> h = o.h, p = o.p_g;
      for (int b = 0; b < batch.size; ++b, ++sample) {
        const double a = o.alpha(b);
        const bool ctx = batch.context_contains_query(b);
        m.alpha_sum += a;
        m.alpha_ge_half += a >= 0.5;
        m.with_context += ctx;
        m.alpha_ge_half_context += ctx && a >= 0.5;
        Philox rng(key, static_cast<std::uint64_t>(sample));
        const int y = batch.target(b);
        m.ic_correct += sample_class(h.row(b).data(), C, rng) == y;
        m.iw_correct += sample_class(p.row(b).data(), C, rng) == y;
        ++m.count;
      }
    }
  }
  return out;
}

std::vector<std::string> GatedKind::validate(const ParamMap& point) const {
  auto errors = training_point_errors(point, [](const ParamMap& p) { GatedParams::from(p); });
  for (auto& e : synthetic_eval_errors(point)) errors.push_back(std::move(e));
  return errors;
}

ResultSchema GatedKind::schema(const ParamMap& point) const {
  const TrainConfig tc = TrainConfig::from(point);
  const GatedParams gp = GatedParams::from(point);
  TrainConfig p0 = tc;
  p0.steps = gp.p0_steps;
  p0.checkpoint_interval = gp.p0_checkpoint_interval;
  const auto splits = evaluation_splits();
  const auto n_p0 = static_cast<std::int64_t>(p0.checkpoint_steps().size());
  const auto n_mix = static_cast<std::int64_t>(tc.checkpoint_steps().size());
  ResultSchema s;
  add_training_fields(s, "iw/", splits, p0.num_log_entries(), n_p0);
  add_training_fields(s, "ic/", splits, p0.num_log_entries(), n_p0);
  add_training_fields(s, "alpha/", splits, tc.num_log_entries(), n_mix);
  for (const auto& sp : splits) {
    for (std::size_t i = 0; i < 5; ++i) {
      s.merge({"alpha/eval/" + sp.name + "/" + kGateMetricNames[i], FieldType::Float32, {n_mix},
               std::string("mixture, per checkpoint: ") + kGateMetricHelp[i], {}});
      s.merge({"alpha/selected/" + sp.name + "/" + kGateMetricNames[i], FieldType::Float32, {},
               std::string("mixture, at the selected checkpoint: ") + kGateMetricHelp[i], {}});
    }
    for (const char* m : kAloneMetricNames) {
      s.merge({"alpha/eval_ic/" + sp.name + "/" + m, FieldType::Float32, {n_mix},
               std::string("per mixture checkpoint, h of that checkpoint evaluated alone: ") + m, {}});
      s.merge({"alpha/eval_iw/" + sp.name + "/" + m, FieldType::Float32, {n_mix},
               std::string("per mixture checkpoint, g of that checkpoint evaluated alone: ") + m, {}});
      s.merge({"alpha/selected_ic/" + sp.name + "/" + m, FieldType::Float32, {},
               std::string("at the mixture's selected checkpoint, h alone: ") + m, {}});
      s.merge({"alpha/selected_iw/" + sp.name + "/" + m, FieldType::Float32, {},
               std::string("at the mixture's selected checkpoint, g alone: ") + m, {}});
      s.merge({"alpha/own_selected_ic/" + sp.name + "/" + m, FieldType::Float32, {},
               std::string("the mixture's h alone at its own selected checkpoint (alpha/own_selected_ic/index): ") + m, {}});
      s.merge({"alpha/own_selected_iw/" + sp.name + "/" + m, FieldType::Float32, {},
               std::string("the mixture's g alone at its own selected checkpoint (alpha/own_selected_iw/index): ") + m, {}});
    }
  }
  s.merge({"alpha/own_selected_ic/index", FieldType::Int32, {},
           "mixture checkpoint index with the last minimal pretraining loss of h alone (how the paper reads its h line)", {}});
  s.merge({"alpha/own_selected_iw/index", FieldType::Int32, {},
           "mixture checkpoint index with the last minimal pretraining loss of g alone (how the paper reads its g line)", {}});
  s.merge({"alpha/checkpoint/temperature", FieldType::Float32, {n_mix}, "h temperature T at each mixture checkpoint", {}});
  s.merge({"ic/temperature", FieldType::Float32, {}, "h temperature T after P0-h (the mixture's starting T, except p2_fresh)", {}});
  s.merge({"alpha/temperature", FieldType::Float32, {}, "h temperature T after the mixture stage", {}});
  s.merge({"model/num_parameters", FieldType::Int32, {}, "trainable parameters of g, h (theta) and alpha together", {}});
  return s;
}

std::vector<CostConstant> GatedKind::cost_constants() const {
  return {{"gated/train_second", "second of training steps in the fitted model above (P0-g, P0-h, the mixture)", 1.1},
          {"gated/eval_second", "second of evaluation in the fitted model above (every checkpoint of every stage)", 2.6},
          {"gated/sample", "sequence generated: the training pool (data.dataset_size) and the evaluation sets", 4e-08},
          {"gated/point", "one point's fixed setup and bookkeeping", 8.1e-05}};
}

std::vector<CostTerm> GatedKind::cost_terms(const ParamMap& point) const {
  const TrainConfig tc = TrainConfig::from(point);
  const StageCosts c = stage_costs(point, tc, GatedParams::from(point));
  const double eval_sequences = 18.0 * tc.num_eval_samples + tc.num_pretraining_samples;
  return {{"gated/train_second", c.train},
          {"gated/eval_second", c.eval},
          {"gated/sample", static_cast<double>(point.get_int("data.dataset_size")) + eval_sequences},
          {"gated/point", 1}};
}

std::vector<std::vector<std::string>> GatedKind::calibration_points() const {
  const std::vector<std::string> base = {"run.model_kind=gated", "data.input_noise_std=0.2", "data.num_contexts=1",
                                         "model.gated_protocol=p2_fresh", "train.log_interval=50"};
  return calibration_variants(base, {
      {"gated.p0_steps=1000", "train.steps=3000", "train.checkpoint_interval=1000", "data.dataset_size=64",
            "eval.num_eval_samples=50", "eval.num_pretraining_samples=200"},
      {"gated.p0_steps=100", "train.steps=200", "train.checkpoint_interval=100", "data.dataset_size=2^20",
            "eval.num_eval_samples=50", "eval.num_pretraining_samples=200"},
      {"gated.p0_steps=50", "train.steps=50", "train.checkpoint_interval=50", "data.dataset_size=64",
            "eval.num_eval_samples=10", "eval.num_pretraining_samples=50"},
      {"gated.p0_steps=500", "train.steps=1000", "train.checkpoint_interval=100", "data.dataset_size=2^12",
            "eval.num_eval_samples=200", "eval.num_pretraining_samples=1000"},
      {"gated.p0_steps=100", "train.steps=300", "train.checkpoint_interval=50", "data.dataset_size=64",
            "eval.num_eval_samples=500", "eval.num_pretraining_samples=2000"},
      {"gated.p0_steps=2000", "train.steps=2000", "train.checkpoint_interval=2000", "data.dataset_size=64",
            "data.num_contexts=4", "eval.num_eval_samples=50", "eval.num_pretraining_samples=200"},
  });
}

// g and h are transformers of model.* each (P0 trains both; the mixture holds both).
double GatedKind::memory_bytes(const ParamMap& point) const { return 2.0 * synthetic_transformer_memory_bytes(point); }

std::vector<std::string> GatedKind::size_keys() const { return transformer_size_keys(); }

std::vector<ResultView> GatedKind::result_views() const {
  return {{"iw/", "g alone (P0, iw/)", {}},
          {"ic/", "h alone (P0, ic/)", {}},
          {"alpha/", "the mixture f (alpha/)", {{"alpha/selected_iw/", "g:"}, {"alpha/selected_ic/", "h:"}}}};
}

PointRecord GatedKind::run(const ParamMap& point, const ProgressFn& progress) const {
  TrainingData data = TrainingData::build(point);
  const GatedParams gp = GatedParams::from(point);
  const TrainConfig mixture_tc = data.train;
  TrainConfig p0_tc = mixture_tc;
  p0_tc.steps = gp.p0_steps;
  p0_tc.checkpoint_interval = gp.p0_checkpoint_interval;
  const StageCosts sc = stage_costs(point, mixture_tc, gp);
  const double total = sc.p0_g + sc.p0_h + sc.mixture;
  const double end_g = sc.p0_g / total, end_h = (sc.p0_g + sc.p0_h) / total;

  GatedConfig cfg;
  cfg.temperature = gp.temperature;
  GatedModel model(cfg, data.data.num_classes(), data.data.num_contexts, data.data.num_dims, data.data.seed);
  const std::vector<float> fresh_init = model.parameter_values();  // g, θ, α as initialised from the seed
  PointRecord record;
  record.set_scalar("model/num_parameters", static_cast<double>(model.num_parameters()));

  // P0: g alone, then h alone, from their inits; the same minibatch stream for both.
  data.train = p0_tc;
  model.set_stage(GatedOutput::InWeight, {true, false, false}, GatedOptimizer::Adam, gp.learning_rate);
  train_and_evaluate(model, data, "iw/", record, progress, 0.0, end_g);
  model.set_stage(GatedOutput::InContext, {false, true, false}, GatedOptimizer::Adam, gp.learning_rate);
  train_and_evaluate(model, data, "ic/", record, progress, end_g, end_h);
  record.set_scalar("ic/temperature", model.temperature());

  // The mixture: α fresh (untouched so far), g and θ as P0 left them, or for p2_fresh back at the init
  // P0 started from (α was frozen through P0, so it is at its init either way).
  data.train = mixture_tc;
  if (gp.protocol == "p2_fresh") model.set_parameter_values(fresh_init);
  const bool sgd = gp.protocol == "p3";
  const bool joint = gp.protocol == "p2" || gp.protocol == "p2_fresh";
  const GatedTrainable trainable = joint ? GatedTrainable{true, true, true} : GatedTrainable{false, false, true};
  model.set_stage(GatedOutput::Mixture, trainable, sgd ? GatedOptimizer::Sgd : GatedOptimizer::Adam,
                  sgd ? gp.sgd_learning_rate : gp.learning_rate);

  const auto& splits = data.eval->splits();
  const std::size_t num_ckpt = mixture_tc.checkpoint_steps().size(), num_splits = splits.size();
  // gate[split][metric][checkpoint], alone[split][ic error, ic loss, iw error, iw loss][checkpoint]
  std::vector<std::vector<std::vector<double>>> gate(num_splits, std::vector<std::vector<double>>(5, std::vector<double>(num_ckpt, kNaN)));
  std::vector<std::vector<std::vector<double>>> alone(num_splits, std::vector<std::vector<double>>(4, std::vector<double>(num_ckpt, kNaN)));
  std::vector<double> temperature(num_ckpt, kNaN);
  const auto hook = [&](std::size_t c) {
    temperature[c] = model.temperature();
    const auto m = evaluate_gated_splits(model, *data.eval, data.data.seed, c);
    const LossPrecision precision = mixture_tc.selection_precision;
    for (std::size_t s = 0; s < num_splits; ++s) {
      if (!data.eval->valid(s)) continue;
      const double g[5] = {m[s].p_iwl(), m[s].p_iwl_ge_half(), m[s].p_iwl_ge_half_given_context(), m[s].ic_pred(), m[s].iw_pred()};
      const double a[4] = {m[s].ic.error(), m[s].ic.mean_loss(precision), m[s].iw.error(), m[s].iw.mean_loss(precision)};
      for (int i = 0; i < 5; ++i) gate[s][i][c] = g[i];
      for (int i = 0; i < 4; ++i) alone[s][i][c] = a[i];
    }
  };
  train_and_evaluate(model, data, "alpha/", record, progress, end_h, 1.0, hook);
  record.set_scalar("alpha/temperature", model.temperature());
  record.set_vector("alpha/checkpoint/temperature", temperature);

  const auto& sel_field = record.fields.at("alpha/selected/index");
  const int selected = sel_field.values.empty() ? -1 : static_cast<int>(sel_field.values[0]);
  auto at_selected = [&](const std::vector<double>& v) { return selected >= 0 ? v[static_cast<std::size_t>(selected)] : kNaN; };
  // g and h each at its own checkpoint: the last minimal pretraining loss of g alone / h alone (§6.1's rule).
  const std::size_t pre = data.eval->find("pretraining");
  const int own_ic = select_checkpoint(alone[pre][1]), own_iw = select_checkpoint(alone[pre][3]);
  record.set_scalar("alpha/own_selected_ic/index", own_ic);
  record.set_scalar("alpha/own_selected_iw/index", own_iw);
  auto at = [](const std::vector<double>& v, int i) { return i >= 0 ? v[static_cast<std::size_t>(i)] : kNaN; };
  for (std::size_t s = 0; s < num_splits; ++s) {
    const std::string& n = splits[s].name;
    for (int i = 0; i < 5; ++i) {
      record.set_vector("alpha/eval/" + n + "/" + kGateMetricNames[i], gate[s][i]);
      record.set_scalar("alpha/selected/" + n + "/" + kGateMetricNames[i], at_selected(gate[s][i]));
    }
    for (int i = 0; i < 2; ++i) {
      record.set_vector("alpha/eval_ic/" + n + "/" + kAloneMetricNames[i], alone[s][i]);
      record.set_vector("alpha/eval_iw/" + n + "/" + kAloneMetricNames[i], alone[s][2 + i]);
      record.set_scalar("alpha/selected_ic/" + n + "/" + kAloneMetricNames[i], at_selected(alone[s][i]));
      record.set_scalar("alpha/selected_iw/" + n + "/" + kAloneMetricNames[i], at_selected(alone[s][2 + i]));
      record.set_scalar("alpha/own_selected_ic/" + n + "/" + kAloneMetricNames[i], at(alone[s][i], own_ic));
      record.set_scalar("alpha/own_selected_iw/" + n + "/" + kAloneMetricNames[i], at(alone[s][2 + i], own_iw));
    }
  }
  return record;
}

std::vector<std::pair<std::string, std::string>> GatedKind::summary_fields() const {
  return {{"iw_relCL_err", "iw/selected/eval-relevant_context-low_prob/error"},
          {"ic_relCL_err", "ic/selected/eval-relevant_context-low_prob/error"},
          {"p_iwl_relCH", "alpha/selected/eval-relevant_context-high_prob/p_iwl"},
          {"p_iwl_relCL", "alpha/selected/eval-relevant_context-low_prob/p_iwl"},
          {"OOBD_err", "alpha/selected/eval-default-none-flip_label/error"}};
}

}  // namespace icl
