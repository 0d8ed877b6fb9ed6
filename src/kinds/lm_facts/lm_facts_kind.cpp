#include "kinds/lm_facts/lm_facts_kind.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

#include <xxhash.h>

#include "iclsweep/core/error.hpp"
#include "iclsweep/lm/lm_probes.hpp"

namespace icl::lm {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kDecodeTokens = 12;        // greedy decode length for the record (the longest city is 9 + EOS)
constexpr std::uint64_t kEvalStream = 1, kRemedyStream = 2;
constexpr std::uint64_t kLossSetOffset = 1u << 20;  // eval-stream cells of the LM-loss set (the ICL set uses 0..)

// Keys that do not change pretraining: everything else under lm. (and data.seed) is in the cache key.
const char* const kFineTuneKeys[] = {"lm.num_facts",         "lm.finetune_steps",  "lm.finetune_checkpoint_interval", "lm.finetune_optimizer",
                                     "lm.finetune_learning_rate", "lm.finetune_params", "lm.remedy_fraction", "lm.finetune_log_interval"};

struct Gate {
  double icl_fresh = kNaN, iwl_high = kNaN, iwl_low = kNaN, lm_loss = kNaN;
  // Without frequent known people (lm.num_high = 0) there is no in-weight recall to reach: only the ICL gate.
  bool passed(const LmFactsParams& p) const {
    return icl_fresh >= p.gate_icl && (p.corpus.num_high == 0 || iwl_high >= p.gate_iwl);
  }
};

// What pretraining leaves: the parameters, its curves and the gate. Shared by the cache.
struct Pretrained {
  std::vector<float> values;
  std::vector<double> loss_curve, gate_step, gate_icl, gate_iwl_high;
  Gate gate;
  std::int64_t steps = 0;
  bool passed = false;
};

// Per process: pretraining's result keyed by every key it depends on. A few entries cover the seeds
// of a sweep whose arms are handed out seed-innermost.
class PretrainCache {
 public:
  std::shared_ptr<const Pretrained> find(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& e : entries_)
      if (e.first == key) return e.second;
    return nullptr;
  }
  void put(const std::string& key, std::shared_ptr<const Pretrained> p) {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.emplace_back(key, std::move(p));
    while (entries_.size() > 8) entries_.pop_front();
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.clear();
  }

 private:
  std::mutex mu_;
  std::deque<std::pair<std::string, std::shared_ptr<const Pretrained>>> entries_;
};
PretrainCache& cache() {
  static PretrainCache c;
  return c;
}

std::vector<Sequence> question_only(const std::vector<Person>& people, int from, int to) {
  std::vector<Sequence> out;
  for (int i = from; i < to; ++i) out.push_back(make_sequence({}, people[i].name, people[i].city));
  return out;
}

struct EvalSets {
  std::vector<Sequence> icl_fresh, iwl_high, iwl_low, lm_loss;
};
EvalSets eval_sets(const Corpus& corpus, const LmFactsParams& p) {
  EvalSets e;
  for (int i = 0; i < p.eval_samples; ++i) {
    e.icl_fresh.push_back(corpus.sequence(kEvalStream, static_cast<std::uint64_t>(i), Corpus::Force::Fresh));
    e.lm_loss.push_back(corpus.sequence(kEvalStream, kLossSetOffset + static_cast<std::uint64_t>(i)));
  }
  e.iwl_high = question_only(corpus.known(), 0, p.corpus.num_high);
  e.iwl_low = question_only(corpus.known(), p.corpus.num_high, p.corpus.num_high + p.corpus.num_low);
  return e;
}

Gate measure_gate(CharLm& model, const EvalSets& e, bool with_loss) {
  Gate g;
  g.icl_fresh = exact_answer_rate(model, e.icl_fresh);
  g.iwl_high = exact_answer_rate(model, e.iwl_high);
  g.iwl_low = exact_answer_rate(model, e.iwl_low);
  if (with_loss) g.lm_loss = mean_lm_loss(model, e.lm_loss);
  return g;
}

std::string fmt(double v) {
  std::ostringstream s;
  s.precision(3);
  s << v;
  return s.str();
}

using Clock = std::chrono::steady_clock;

// Throttled progress reports (at most 2 per second).
struct Reporter {
  const ProgressFn& fn;
  Clock::time_point last{};
  void operator()(double f, const std::string& status, bool force = false) {
    if (!fn) return;
    const auto now = Clock::now();
    if (!force && now - last < std::chrono::milliseconds(500)) return;
    last = now;
    fn(f, status);
  }
};

