// The lm_facts model kind (issue 13): a tiny LM learns to copy a city from context and to recall
// frequent known people (the pretraining gate), a point's numbers are deterministic and the same
// whether pretraining came from the per-process cache or was recomputed, and bad keys are refused.
#define BOOST_TEST_MODULE lm_kind
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdio>

#include "iclsweep/core/error.hpp"
#include "kinds/lm_facts/lm_facts_kind.hpp"

using namespace icl;
using namespace icl::lm;

namespace {
ParamMap point(const std::vector<std::pair<std::string, std::string>>& overrides) {
  ParamMap p;
  for (const auto& s : lm_param_specs()) p.set_raw(s.key, s.default_value);
  p.set_raw("data.seed", "0");
  p.set_raw("run.model_kind", "lm_facts");
  for (const auto& [k, v] : overrides) p.set_raw(k, v);
  return p;
}
const ProgressFn kPrint = [](double f, const std::string& s) {
  if (s.find("icl") != std::string::npos) std::printf("  %.2f %s\n", f, s.c_str()), std::fflush(stdout);
};
// A tiny point that runs in a second: 1 block, E = 16, a few steps of everything.
ParamMap tiny(const std::vector<std::pair<std::string, std::string>>& more = {}) {
  std::vector<std::pair<std::string, std::string>> o = {
      {"lm.layers", "1"},        {"lm.width", "16"},          {"lm.heads", "2"},       {"lm.num_high", "4"},
      {"lm.num_low", "4"},           {"lm.pretrain_steps", "40"},     {"lm.pretrain_batch_size", "8"},
      {"lm.pretrain_eval_interval", "20"}, {"lm.pretrain_log_interval", "10"}, {"lm.eval_samples", "16"},
      {"lm.gate_icl", "0"},          {"lm.gate_iwl", "0"},            {"lm.finetune_steps", "30"}, {"lm.finetune_checkpoint_interval", "10"},
      {"lm.finetune_log_interval", "5"}, {"lm.finetune_learning_rate", "0.05"}};
  for (const auto& m : more) o.push_back(m);
  return point(o);
}
bool same_record(const PointRecord& a, const PointRecord& b) {
  if (a.fields.size() != b.fields.size()) return false;
  for (const auto& [path, v] : a.fields) {
    const auto it = b.fields.find(path);
    if (it == b.fields.end() || it->second.dims != v.dims || it->second.values.size() != v.values.size()) return false;
    for (std::size_t i = 0; i < v.values.size(); ++i) {
      const double x = v.values[i], y = it->second.values[i];
      if (!(x == y || (std::isnan(x) && std::isnan(y)))) return false;
    }
  }
  return true;
}
}  // namespace

BOOST_AUTO_TEST_CASE(tiny_lm_learns_to_copy_and_to_recall) {
  // Two frequent known people, never in context (IWL only), and fresh names whose one statement is
  // (ICL only): the gate requires both skills (ICL ≥ 0.5 exact copies is reached after ~1500 steps of
  // batch 16; 0.83 after 4000). Fine-tuning is skipped (finetune_steps = 0).
  const ParamMap p = point({{"lm.layers", "2"}, {"lm.width", "64"}, {"lm.heads", "4"}, {"lm.num_high", "2"},
                            {"lm.num_low", "0"}, {"lm.p_high_known", "1"}, {"lm.p_relevant", "0"}, {"lm.p_two_statements", "0"},
                            {"lm.pretrain_steps", "3000"}, {"lm.pretrain_batch_size", "16"}, {"lm.pretrain_eval_interval", "500"},
                            {"lm.pretrain_learning_rate", "0.002"}, {"lm.eval_samples", "64"}, {"lm.gate_icl", "0.5"},
                            {"lm.gate_iwl", "1"}, {"lm.finetune_steps", "0"}});
  const LmFactsKind kind;
  BOOST_TEST(kind.validate(p).empty());
  const PointRecord r = kind.run(p, kPrint);
  BOOST_TEST(r.fields.at("pretrain/gate_passed").values[0] == 1.0);
  // Exact copies of a random city string: chance is ~0 without a copying circuit (step 0: 0).
  BOOST_TEST(r.fields.at("pretrain/gate_check/icl_fresh_accuracy").values[0] < 0.5);
  BOOST_TEST(r.fields.at("pretrain/icl_fresh_accuracy").values[0] >= 0.5);
  BOOST_TEST(r.fields.at("pretrain/iwl_high_accuracy").values[0] == 1.0);
  BOOST_TEST_MESSAGE("gate reached after " << r.fields.at("pretrain/steps").values[0] << " steps");
}

