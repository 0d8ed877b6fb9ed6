#include "kinds/raventos/kind.hpp"

#include <cmath>
#include <cstdio>
#include <limits>

#include "iclsweep/core/error.hpp"
#include "kinds/raventos/baselines.hpp"
#include "kinds/raventos/model.hpp"
#include "kinds/raventos/tasks.hpp"

namespace icl::raventos {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const char* const kDists[] = {"pretrain", "true"};

ModelShape shape_of(const Params& p) {
  ModelShape s;
  s.dims = p.dims;
  s.num_examples = p.num_examples;
  s.layers = p.layers;
  s.embed_dim = p.embed_dim;
  s.heads = p.heads;
  return s;
}

// Mean over sequences of (a − b)² / D at each position (K), and its mean over positions.
std::vector<double> per_position(const std::vector<double>& a, const std::vector<double>& b, int n, int K, int D) {
  std::vector<double> out(K, 0.0);
  for (int q = 0; q < n; ++q)
    for (int k = 0; k < K; ++k) {
      const double e = a[static_cast<std::size_t>(q) * K + k] - b[static_cast<std::size_t>(q) * K + k];
      out[k] += e * e;
    }
  for (auto& v : out) v /= static_cast<double>(n) * D;
  return out;
}
double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? kNaN : s / static_cast<double>(v.size());
}

struct EvalData {
  Sequences seqs;
  RowMat<float> tokens;
  std::vector<double> ridge, dmmse;  // predictions (n, K); dmmse empty for M = ∞
};

}  // namespace

double triangle_learning_rate(const Params& p, std::int64_t step) {
  const auto warm = std::max<std::int64_t>(1, std::llround(p.warmup_fraction * static_cast<double>(p.steps)));
  if (step < warm) return p.learning_rate * static_cast<double>(step) / static_cast<double>(warm);
  const std::int64_t rest = std::max<std::int64_t>(1, p.steps - warm);
  return p.learning_rate * std::max(0.0, 1.0 - static_cast<double>(step - warm) / static_cast<double>(rest));
}

std::vector<std::string> RaventosKind::validate(const ParamMap& point) const {
  try {
    return Params::read(point).collect_errors();
  } catch (const std::exception& e) {
    return {e.what()};
  }
}

ResultSchema RaventosKind::schema(const ParamMap& point) const {
  const Params p = Params::from(point);
  const auto C = static_cast<std::int64_t>(p.checkpoint_steps().size());
  const std::int64_t K = p.num_examples;
  ResultSchema s;
  auto add = [&](const std::string& path, FieldType t, std::vector<std::int64_t> dims, const std::string& help) {
    s.merge({path, t, std::move(dims), help, {}});
  };
  add("model/num_parameters", FieldType::Float64, {}, "trainable parameters of the regression transformer");
  add("train/loss", FieldType::Float32, {p.num_log_entries()}, "training MSE (not divided by D), mean over each raventos.log_interval steps");
  add("checkpoint/step", FieldType::Int32, {C}, "training steps done at each evaluation");
  for (const char* d : kDists) {
    const std::string e = std::string("eval/") + d + "/", f = std::string("final/") + d + "/", b = std::string("baseline/") + d + "/";
    const std::string on = std::string(" on T_") + (d[0] == 'p' ? "Pretrain" : "True") + " (per D, mean over the K positions)";
    add(e + "loss", FieldType::Float32, {C}, "model MSE / D per checkpoint" + on);
    add(e + "dist_ridge", FieldType::Float32, {C}, "Δ(model, Ridge) per checkpoint" + on);
    add(e + "dist_dmmse", FieldType::Float32, {C}, "Δ(model, dMMSE) per checkpoint" + on + "; NaN for M = inf");
    add(f + "loss", FieldType::Float64, {}, "model MSE / D after training" + on);
    add(f + "dist_ridge", FieldType::Float64, {}, "Δ(model, Ridge) after training" + on);
    add(f + "dist_dmmse", FieldType::Float64, {}, "Δ(model, dMMSE) after training" + on);
    add(f + "loss_by_position", FieldType::Float64, {K}, "model MSE / D at each context position k = 1..K after training" + on);
    add(f + "dist_ridge_by_position", FieldType::Float64, {K}, "Δ(model, Ridge) at each position after training" + on);
    add(f + "dist_dmmse_by_position", FieldType::Float64, {K}, "Δ(model, dMMSE) at each position after training" + on);
    add(b + "ridge_loss", FieldType::Float64, {}, "Ridge MSE / D" + on);
    add(b + "dmmse_loss", FieldType::Float64, {}, "dMMSE MSE / D" + on + "; NaN for M = inf");
    add(b + "ridge_loss_by_position", FieldType::Float64, {K}, "Ridge MSE / D at each position" + on);
    add(b + "dmmse_loss_by_position", FieldType::Float64, {K}, "dMMSE MSE / D at each position" + on);
    add(b + "dist_ridge_dmmse", FieldType::Float64, {}, "Δ(dMMSE, Ridge)" + on);
  }
  add("early_stop/step", FieldType::Int32, {}, "t*: the checkpoint step with the smallest Δ(model, Ridge) on T_Pretrain (§3.4)");
  add("early_stop/dist_ridge", FieldType::Float64, {}, "Δ(model, Ridge) on T_Pretrain at t*");
  return s;
}

