#include "kinds/reddy/kind.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>

#include "iclsweep/core/error.hpp"
#include "kinds/reddy/model.hpp"

namespace icl::reddy {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kEvalChunk = 250;  // evaluation sequences per forward pass
const char* const kProgress[] = {"prev_token_attn", "ila1", "tila2", "tla2", "ih_strength", "cla"};
const char* const kProgressHelp[] = {
    "IC set, layer 1: mean attention of each token (positions 1..2N) to the token just before it",
    "IC set, layer 1: mean attention of each context label token to its own item (item-label association, ILA1)",
    "IC set, layer 2: total attention of the target to the label tokens whose item has the target's class (TILA2)",
    "IC set, layer 2: total attention of the target to all N label tokens (TLA2)",
    "IC set, layer 2: mean attention per matching label token minus mean per non-matching label token (IH strength)",
    "IC set: fraction of sequences whose predicted label is one of the labels shown in context (CLA)",
};
}  // namespace

std::vector<ParamSpec> param_specs() {
  using T = ParamType;
  const std::int64_t big = (std::int64_t{1} << 31) - 1;
  return {
      {"reddy.num_classes", T::Int, "256", "Reddy: K, the number of trained classes (a multiple of num_labels); UNKNOWN default, the §1.5 R6 value", {}, 1, 1 << 20},
      {"reddy.num_labels", T::Int, "32", "Reddy: L, the number of labels (fixed random vectors)", {}, 2, 4096},
      {"reddy.context_pairs", T::Int, "8", "Reddy: N, item-label pairs in context", {}, 2, 1024},
      {"reddy.max_context_pairs", T::Int, "32", "Reddy: Nmax; the positional one-hot has 2*Nmax+1 slots (token width 2*Nmax+1+D)", {}, 1, 4096},
      {"reddy.item_dim", T::Int, "63", "Reddy: D, the content width of items and labels", {}, 1, 4096},
      {"reddy.within_class_noise", T::Real, "0.1", "Reddy: epsilon, within-class noise; an item is (mu + eps*eta)/sqrt(1+eps^2)", {}},
      {"reddy.burstiness", T::Int, "1", "Reddy: B, copies of each class in a bursty context (divides N, < N); 0 = every sequence i.i.d.", {}, 0, 1024},
      {"reddy.zipf_alpha", T::Real, "0", "Reddy: alpha, rank-frequency exponent f(k) ∝ k^-alpha over the K classes (0 = uniform)", {}},
      {"reddy.p_bursty", T::Real, "1", "Reddy: p_B, fraction of bursty training sequences", {}},
      {"reddy.p_novel", T::Real, "0", "Reddy: p_C, fraction of training sequences drawn from novel (fresh) classes", {}},
      {"reddy.novel_classes", T::Int, "128", "Reddy: K_c, novel class means drawn per generator call (per training batch, per evaluation set)", {}, 1, 1 << 20},
      {"reddy.no_repeats", T::Bool, "1",
       "Reddy: bursty contexts pick N/B distinct labels, each a uniform class of that label (1, the original driver; ignores alpha) or N/B classes i.i.d. from f(k) (0)", {}},
      {"reddy.random_offset", T::Bool, "1", "Reddy: shift each sequence's positional one-hot by a uniform offset in 0..2(Nmax-N) (the original code does; the paper's wording is UNKNOWN)", {}},
      {"reddy.steps", T::Int, "150000", "Reddy: SGD steps (online: a fresh batch every step)", {}, 1, big},
      {"reddy.batch_size", T::Int, "128", "Reddy: sequences per SGD step", {}, 1, 65536},
      {"reddy.learning_rate", T::Real, "0.01", "Reddy: plain-SGD learning rate (no momentum)", {}},
      {"reddy.weight_decay", T::Real, "1e-06", "Reddy: per-step multiplicative shrink p <- (1 - w) p before the gradient step, every parameter (= L2 coefficient w/lr)", {}},
      {"reddy.eval_interval", T::Int, "1000", "Reddy: steps between evaluations on the four fixed sets (and at step 0 and the last step)", {}, 1, big},
      {"reddy.eval_size", T::Int, "10000", "Reddy: S, sequences in each of the Test / IC / IC2 / IW sets", {}, 1, 1 << 22},
  };
}