std::shared_ptr<const Pretrained> pretrain(const LmFactsParams& p, const Corpus& corpus, const EvalSets& evals, Reporter& report,
                                           double progress_to) {
  auto out = std::make_shared<Pretrained>();
  CharLm model(p.model, p.corpus.seed);
  model.set_optimizer(OptimizerKind::Adam, p.pretrain_learning_rate);
  LmBatch batch;
  std::vector<Sequence> seqs(static_cast<std::size_t>(p.pretrain_batch_size));
  std::vector<const Sequence*> ptrs;
  for (const auto& s : seqs) ptrs.push_back(&s);
  double block = 0;
  int in_block = 0;
  std::int64_t step = 0;
  for (; step < p.pretrain_steps;) {
    for (int b = 0; b < p.pretrain_batch_size; ++b)
      seqs[b] = corpus.sequence(0, static_cast<std::uint64_t>(step) * p.pretrain_batch_size + b);
    pack(ptrs, LossOn::AllTokens, batch);
    const double loss = model.train_step(batch);
    if (!std::isfinite(loss))
      throw NumericError("lm_facts pretraining diverged at step " + std::to_string(step) + " (loss " + fmt(loss) +
                         "): lower lm.pretrain_learning_rate");
    ++step;
    block += loss;
    if (++in_block == p.pretrain_log_interval) {
      out->loss_curve.push_back(block / in_block);
      block = 0;
      in_block = 0;
    }
    if (step % p.pretrain_eval_interval == 0 || step == p.pretrain_steps) {
      const Gate g = measure_gate(model, evals, false);
      out->gate_step.push_back(static_cast<double>(step));
      out->gate_icl.push_back(g.icl_fresh);
      out->gate_iwl_high.push_back(g.iwl_high);
      report(progress_to * static_cast<double>(step) / p.pretrain_steps,
             "pretrain step " + std::to_string(step) + " icl " + fmt(g.icl_fresh) + " iwl " + fmt(g.iwl_high), true);
      if (g.passed(p)) break;  // the gate is reached: fine-tuning starts from here
    }
    report(progress_to * static_cast<double>(step) / p.pretrain_steps,
           "pretrain step " + std::to_string(step) + "/" + std::to_string(p.pretrain_steps) + " loss " + fmt(loss));
  }
  out->steps = step;
  out->gate = measure_gate(model, evals, true);
  out->passed = out->gate.passed(p);
  out->values.assign(model.store().values.begin(), model.store().values.end());
  return out;
}

// Forward GFLOP of the gate's evaluation (fresh-name ICL and LM-loss sets, the known people's questions),
// at a typical sequence length of 50; a forward pass is a third of a training step.
double gate_eval_gflop(const LmFactsParams& p) {
  const double sequences = 2.0 * p.eval_samples + p.corpus.num_high + p.corpus.num_low;
  return sequences * lm_train_step_flops(p.model, 1, 50) / 3 * 1e-9;
}

}  // namespace

void clear_pretraining_cache() { cache().clear(); }

std::vector<ParamSpec> lm_param_specs() {
  using T = ParamType;
  return {
      {"lm.layers", T::Int, "4", "lm_facts: transformer blocks of the character LM (lite: 2)", {}, 1, 64},
      {"lm.width", T::Int, "64", "lm_facts: width E of the character LM", {}, 2, 4096},
      {"lm.heads", T::Int, "4", "lm_facts: attention heads (must divide lm.width)", {}, 1, 256},
      {"lm.p_fresh_query", T::Real, "0.5", "lm_facts corpus: probability that the queried person is a fresh name (ICL only)", {}},
      {"lm.p_relevant", T::Real, "0.5", "lm_facts corpus: probability that a known person's own statement is in context (p_rel)", {}},
      {"lm.p_high_known", T::Real, "0.9", "lm_facts corpus: probability that a known query is one of the H frequent people", {}},
      {"lm.num_high", T::Int, "16", "lm_facts corpus: H, frequent known people", {}, 0, 100000},
      {"lm.num_low", T::Int, "64", "lm_facts corpus: Lo, rare known people", {}, 0, 100000},
      {"lm.p_two_statements", T::Real, "0.5", "lm_facts corpus: probability of 2 context statements instead of 1", {}},
      {"lm.real_facts_known", T::Bool, "0", "lm_facts corpus: the 4 real pairs of §5.5 are frequent known people", {}},
      {"lm.pretrain_steps", T::Int, "20000", "lm_facts: most pretraining steps (stops earlier once the gate is reached)", {}, 1, 100000000},
      {"lm.pretrain_batch_size", T::Int, "32", "lm_facts: pretraining sequences per step", {}, 1, 4096},
      {"lm.pretrain_learning_rate", T::Real, "0.001", "lm_facts: pretraining Adam learning rate", {}},
      {"lm.pretrain_eval_interval", T::Int, "1000", "lm_facts: check the pretraining gate every this many steps", {}, 1, 100000000},
      {"lm.pretrain_log_interval", T::Int, "100", "lm_facts: pretraining loss logged as the mean over blocks of this many steps", {}, 1, 100000000},
      {"lm.eval_samples", T::Int, "256", "lm_facts: fresh-name ICL sequences and LM-loss sequences of the gate and checkpoints", {}, 1, 100000},
      {"lm.gate_icl", T::Real, "0.9", "lm_facts gate: exact-answer rate on fresh names (ICL) pretraining must reach", {}},
      {"lm.gate_iwl", T::Real, "0.9", "lm_facts gate: exact recall of the H frequent known people pretraining must reach", {}},
      {"lm.num_facts", T::Int, "8", "lm_facts: facts fine-tuned: the 8 pairs of §5.5, then generated invented ones (<= 512)", {}, 1, kMaxFacts},
      {"lm.finetune_steps", T::Int, "10000", "lm_facts: fine-tuning steps (batch 1)", {}, 0, 100000000},
      {"lm.finetune_checkpoint_interval", T::Int, "500", "lm_facts: probe every this many fine-tuning steps (plus step 0 and the last)", {}, 1, 100000000},
      {"lm.finetune_log_interval", T::Int, "100", "lm_facts: fine-tuning loss logged as the mean over blocks of this many steps", {}, 1, 100000000},
      {"lm.finetune_optimizer", T::String, "sgd", "lm_facts: fine-tuning optimizer (paper: SGD)", {"sgd", "adam"}},
      {"lm.finetune_learning_rate", T::Real, "0.001", "lm_facts: fine-tuning learning rate (paper: 1e-4 for a 2B model)", {}},
      {"lm.finetune_params", T::String, "all", "lm_facts: parameters fine-tuning updates", {"all", "mlp", "attn_v", "embed"}},
      {"lm.remedy_fraction", T::Real, "0", "lm_facts: fraction of fine-tuning examples that are context-bearing fresh-name sequences", {}},
  };
}