std::vector<CostConstant> RaventosKind::cost_constants() const {
  return {{"raventos/train_gflop", "GFLOP of training-step matmuls (forward + backward)", 0.15},
          {"raventos/eval_gflop", "GFLOP of evaluation forward passes (every checkpoint, both distributions)", 0.12},
          {"raventos/baseline_gop", "10^9 pool-task likelihood updates of dMMSE and ridge solve operations", 2.0},
          {"raventos/normal", "normal deviate drawn (training sequences, task pool, evaluation sets)", 3e-08},
          {"raventos/point", "one point's fixed setup and records", 1e-3}};
}

std::vector<CostTerm> RaventosKind::cost_terms(const ParamMap& point) const {
  const Params p = Params::from(point);
  const ModelShape s = shape_of(p);
  const double C = static_cast<double>(p.checkpoint_steps().size()), n = p.eval_sequences, K = p.num_examples, D = p.dims;
  const double M = static_cast<double>(p.num_tasks);
  const double baseline = 2.0 * n * K * (D * D * D / 3.0 + 2.0 * D * D) + n * K * M * (D + 3.0);
  const double normals = static_cast<double>(p.steps) * p.batch_size * (K * (D + 1) + D + 1) + M * D + 2.0 * n * K * (D + 1);
  return {{"raventos/train_gflop", static_cast<double>(p.steps) * s.train_step_flops(p.batch_size) * 1e-9},
          {"raventos/eval_gflop", C * 2.0 * s.forward_flops(p.eval_sequences) * 1e-9},
          {"raventos/baseline_gop", baseline * 1e-9},
          {"raventos/normal", normals},
          {"raventos/point", 1}};
}

std::vector<std::vector<std::string>> RaventosKind::calibration_points() const {
  const std::vector<std::string> base = {"run.model_kind=raventos", "raventos.dims=4", "raventos.num_examples=8",
                                         "raventos.layers=1", "raventos.embed_dim=16", "raventos.heads=2"};
  return calibration_variants(base, {
      {"raventos.steps=400", "raventos.batch_size=64", "raventos.eval_interval=400", "raventos.log_interval=100",
       "raventos.eval_sequences=64", "raventos.num_tasks=16"},
      {"raventos.steps=100", "raventos.batch_size=32", "raventos.eval_interval=100", "raventos.log_interval=100",
       "raventos.eval_sequences=512", "raventos.num_tasks=2^14"},
      {"raventos.steps=100", "raventos.batch_size=32", "raventos.eval_interval=5", "raventos.log_interval=100",
       "raventos.eval_sequences=512", "raventos.num_tasks=0"},
      {"raventos.steps=200", "raventos.batch_size=128", "raventos.eval_interval=200", "raventos.log_interval=100",
       "raventos.eval_sequences=64", "raventos.num_tasks=0", "raventos.layers=2", "raventos.embed_dim=32"},
      {"raventos.steps=20", "raventos.batch_size=4", "raventos.eval_interval=20", "raventos.log_interval=10",
       "raventos.eval_sequences=8", "raventos.num_tasks=4"},
  });
}