TrainSettings TrainSettings::from(const ParamMap& p) {
  TrainSettings t;
  t.steps = p.get_int("reddy.steps");
  t.batch_size = p.get_int32("reddy.batch_size");
  t.learning_rate = p.get_real("reddy.learning_rate");
  t.shrink = p.get_real("reddy.weight_decay");
  t.eval_interval = p.get_int("reddy.eval_interval");
  t.eval_size = p.get_int32("reddy.eval_size");
  if (!(t.learning_rate > 0)) throw ParamError("reddy.learning_rate", format_real(t.learning_rate), "must be > 0");
  if (!(t.shrink >= 0 && t.shrink < 1))
    throw ParamError("reddy.weight_decay", format_real(t.shrink), "is a per-step shrink factor: use a value in [0, 1) (the paper: 1e-6)");
  if (t.eval_interval > t.steps)
    throw ParamError("reddy.eval_interval", std::to_string(t.eval_interval),
                     "must be <= reddy.steps = " + std::to_string(t.steps) + ": lower it so that training is evaluated at least once");
  if (t.steps / t.eval_interval > 100000)
    throw ParamError("reddy.eval_interval", std::to_string(t.eval_interval), "gives more than 100000 checkpoints: raise it");
  return t;
}

std::vector<std::int64_t> TrainSettings::checkpoint_steps() const {
  std::vector<std::int64_t> s;
  for (std::int64_t k = 0; k <= steps; k += eval_interval) s.push_back(k);
  if (s.back() != steps) s.push_back(steps);
  return s;
}

double train_step_gflop(const DataConfig& c, int batch) {
  const double T = c.seq_len(), W = c.width(), L = c.L;
  const double fwd = 2 * (3 * T * W * W + T * T * W) + 2 * (2 * T * W * W + W * W + 2 * T * W) + 2 * (3 * W * W + L * W);
  return 3.0 * fwd * batch * 1e-9;  // backward ~ 2x forward
}
double eval_sequence_gflop(const DataConfig& c) { return train_step_gflop(c, 1) / 3.0; }

std::vector<std::string> ReddyKind::validate(const ParamMap& point) const {
  std::vector<std::string> errors;
  try {
    DataConfig::from(point);
  } catch (const std::exception& e) {
    errors.emplace_back(e.what());
  }
  try {
    TrainSettings::from(point);
  } catch (const std::exception& e) {
    errors.emplace_back(e.what());
  }
  return errors;
}

ResultSchema ReddyKind::schema(const ParamMap& point) const {
  const TrainSettings t = TrainSettings::from(point);
  const auto n = static_cast<std::int64_t>(t.checkpoint_steps().size());
  ResultSchema s;
  s.merge({"reddy/step", FieldType::Int32, {n}, "training step of each checkpoint", {}});
  s.merge({"reddy/train_loss", FieldType::Float32, {n}, "mean training-batch loss over the steps since the previous checkpoint (NaN at step 0)", {}});
  for (int k = 0; k < kNumEvalSets; ++k) {
    const std::string set = kEvalSetNames[k];
    s.merge({"reddy/eval/" + set + "/accuracy", FieldType::Float32, {n}, "argmax accuracy on the fixed " + set + " set (IC2: against the shifted label)", {}});
    s.merge({"reddy/eval/" + set + "/loss", FieldType::Float32, {n}, "mean cross-entropy on the fixed " + set + " set", {}});
    s.merge({"reddy/final/" + set + "/accuracy", FieldType::Float32, {}, "accuracy on the " + set + " set at the last checkpoint", {}});
  }
  for (int k = 0; k < 6; ++k)
    s.merge({std::string("reddy/progress/") + kProgress[k], FieldType::Float32, {n}, std::string("per checkpoint: ") + kProgressHelp[k], {}});
  s.merge({"reddy/ic_jump_step", FieldType::Int32, {}, "first checkpoint step with IC accuracy >= 0.5 (-1: never)", {}});
  s.merge({"model/num_parameters", FieldType::Int32, {}, "trainable parameters", {}});
  return s;
}

std::vector<CostConstant> ReddyKind::cost_constants() const {
  // Reference: a lite point (W = 64, batch 64, 30000 steps, 61 evaluations of 4 x 1000 sequences: 4650 GFLOP)
  // took 460 s on the shared 2-core development machine under load (2026-12-08): 0.099 s/GFLOP.
  return {{"reddy/train_gflop", "GFLOP of training steps (forward + backward, float)", 0.1},
          {"reddy/eval_gflop", "GFLOP of evaluation forward passes (4 sets at every checkpoint)", 0.1},
          {"reddy/sequence", "sequence generated (training batches and the evaluation sets)", 2e-06},
          {"reddy/point", "one point's fixed setup and bookkeeping", 1e-3}};
}

std::vector<CostTerm> ReddyKind::cost_terms(const ParamMap& point) const {
  const DataConfig c = DataConfig::from(point);
  const TrainSettings t = TrainSettings::from(point);
  const double ckpts = static_cast<double>(t.checkpoint_steps().size());
  const double steps = static_cast<double>(t.steps);
  return {{"reddy/train_gflop", steps * train_step_gflop(c, t.batch_size)},
          {"reddy/eval_gflop", ckpts * kNumEvalSets * t.eval_size * eval_sequence_gflop(c)},
          {"reddy/sequence", steps * t.batch_size + kNumEvalSets * static_cast<double>(t.eval_size)},
          {"reddy/point", 1}};
}