std::vector<std::int64_t> LmFactsParams::checkpoint_steps() const {
  std::vector<std::int64_t> out;
  for (std::int64_t s = 0; s < finetune_steps; s += checkpoint_interval) out.push_back(s);
  out.push_back(finetune_steps);
  return out;
}

std::int64_t LmFactsParams::num_pretrain_evals() const {
  return pretrain_steps / pretrain_eval_interval + (pretrain_steps % pretrain_eval_interval ? 1 : 0);
}

LmFactsParams LmFactsParams::from(const ParamMap& pm) {
  LmFactsParams p;
  // Integer keys are read within the range their ParamSpec declares (lm_param_specs: one table).
  static const std::vector<ParamSpec> specs = lm_param_specs();
  auto int_in = [&](const char* key) {
    const auto spec = std::find_if(specs.begin(), specs.end(), [&](const ParamSpec& s) { return s.key == key; });
    if (spec == specs.end()) throw Error(std::string("lm_facts: no ParamSpec for ") + key);
    const std::int64_t lo = spec->int_min, hi = spec->int_max;
    const std::int64_t v = pm.get_int(key);
    if (v < lo || v > hi)
      throw ParamError(key, std::to_string(v), "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return v;
  };
  auto prob = [&](const char* key) {
    const double v = pm.get_real(key);
    if (!(v >= 0 && v <= 1)) throw ParamError(key, format_real(v), "must be a probability in [0, 1]");
    return v;
  };
  auto positive = [&](const char* key) {
    const double v = pm.get_real(key);
    if (!(v > 0 && std::isfinite(v))) throw ParamError(key, format_real(v), "must be > 0");
    return v;
  };
  p.model.num_layers = static_cast<int>(int_in("lm.layers"));
  p.model.embed_dim = static_cast<int>(int_in("lm.width"));
  p.model.num_heads = static_cast<int>(int_in("lm.heads"));
  p.model.validate();
  p.corpus.p_fresh = prob("lm.p_fresh_query");
  p.corpus.p_relevant = prob("lm.p_relevant");
  p.corpus.p_high = prob("lm.p_high_known");
  p.corpus.num_high = static_cast<int>(int_in("lm.num_high"));
  p.corpus.num_low = static_cast<int>(int_in("lm.num_low"));
  p.corpus.p_two_statements = prob("lm.p_two_statements");
  p.corpus.real_facts_known = pm.get_bool("lm.real_facts_known");
  p.corpus.seed = static_cast<std::uint64_t>(pm.get_int("data.seed"));
  if (p.corpus.num_high + p.corpus.num_low == 0 && p.corpus.p_fresh < 1)
    throw ParamError("lm.num_high", "0", "lm.num_high + lm.num_low must be >= 1 unless lm.p_fresh_query = 1");
  if (p.corpus.num_high == 0 && p.corpus.p_high > 0 && p.corpus.num_low > 0)
    throw ParamError("lm.p_high_known", format_real(p.corpus.p_high), "must be 0 when lm.num_high = 0");
  if (p.corpus.real_facts_known && p.corpus.num_high < 4)
    throw ParamError("lm.num_high", std::to_string(p.corpus.num_high), "must be >= 4 with lm.real_facts_known = true");
  p.pretrain_steps = int_in("lm.pretrain_steps");
  p.pretrain_batch_size = static_cast<int>(int_in("lm.pretrain_batch_size"));
  p.pretrain_learning_rate = positive("lm.pretrain_learning_rate");
  p.pretrain_eval_interval = int_in("lm.pretrain_eval_interval");
  p.pretrain_log_interval = static_cast<int>(int_in("lm.pretrain_log_interval"));
  // One logged loss per block: a results-file dataset of that length per point (as train.log_interval).
  auto check_log_entries = [](const char* key, std::int64_t steps, std::int64_t interval, const char* steps_key) {
    if (steps / interval > kMaxLogEntries)
      throw ParamError(key, std::to_string(interval),
                       "gives " + std::to_string(steps / interval) + " logged losses over " + steps_key + " = " +
                           std::to_string(steps) + ", more than " + std::to_string(kMaxLogEntries) + ": raise it");
  };
  check_log_entries("lm.pretrain_log_interval", p.pretrain_steps, p.pretrain_log_interval, "lm.pretrain_steps");
  if (p.pretrain_steps / p.pretrain_eval_interval > 10000)
    throw ParamError("lm.pretrain_eval_interval", std::to_string(p.pretrain_eval_interval), "gives more than 10000 gate checks: raise it");
  p.eval_samples = static_cast<int>(int_in("lm.eval_samples"));
  p.gate_icl = prob("lm.gate_icl");
  p.gate_iwl = prob("lm.gate_iwl");
  p.num_facts = static_cast<int>(int_in("lm.num_facts"));
  p.finetune_steps = int_in("lm.finetune_steps");
  p.checkpoint_interval = int_in("lm.finetune_checkpoint_interval");
  p.finetune_log_interval = static_cast<int>(int_in("lm.finetune_log_interval"));
  check_log_entries("lm.finetune_log_interval", p.finetune_steps, p.finetune_log_interval, "lm.finetune_steps");
  if (p.finetune_steps / p.checkpoint_interval > 1000)
    throw ParamError("lm.finetune_checkpoint_interval", std::to_string(p.checkpoint_interval), "gives more than 1000 checkpoints: raise it");
  const std::string opt = pm.get_string("lm.finetune_optimizer");
  if (opt == "sgd") p.finetune_optimizer = OptimizerKind::Sgd;
  else if (opt == "adam") p.finetune_optimizer = OptimizerKind::Adam;
  else throw ParamError("lm.finetune_optimizer", opt, "must be sgd or adam");
  p.finetune_learning_rate = positive("lm.finetune_learning_rate");
  p.finetune_params_name = pm.get_string("lm.finetune_params");
  p.finetune_params = param_group_from(p.finetune_params_name);
  p.remedy_fraction = prob("lm.remedy_fraction");
  // The longest sequence: two statements of template 1 with the longest names and cities.
  p.model.max_len = 160;
  return p;
}

std::string LmFactsParams::pretraining_key(const ParamMap& pm) {
  std::string key = "data.seed=" + pm.get_string("data.seed");
  for (const auto& [k, v] : pm.values()) {
    if (k.rfind("lm.", 0) != 0) continue;
    bool fine_tune = false;
    for (const char* f : kFineTuneKeys) fine_tune = fine_tune || k == f;
    if (!fine_tune) key += ";" + k + "=" + v;
  }
  return key;
}

std::vector<std::string> LmFactsKind::validate(const ParamMap& point) const {
  try {
    LmFactsParams::from(point);
  } catch (const std::exception& e) {
    return {e.what()};
  }
  return {};
}

ResultSchema LmFactsKind::schema(const ParamMap& point) const {
  const LmFactsParams p = LmFactsParams::from(point);
  const auto n_ck = static_cast<std::int64_t>(p.checkpoint_steps().size());
  const std::int64_t n_gate = p.num_pretrain_evals();
  ResultSchema s;
  auto f32 = [&](const std::string& path, std::vector<std::int64_t> dims, const std::string& help) {
    s.merge({path, FieldType::Float32, std::move(dims), help, {}});
  };
  f32("pretrain/loss", {std::max<std::int64_t>(1, p.pretrain_steps / p.pretrain_log_interval)}, "pretraining LM loss, mean over each block of lm.pretrain_log_interval steps");
  f32("pretrain/gate_check/step", {n_gate}, "pretraining step of each gate check");
  f32("pretrain/gate_check/icl_fresh_accuracy", {n_gate}, "exact-answer rate on fresh names (ICL) at each gate check");
  f32("pretrain/gate_check/iwl_high_accuracy", {n_gate}, "exact recall of the frequent known people at each gate check");
  f32("pretrain/icl_fresh_accuracy", {}, "after pretraining: exact-answer rate on fresh-name sequences (ICL only)");
  f32("pretrain/iwl_high_accuracy", {}, "after pretraining: exact recall of the H frequent known people, question alone");
  f32("pretrain/iwl_low_accuracy", {}, "after pretraining: exact recall of the Lo rare known people, question alone");
  f32("pretrain/lm_loss", {}, "after pretraining: mean per-token LM loss on held-out corpus sequences");
  s.merge({"pretrain/steps", FieldType::Int32, {}, "pretraining steps run (the gate stops it early)", {}});
  s.merge({"pretrain/gate_passed", FieldType::Int32, {}, "1: the gate was reached (a point that misses it fails)", {}});
  s.merge({"finetune/checkpoint/step", FieldType::Int32, {n_ck}, "fine-tuning step of each checkpoint", {}});
  f32("finetune/loss", {std::max<std::int64_t>(1, p.finetune_steps / p.finetune_log_interval)}, "fine-tuning loss (answer tokens), mean over blocks of lm.finetune_log_interval steps");
  f32("finetune/lm_loss", {n_ck}, "per checkpoint: pretraining LM loss on held-out corpus sequences (forgetting)");
  f32("finetune/facts_recall", {n_ck}, "per checkpoint: fraction of the lm.num_facts fine-tuned facts answered exactly (greedy), question alone");
  f32("finetune/iwl_accuracy", {n_ck}, "per checkpoint: IWL accuracy on the 8 pairs (= probe/iwl/all/memory_rate)");
  f32("finetune/icl_fresh_accuracy", {n_ck}, "per checkpoint: exact-answer rate on fresh-name corpus sequences");
  f32("finetune/iwl_high_accuracy", {n_ck}, "per checkpoint: exact recall of the frequent known people");
  // Probe sets are fixed (the 8 pairs); control_known exists when there are known people.
  static const char* const kSets[] = {"iwl", "icl_conflict", "icl_agree", "heldout_template", "control_fresh", "control_known"};
  static const char* const kHelp[] = {
      "in-context rate: answer = the city given in context", "memory rate: answer = the memorised city",
      "other rate: neither", "mean log-prob margin: log p(context city) - log p(memorised city), or target vs best other",
      "greedy decode equals the context city", "greedy decode equals the memorised city"};
  for (const char* set : kSets) {
    if (std::string(set) == "control_known" && p.corpus.num_high == 0) continue;
    const bool split = std::string(set) != "control_known";
    for (int g = 0; g < (split ? 3 : 1); ++g)
      for (int m = 0; m < kNumProbeMetrics; ++m)
        f32(std::string("probe/") + set + "/" + kProbeGroups[g] + "/" + kProbeMetricNames[m], {n_ck},
            std::string("per checkpoint, probe set ") + set + ", " + kProbeGroups[g] + " names: " + kHelp[m]);
  }
  s.merge({"decode/iwl", FieldType::Int32, {n_ck, 8, kDecodeTokens},
           "per checkpoint, greedy decode (token ids, -1 padded) of the 8 IWL probes; vocabulary attribute", {{"vocabulary", std::string("<pad><bos><eos>") + kCharacters}}});
  s.merge({"decode/icl_conflict", FieldType::Int32, {n_ck, 56, kDecodeTokens},
           "per checkpoint, greedy decode (token ids, -1 padded) of the 56 ICL-conflict probes", {{"vocabulary", std::string("<pad><bos><eos>") + kCharacters}}});
  s.merge({"model/num_parameters", FieldType::Int32, {}, "parameters of the character LM", {}});
  s.merge({"model/num_finetuned_parameters", FieldType::Int32, {}, "parameters fine-tuning updates (lm.finetune_params)", {}});
  s.merge({"summary/icl_conflict_invented_step0", FieldType::Float32, {}, "in-context rate, ICL-conflict, invented names, before fine-tuning", {}});
  s.merge({"summary/icl_conflict_invented_final", FieldType::Float32, {}, "in-context rate, ICL-conflict, invented names, last checkpoint", {}});
  s.merge({"summary/icl_conflict_real_final", FieldType::Float32, {}, "in-context rate, ICL-conflict, real names, last checkpoint", {}});
  s.merge({"summary/iwl_accuracy_final", FieldType::Float32, {}, "IWL accuracy on the 8 pairs, last checkpoint", {}});
  s.merge({"summary/control_fresh_final", FieldType::Float32, {}, "in-context rate on fresh control names, last checkpoint", {}});
  return s;
}

// One pretraining batch over the longest sequence (probes run forward only).
std::vector<std::pair<std::string, std::string>> LmFactsKind::input_fingerprints(const ParamMap&) const {
  // The corpus is generated, not read: what a point depends on beyond its parameters is the generator's
  // built-in name and city lists, templates and vocabulary. A reference corpus (default parameters, seed
  // 0: its known people, the paper's facts, 64 fine-tuning facts, 256 training sequences) is hashed once.
  static const std::string digest = [] {
    XXH64_state_t* h = XXH64_createState();
    XXH64_reset(h, 0);
    auto text = [&](const std::string& t) { XXH64_update(h, t.data(), t.size() + 1); };  // with its NUL
    const Corpus corpus(CorpusParams{});
    for (const auto& p : corpus.known()) text(p.name), text(p.city);
    for (const auto& f : paper_facts()) text(f.name), text(f.city);
    for (const auto& f : fine_tuning_facts(0, 64)) text(f.name), text(f.city);
    for (std::uint64_t i = 0; i < 256; ++i) {
      const Sequence s = corpus.sequence(0, i);
      XXH64_update(h, s.ids.data(), s.ids.size() * sizeof(s.ids[0]));
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH64_digest(h)));
    XXH64_freeState(h);
    return std::string("xxh64 ") + hex;
  }();
  return {{"lm_facts corpus generator (built-in names, cities, templates, vocabulary)", digest}};
}