double RaventosKind::memory_bytes(const ParamMap& point) const {
  const Params p = Params::from(point);
  const ModelShape s = shape_of(p);
  const double rows = static_cast<double>(p.batch_size) * s.tokens(), E = p.embed_dim;
  const double per_layer = rows * (26.0 * E) + static_cast<double>(p.batch_size) * p.heads * s.tokens() * s.tokens();
  const double activations = 4.0 * (p.layers * per_layer + rows * 16.0 * E);
  const double eval = 2.0 * p.eval_sequences * (s.tokens() * (p.dims + 1.0) * 4 + p.num_examples * (p.dims + 4.0) * 8);
  return 16.0 * static_cast<double>(s.num_parameters()) + activations + eval + 8.0 * static_cast<double>(p.num_tasks) * p.dims;
}

PointRecord RaventosKind::run(const ParamMap& point, const ProgressFn& progress) const {
  const Params p = Params::from(point);
  const int K = p.num_examples, D = p.dims, B = p.batch_size;
  const TaskPool pool(D, p.num_tasks, p.seed);

  // The evaluation sets and their baselines, once per point.
  EvalData ev[2];
  for (int d = 0; d < 2; ++d) {
    ev[d].seqs = evaluation_sequences(pool, static_cast<Distribution>(d), p.eval_sequences, K, p.noise_variance, p.seed);
    to_tokens(ev[d].seqs, ev[d].tokens);
    ev[d].ridge = ridge_predictions(ev[d].seqs, p.noise_variance);
    if (!pool.infinite()) ev[d].dmmse = dmmse_predictions(ev[d].seqs, pool, p.noise_variance);
  }

  RegressionTransformer model(shape_of(p), p.seed);
  PointRecord record;
  record.set_scalar("model/num_parameters", static_cast<double>(model.store().size()));

  const auto ckpts = p.checkpoint_steps();
  const std::size_t C = ckpts.size();
  std::vector<double> loss_curve;
  std::vector<double> steps_done;
  std::vector<std::vector<double>> e_loss(2), e_ridge(2), e_dmmse(2);
  std::vector<double> last_pred[2];

  auto evaluate = [&]() {
    for (int d = 0; d < 2; ++d) {
      std::vector<float> pred;
      model.predict(ev[d].tokens, pred);
      last_pred[d].assign(pred.begin(), pred.end());
      const auto& y = ev[d].seqs.y;
      e_loss[d].push_back(mean(per_position(last_pred[d], y, p.eval_sequences, K, D)));
      e_ridge[d].push_back(mean(per_position(last_pred[d], ev[d].ridge, p.eval_sequences, K, D)));
      e_dmmse[d].push_back(ev[d].dmmse.empty() ? kNaN : mean(per_position(last_pred[d], ev[d].dmmse, p.eval_sequences, K, D)));
    }
  };

  RowMat<float> tokens;
  std::vector<float> y(static_cast<std::size_t>(B) * K);
  double log_sum = 0;
  std::size_t next_ckpt = 0;
  const std::int64_t progress_every = std::max<std::int64_t>(1, p.steps / 200);
  for (std::int64_t step = 0; step < p.steps; ++step) {
    const Sequences batch = training_sequences(pool, step, B, K, p.noise_variance, p.seed);
    to_tokens(batch, tokens);
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<float>(batch.y[i]);
    const double loss = model.loss_and_gradient(tokens, y);
    if (!std::isfinite(loss)) {
      char msg[256];
      std::snprintf(msg, sizeof msg,
                    "raventos: the training loss is not finite at step %lld (learning rate %.3g of peak raventos.learning_rate = %s): "
                    "lower raventos.learning_rate",
                    static_cast<long long>(step), triangle_learning_rate(p, step), format_real(p.learning_rate).c_str());
      throw NumericError(msg);
    }
    model.adam_step(triangle_learning_rate(p, step), p.weight_decay);
    log_sum += loss;
    if ((step + 1) % p.log_interval == 0) {
      loss_curve.push_back(log_sum / static_cast<double>(p.log_interval));
      log_sum = 0;
    }
    if (next_ckpt < C && step + 1 == ckpts[next_ckpt]) {
      evaluate();
      steps_done.push_back(static_cast<double>(step + 1));
      ++next_ckpt;
    }
    if (progress && ((step + 1) % progress_every == 0 || step + 1 == p.steps)) {
      char status[128];
      std::snprintf(status, sizeof status, "step %lld/%lld loss %.4g", static_cast<long long>(step + 1),
                    static_cast<long long>(p.steps), loss);
      progress(static_cast<double>(step + 1) / static_cast<double>(p.steps), status);
    }
  }

  record.set_vector("train/loss", loss_curve);
  record.set_vector("checkpoint/step", steps_done);
  for (int d = 0; d < 2; ++d) {
    const std::string e = std::string("eval/") + kDists[d] + "/", f = std::string("final/") + kDists[d] + "/",
                      b = std::string("baseline/") + kDists[d] + "/";
    const auto& y = ev[d].seqs.y;
    const int n = p.eval_sequences;
    record.set_vector(e + "loss", e_loss[d]);
    record.set_vector(e + "dist_ridge", e_ridge[d]);
    record.set_vector(e + "dist_dmmse", e_dmmse[d]);
    const auto lp = per_position(last_pred[d], y, n, K, D), rp = per_position(last_pred[d], ev[d].ridge, n, K, D);
    const auto rl = per_position(ev[d].ridge, y, n, K, D);
    const bool has_dmmse = !ev[d].dmmse.empty();
    const auto dp = has_dmmse ? per_position(last_pred[d], ev[d].dmmse, n, K, D) : std::vector<double>(K, kNaN);
    const auto dl = has_dmmse ? per_position(ev[d].dmmse, y, n, K, D) : std::vector<double>(K, kNaN);
    record.set_scalar(f + "loss", mean(lp));
    record.set_scalar(f + "dist_ridge", mean(rp));
    record.set_scalar(f + "dist_dmmse", mean(dp));
    record.set_vector(f + "loss_by_position", lp);
    record.set_vector(f + "dist_ridge_by_position", rp);
    record.set_vector(f + "dist_dmmse_by_position", dp);
    record.set_scalar(b + "ridge_loss", mean(rl));
    record.set_scalar(b + "dmmse_loss", mean(dl));
    record.set_vector(b + "ridge_loss_by_position", rl);
    record.set_vector(b + "dmmse_loss_by_position", dl);
    record.set_scalar(b + "dist_ridge_dmmse", has_dmmse ? mean(per_position(ev[d].dmmse, ev[d].ridge, n, K, D)) : kNaN);
  }
  std::size_t best = 0;
  for (std::size_t c = 1; c < e_ridge[0].size(); ++c)
    if (e_ridge[0][c] < e_ridge[0][best]) best = c;
  record.set_scalar("early_stop/step", steps_done.empty() ? -1 : steps_done[best]);
  record.set_scalar("early_stop/dist_ridge", e_ridge[0].empty() ? kNaN : e_ridge[0][best]);
  return record;
}

std::vector<std::pair<std::string, std::string>> RaventosKind::summary_fields() const {
  return {{"loss_pre", "final/pretrain/loss"},
          {"loss_true", "final/true/loss"},
          {"ridge_true", "baseline/true/ridge_loss"},
          {"dmmse_true", "baseline/true/dmmse_loss"},
          {"d_ridge_true", "final/true/dist_ridge"},
          {"d_dmmse_pre", "final/pretrain/dist_dmmse"}};
}

}  // namespace icl::raventos