std::vector<std::vector<std::string>> ReddyKind::calibration_points() const {
  const std::vector<std::string> base = {"run.model_kind=reddy", "reddy.max_context_pairs=16", "reddy.item_dim=31", "reddy.num_classes=64"};
  return calibration_variants(base, {
      {"reddy.steps=300", "reddy.batch_size=64", "reddy.eval_interval=300", "reddy.eval_size=100"},
      {"reddy.steps=20", "reddy.batch_size=64", "reddy.eval_interval=2", "reddy.eval_size=500"},
      {"reddy.steps=50", "reddy.batch_size=1024", "reddy.eval_interval=50", "reddy.eval_size=20000"},
      {"reddy.steps=10", "reddy.batch_size=8", "reddy.eval_interval=10", "reddy.eval_size=10"},
  });
}

double ReddyKind::memory_bytes(const ParamMap& point) const {
  const DataConfig c = DataConfig::from(point);
  const TrainSettings t = TrainSettings::from(point);
  const double W = c.width(), T = c.seq_len();
  const double params = 9 * W * W + c.L * W;
  const double sets = kNumEvalSets * static_cast<double>(t.eval_size) * T * W * 4;
  const double acts = std::max(t.batch_size, kEvalChunk) * T * (12 * W + 2 * T) * 4;
  return 3 * params * 4 + sets + 2 * acts;
}

namespace {

struct SetResult {
  double accuracy = 0, loss = 0;
  double progress[6] = {0, 0, 0, 0, 0, 0};
};

// Forward passes over one fixed set in chunks; progress measures when `measures`.
SetResult evaluate(const Params<float>& p, const SeqBatch& set, int L, bool measures) {
  SetResult out;
  Cache<float> cache;
  RowMat<float> X;
  std::vector<int> answer;
  const int T = set.T, N = set.N;
  double correct = 0, loss = 0, prev = 0, ila = 0, tila = 0, tla = 0, ih = 0, cla = 0;
  for (int s0 = 0; s0 < set.size; s0 += kEvalChunk) {
    const int n = std::min(kEvalChunk, set.size - s0);
    X = set.tokens.middleRows(static_cast<Eigen::Index>(s0) * T, static_cast<Eigen::Index>(n) * T);
    answer.assign(set.answer.begin() + s0, set.answer.begin() + s0 + n);
    forward(p, X, n, T, cache);
    loss += cross_entropy(cache.logits, answer, static_cast<RowMat<float>*>(nullptr)) * n;
    for (int b = 0; b < n; ++b) {
      Eigen::Index pred = 0;
      cache.logits.row(b).maxCoeff(&pred);
      correct += pred == answer[static_cast<std::size_t>(b)];
      if (!measures) continue;
      const int s = s0 + b;
      const Eigen::Index r0 = static_cast<Eigen::Index>(b) * T;
      double pt = 0, il = 0;
      for (int i = 1; i < T; ++i) pt += cache.P1(r0 + i, i - 1);
      for (int k = 0; k < N; ++k) il += cache.P1(r0 + 2 * k + 1, 2 * k);
      prev += pt / (T - 1);
      ila += il / N;
      double match = 0, other = 0, total = 0;
      int n_match = 0;
      bool in_ctx = false;
      for (int k = 0; k < N; ++k) {
        const double a = cache.P2(b, 2 * k + 1);
        total += a;
        if (set.ctx_class[static_cast<std::size_t>(s) * N + k] == set.target_class[static_cast<std::size_t>(s)]) {
          match += a;
          ++n_match;
        } else {
          other += a;
        }
        in_ctx = in_ctx || set.ctx_label[static_cast<std::size_t>(s) * N + k] == pred;
      }
      tila += match;
      tla += total;
      const double mean_match = n_match ? match / n_match : 0, mean_other = n_match < N ? other / (N - n_match) : 0;
      ih += mean_match - mean_other;
      cla += in_ctx;
    }
  }
  const double S = set.size;
  out.accuracy = correct / S;
  out.loss = loss / S;
  const double v[6] = {prev, ila, tila, tla, ih, cla};
  for (int k = 0; k < 6; ++k) out.progress[k] = measures ? v[k] / S : kNaN;
  (void)L;
  return out;
}

}  // namespace