double LmFactsKind::memory_bytes(const ParamMap& point) const {
  const LmFactsParams p = LmFactsParams::from(point);
  return lm_train_memory_bytes(p.model, p.pretrain_batch_size, p.model.max_len);
}

// Cost model: training at a typical sequence length (pretraining ≈ 70 tokens, fine-tuning one ≈ 30-token
// fact per step), the gate's evaluations during pretraining, the probes at every fine-tuning checkpoint
// (≈ 1600 sequences of ≈ 50 tokens), and a point's setup (corpus, evaluation and probe sets: ~2 s).
// Reference values: `iclsweep calibrate` on the development machine (CPU time, both cores busy,
// 2026-12-07; docs/cost-model.md), which refits them on any other.
std::vector<CostConstant> LmFactsKind::cost_constants() const {
  // iclsweep calibrate on the development machine, 2026-12-08 03:04 UTC (CPU time, both workers busy, load ~18).
  return {{"lm_facts/pretrain_gflop", "GFLOP of pretraining steps (lm.pretrain_batch_size sequences of ~70 tokens)", 0.026},
          {"lm_facts/finetune_gflop", "GFLOP of fine-tuning steps (one ~30-token fact per step)", 0.0038},
          {"lm_facts/eval_gflop", "GFLOP of forward evaluation: the pretraining gate and the probes at every checkpoint", 0.044},
          {"lm_facts/point", "one point's fixed setup: corpus, evaluation and probe sets", 2.2}};
}