BOOST_AUTO_TEST_CASE(points_are_deterministic_with_and_without_the_cache) {
  const LmFactsKind kind;
  const ParamMap a = tiny(), b = tiny({{"lm.finetune_optimizer", "adam"}, {"lm.finetune_learning_rate", "0.01"},
                                       {"lm.finetune_params", "mlp"}, {"lm.remedy_fraction", "0.5"}});
  BOOST_TEST(LmFactsParams::pretraining_key(a) == LmFactsParams::pretraining_key(b));  // arms share pretraining
  BOOST_TEST(LmFactsParams::pretraining_key(a) != LmFactsParams::pretraining_key(tiny({{"lm.p_relevant", "0.9"}})));
  clear_pretraining_cache();
  const PointRecord a_cold = kind.run(a, {});
  const PointRecord b_warm = kind.run(b, {});  // pretraining from the cache
  const PointRecord a_warm = kind.run(a, {});
  clear_pretraining_cache();
  const PointRecord b_cold = kind.run(b, {});
  BOOST_TEST(same_record(a_cold, a_warm));
  BOOST_TEST(same_record(b_cold, b_warm));
  BOOST_TEST(!same_record(a_cold, b_cold));  // the arms differ after step 0
  // The record matches the schema: every field declared, shapes within the declared ones.
  const ResultSchema schema = kind.schema(a);
  for (const auto& [path, v] : a_cold.fields) {
    const FieldSpec* f = schema.find(path);
    BOOST_TEST_REQUIRE(f != nullptr, path);
    BOOST_TEST(v.dims.size() == f->dims.size(), path);
    for (std::size_t i = 0; i < v.dims.size(); ++i) BOOST_TEST(v.dims[i] <= f->dims[i], path);
  }
  for (const auto& f : schema.fields) BOOST_TEST(a_cold.fields.count(f.path) == 1u, f.path);
  // A different seed gives different numbers.
  ParamMap c = a;
  c.set_raw("data.seed", "1");
  BOOST_TEST(!same_record(a_cold, kind.run(c, {})));
  // Rates are rates; step 0 is the same for every arm (the same pretrained model).
  const auto& ic = a_cold.fields.at("probe/icl_conflict/all/in_context_rate").values;
  for (double v : ic) BOOST_TEST((v >= 0 && v <= 1));
  BOOST_TEST(ic.front() == b_cold.fields.at("probe/icl_conflict/all/in_context_rate").values.front());
}

BOOST_AUTO_TEST_CASE(a_missed_gate_fails_with_the_numbers) {
  const LmFactsKind kind;
  const ParamMap p = tiny({{"lm.gate_icl", "1"}});
  try {
    kind.run(p, {});
    BOOST_FAIL("a missed gate must throw");
  } catch (const NumericError& e) {
    const std::string m = e.what();
    BOOST_TEST(m.find("missed the gate after 40 steps") != std::string::npos, m);
    BOOST_TEST(m.find("icl_fresh_accuracy") != std::string::npos, m);
  }
}

BOOST_AUTO_TEST_CASE(bad_keys_are_refused_with_their_names) {
  const LmFactsKind kind;
  auto first = [&](const ParamMap& p) { const auto e = kind.validate(p); return e.empty() ? std::string() : e.front(); };
  BOOST_TEST(first(tiny({{"lm.heads", "3"}})).find("lm.heads") != std::string::npos);
  BOOST_TEST(first(tiny({{"lm.p_relevant", "1.5"}})).find("lm.p_relevant") != std::string::npos);
  BOOST_TEST(first(tiny({{"lm.num_facts", "513"}})).find("lm.num_facts") != std::string::npos);
  BOOST_TEST(first(tiny({{"lm.finetune_params", "heads"}})).find("lm.finetune_params") != std::string::npos);
  BOOST_TEST(first(tiny({{"lm.finetune_learning_rate", "0"}})).find("lm.finetune_learning_rate") != std::string::npos);
  BOOST_TEST(first(tiny({{"lm.real_facts_known", "1"}, {"lm.num_high", "2"}})).find("lm.num_high") != std::string::npos);
  BOOST_TEST(kind.validate(tiny()).empty());
}