PointRecord ReddyKind::run(const ParamMap& point, const ProgressFn& progress) const {
  const DataConfig c = DataConfig::from(point);
  const TrainSettings t = TrainSettings::from(point);
  const auto seed = static_cast<std::uint64_t>(point.get_int("data.seed"));
  const World world = World::make(c, seed);
  // The four fixed evaluation sets, once per point.
  std::vector<SeqBatch> sets(kNumEvalSets);
  for (int k = 0; k < kNumEvalSets; ++k)
    generate(c, world, eval_settings(c, k), stream_key(seed, kReddyEval, static_cast<std::uint64_t>(k)), t.eval_size, sets[static_cast<std::size_t>(k)]);
  Params<float> params = Params<float>::init(c.width(), c.L, c.D, seed);
  Params<float> grads = Params<float>::zeros(c.width(), c.L);
  const auto ckpts = t.checkpoint_steps();
  const std::size_t nc = ckpts.size();
  std::vector<double> steps(nc), train_loss(nc, kNaN), prog[6];
  std::vector<double> acc[kNumEvalSets], los[kNumEvalSets];
  for (auto& v : prog) v.assign(nc, kNaN);
  for (int k = 0; k < kNumEvalSets; ++k) acc[k].assign(nc, kNaN), los[k].assign(nc, kNaN);
  const GenSettings train_gen = training_settings(c);
  SeqBatch batch;
  Cache<float> cache;
  RowMat<float> dlogits;
  double loss_sum = 0;
  std::int64_t loss_count = 0;
  std::size_t next = 0;
  auto checkpoint = [&](std::int64_t step) {
    steps[next] = static_cast<double>(step);
    if (loss_count) train_loss[next] = loss_sum / static_cast<double>(loss_count);
    loss_sum = 0;
    loss_count = 0;
    for (int k = 0; k < kNumEvalSets; ++k) {
      const SetResult r = evaluate(params, sets[static_cast<std::size_t>(k)], c.L, k == 1);
      acc[k][next] = r.accuracy;
      los[k][next] = r.loss;
      if (k == 1)
        for (int m = 0; m < 6; ++m) prog[m][next] = r.progress[m];
    }
    ++next;
  };
  checkpoint(0);
  for (std::int64_t step = 1; step <= t.steps; ++step) {
    generate(c, world, train_gen, stream_key(seed, kReddyBatches, static_cast<std::uint64_t>(step)), t.batch_size, batch);
    forward(params, batch.tokens, t.batch_size, batch.T, cache);
    const double loss = cross_entropy(cache.logits, batch.answer, &dlogits);
    if (!std::isfinite(loss)) throw NumericError("reddy: training loss is " + format_real(loss) + " at step " + std::to_string(step) + ": lower reddy.learning_rate");
    loss_sum += loss;
    ++loss_count;
    grads.each([](const char*, float* v, Eigen::Index n) { std::fill(v, v + n, 0.0f); });
    backward(params, cache, dlogits, grads);
    sgd_step(params, grads, t.learning_rate, t.shrink);
    if (next < nc && step == ckpts[next]) {
      checkpoint(step);
      if (progress) {
        char msg[160];
        std::snprintf(msg, sizeof msg, "step %lld/%lld loss %.3f IC %.3f IW %.3f", static_cast<long long>(step),
                      static_cast<long long>(t.steps), loss, acc[1][next - 1], acc[3][next - 1]);
        progress(static_cast<double>(step) / static_cast<double>(t.steps), msg);
      }
    }
  }
  PointRecord rec;
  rec.set_vector("reddy/step", steps);
  rec.set_vector("reddy/train_loss", train_loss);
  for (int k = 0; k < kNumEvalSets; ++k) {
    const std::string set = kEvalSetNames[k];
    rec.set_vector("reddy/eval/" + set + "/accuracy", acc[k]);
    rec.set_vector("reddy/eval/" + set + "/loss", los[k]);
    rec.set_scalar("reddy/final/" + set + "/accuracy", acc[k].back());
  }
  for (int m = 0; m < 6; ++m) rec.set_vector(std::string("reddy/progress/") + kProgress[m], prog[m]);
  double jump = -1;
  for (std::size_t i = 0; i < nc; ++i)
    if (acc[1][i] >= 0.5) {
      jump = steps[i];
      break;
    }
  rec.set_scalar("reddy/ic_jump_step", jump);
  rec.set_scalar("model/num_parameters", static_cast<double>(params.num_parameters()));
  return rec;
}

std::vector<std::pair<std::string, std::string>> ReddyKind::summary_fields() const {
  return {{"test_acc", "reddy/final/test/accuracy"},
          {"IC_acc", "reddy/final/ic/accuracy"},
          {"IC2_acc", "reddy/final/ic2/accuracy"},
          {"IW_acc", "reddy/final/iw/accuracy"},
          {"IC_jump", "reddy/ic_jump_step"}};
}

}  // namespace icl::reddy