std::pair<std::string, std::vector<CostTerm>> LmFactsKind::shared_cost_terms(const ParamMap& point) const {
  const LmFactsParams p = LmFactsParams::from(point);
  return {LmFactsParams::pretraining_key(point),
          {{"lm_facts/pretrain_gflop", static_cast<double>(p.pretrain_steps) * lm_train_step_flops(p.model, p.pretrain_batch_size, 70) * 1e-9},
           {"lm_facts/eval_gflop", static_cast<double>(p.num_pretrain_evals() + 1) * gate_eval_gflop(p)}}};
}

std::vector<CostTerm> LmFactsKind::cost_terms(const ParamMap& point) const {
  const LmFactsParams p = LmFactsParams::from(point);
  std::vector<CostTerm> terms = shared_cost_terms(point).second;
  const double checkpoints = static_cast<double>(p.checkpoint_steps().size());
  terms.push_back({"lm_facts/finetune_gflop", static_cast<double>(p.finetune_steps) * lm_train_step_flops(p.model, 1, 30) * 1e-9});
  terms.push_back({"lm_facts/eval_gflop", checkpoints * (lm_train_step_flops(p.model, 1600, 50) / 3 * 1e-9 + gate_eval_gflop(p))});
  terms.push_back({"lm_facts/point", 1});
  return terms;
}

std::vector<std::vector<std::string>> LmFactsKind::calibration_points() const {
  // Each with its own pretraining (a distinct lm.pretrain_steps), so the per-process cache never hides one.
  // The gates are 0 so that no point fails them, and a passed gate stops pretraining at its check: each point
  // checks only at its last step, or it would pretrain for fewer steps than its terms say (a point with a check
  // every 8 steps once stopped at step 8 and the fit priced the lite job at 1.7x its CPU time).
  const std::vector<std::string> base = {"run.model_kind=lm_facts", "lm.layers=2", "lm.width=64", "lm.heads=4",
                                         "lm.num_high=8", "lm.num_low=16", "lm.gate_icl=0", "lm.gate_iwl=0",
                                         "lm.pretrain_batch_size=16", "lm.eval_samples=64", "lm.pretrain_log_interval=10",
                                         "lm.finetune_log_interval=10",
                                         // one gate check, at the last step: a passed gate stops pretraining early
                                         "lm.pretrain_eval_interval=100000"};
  return calibration_variants(base, {
      {"lm.pretrain_steps=601", "lm.finetune_steps=10", "lm.finetune_checkpoint_interval=10"},
      {"lm.pretrain_steps=150", "lm.finetune_steps=800", "lm.finetune_checkpoint_interval=800"},
      {"lm.pretrain_steps=152", "lm.finetune_steps=20", "lm.finetune_checkpoint_interval=2"},
      {"lm.pretrain_steps=151", "lm.finetune_steps=10", "lm.finetune_checkpoint_interval=10"},
  });
}

PointRecord LmFactsKind::run(const ParamMap& point, const ProgressFn& progress) const {
  const LmFactsParams p = LmFactsParams::from(point);
  const Corpus corpus(p.corpus);
  const EvalSets evals = eval_sets(corpus, p);
  Reporter report{progress};
  const double pre_share = 0.5;

  const std::string key = LmFactsParams::pretraining_key(point);
  std::shared_ptr<const Pretrained> pre = cache().find(key);
  if (!pre) {
    pre = pretrain(p, corpus, evals, report, pre_share);
    cache().put(key, pre);
  }
  if (!pre->passed)
    throw NumericError("lm_facts: pretraining missed the gate after " + std::to_string(pre->steps) +
                       " steps: icl_fresh_accuracy " + fmt(pre->gate.icl_fresh) + " (lm.gate_icl " + fmt(p.gate_icl) +
                       "), iwl_high_accuracy " + fmt(pre->gate.iwl_high) + " (lm.gate_iwl " + fmt(p.gate_iwl) + "), iwl_low " +
                       fmt(pre->gate.iwl_low) + ", lm_loss " + fmt(pre->gate.lm_loss) +
                       ": raise lm.pretrain_steps or the model size, or lower the gate");

  PointRecord rec;
  rec.set_vector("pretrain/loss", pre->loss_curve);
  rec.set_vector("pretrain/gate_check/step", pre->gate_step);
  rec.set_vector("pretrain/gate_check/icl_fresh_accuracy", pre->gate_icl);
  rec.set_vector("pretrain/gate_check/iwl_high_accuracy", pre->gate_iwl_high);
  rec.set_scalar("pretrain/icl_fresh_accuracy", pre->gate.icl_fresh);
  rec.set_scalar("pretrain/iwl_high_accuracy", pre->gate.iwl_high);
  rec.set_scalar("pretrain/iwl_low_accuracy", pre->gate.iwl_low);
  rec.set_scalar("pretrain/lm_loss", pre->gate.lm_loss);
  rec.set_scalar("pretrain/steps", static_cast<double>(pre->steps));
  rec.set_scalar("pretrain/gate_passed", 1);

  CharLm model(p.model, p.corpus.seed);
  std::copy(pre->values.begin(), pre->values.end(), model.store().values.begin());
  model.set_trainable(p.finetune_params);
  model.set_optimizer(p.finetune_optimizer, p.finetune_learning_rate);
  rec.set_scalar("model/num_parameters", static_cast<double>(model.num_parameters()));
  rec.set_scalar("model/num_finetuned_parameters", static_cast<double>(model.num_trainable()));

  const auto facts = fine_tuning_facts(p.corpus.seed, p.num_facts);
  std::vector<Sequence> fact_seqs;
  for (const auto& f : facts) fact_seqs.push_back(make_sequence({}, f.name, f.city));
  const auto sets = build_probe_sets(corpus, p.corpus.seed);
  const auto ck_steps = p.checkpoint_steps();
  const std::size_t n_ck = ck_steps.size();
  std::map<std::string, std::vector<double>> series;  // path -> per-checkpoint values
  std::vector<double> decode_iwl(n_ck * 8 * kDecodeTokens, -1), decode_conflict(n_ck * 56 * kDecodeTokens, -1);
  std::vector<const Sequence*> iwl_prompts, conflict_prompts;
  for (const auto& s : sets) {
    if (s.name == "iwl")
      for (const auto& it : s.items) iwl_prompts.push_back(&it.prompt);
    if (s.name == "icl_conflict")
      for (const auto& it : s.items) conflict_prompts.push_back(&it.prompt);
  }
  auto put = [&](const std::string& path, std::size_t c, double v) {
    auto& x = series[path];
    if (x.empty()) x.assign(n_ck, kNaN);
    x[c] = v;
  };
  auto store_decode = [&](std::vector<double>& dst, std::size_t c, const std::vector<std::vector<TokenId>>& d) {
    for (std::size_t i = 0; i < d.size(); ++i)
      for (std::size_t t = 0; t < d[i].size() && t < static_cast<std::size_t>(kDecodeTokens); ++t)
        dst[(c * d.size() + i) * kDecodeTokens + t] = d[i][t];
  };
  auto checkpoint = [&](std::size_t c) {
    for (const auto& s : sets) {
      const auto m = evaluate_probe_set(model, s);
      for (std::size_t g = 0; g < m.size(); ++g) {
        const double v[kNumProbeMetrics] = {m[g].in_context_rate, m[g].memory_rate, m[g].other_rate,
                                            m[g].margin, m[g].greedy_in_context_rate, m[g].greedy_memory_rate};
        for (int k = 0; k < kNumProbeMetrics; ++k) put("probe/" + s.name + "/" + kProbeGroups[g] + "/" + kProbeMetricNames[k], c, v[k]);
      }
      if (s.name == "iwl") put("finetune/iwl_accuracy", c, m[0].memory_rate);
    }
    const Gate g = measure_gate(model, evals, true);
    put("finetune/lm_loss", c, g.lm_loss);
    put("finetune/icl_fresh_accuracy", c, g.icl_fresh);
    put("finetune/iwl_high_accuracy", c, g.iwl_high);
    put("finetune/facts_recall", c, exact_answer_rate(model, fact_seqs));
    store_decode(decode_iwl, c, greedy_decode(model, iwl_prompts, kDecodeTokens));
    store_decode(decode_conflict, c, greedy_decode(model, conflict_prompts, kDecodeTokens));
  };

  checkpoint(0);
  std::vector<double> ft_loss;
  double block = 0;
  int in_block = 0;
  LmBatch batch;
  std::size_t next_ck = 1;
  const StreamKey order = stream_key(p.corpus.seed, Purpose::Sampling, kFineTuneTag);
  for (std::int64_t step = 0; step < p.finetune_steps;) {
    Philox rng(order, static_cast<std::uint64_t>(step));
    Sequence remedy;
    const Sequence* ex;
    if (p.remedy_fraction > 0 && rng.bernoulli(p.remedy_fraction)) {
      remedy = corpus.sequence(kRemedyStream, static_cast<std::uint64_t>(step), Corpus::Force::Fresh);
      ex = &remedy;
    } else {
      ex = &fact_seqs[rng.below(fact_seqs.size())];
    }
    pack({ex}, LossOn::Answer, batch);
    const double loss = model.train_step(batch);
    if (!std::isfinite(loss))
      throw NumericError("lm_facts fine-tuning diverged at step " + std::to_string(step) + ": lower lm.finetune_learning_rate");
    ++step;
    block += loss;
    if (++in_block == p.finetune_log_interval) {
      ft_loss.push_back(block / in_block);
      block = 0;
      in_block = 0;
    }
    if (next_ck < n_ck && step == ck_steps[next_ck]) checkpoint(next_ck++);
    report(pre_share + (1 - pre_share) * static_cast<double>(step) / std::max<std::int64_t>(1, p.finetune_steps),
           "finetune step " + std::to_string(step) + "/" + std::to_string(p.finetune_steps) + " loss " + fmt(loss));
  }
  std::vector<double> steps_d(ck_steps.begin(), ck_steps.end());
  rec.set_vector("finetune/checkpoint/step", steps_d);
  rec.set_vector("finetune/loss", ft_loss);
  for (auto& [path, v] : series) rec.set_vector(path, v);
  rec.set_array("decode/iwl", {static_cast<std::int64_t>(n_ck), 8, kDecodeTokens}, decode_iwl);
  rec.set_array("decode/icl_conflict", {static_cast<std::int64_t>(n_ck), 56, kDecodeTokens}, decode_conflict);
  const auto& ic_inv = series.at("probe/icl_conflict/invented/in_context_rate");
  rec.set_scalar("summary/icl_conflict_invented_step0", ic_inv.front());
  rec.set_scalar("summary/icl_conflict_invented_final", ic_inv.back());
  rec.set_scalar("summary/icl_conflict_real_final", series.at("probe/icl_conflict/real/in_context_rate").back());
  rec.set_scalar("summary/iwl_accuracy_final", series.at("finetune/iwl_accuracy").back());
  rec.set_scalar("summary/control_fresh_final", series.at("probe/control_fresh/all/in_context_rate").back());
  return rec;
}

std::vector<std::pair<std::string, std::string>> LmFactsKind::summary_fields() const {
  return {{"gate_icl", "pretrain/icl_fresh_accuracy"},
          {"gate_iwl", "pretrain/iwl_high_accuracy"},
          {"ic_inv_0", "summary/icl_conflict_invented_step0"},
          {"ic_inv_end", "summary/icl_conflict_invented_final"},
          {"ic_real_end", "summary/icl_conflict_real_final"},
          {"iwl_end", "summary/iwl_accuracy_final"}};
}

}  // namespace icl::lm
