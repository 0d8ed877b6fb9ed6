#define BOOST_TEST_MODULE train_validation
// Validation must catch every cross-key assumption the trainers' schema, cost and run code make
// (issue 10, defect 8): if validate() passes, schema() and cost() cannot throw, and every dimension of
// the schema is at least 1 — else `iclsweep list` says yes and every point of the run fails.
#include <boost/test/unit_test.hpp>
#include <string>
#include <utility>
#include <vector>

#include "iclsweep/data/params.hpp"
#include "iclsweep/model/config.hpp"
#include "iclsweep/train/config.hpp"
#include "kinds/gated/gated_kind.hpp"
#include "iclsweep/train/trainer.hpp"
#include "kinds/synthetic/transformer_kind.hpp"

using namespace icl;

namespace {

const ParamRegistry& registry() {
  static const ParamRegistry r = [] {
    ParamRegistry reg;
    reg.add(data_param_specs());
    reg.add(train_param_specs());
    reg.add(model_param_specs());
    reg.add(gated_param_specs());
    return reg;
  }();
  return r;
}

ParamMap point(const std::vector<std::pair<std::string, std::string>>& sets) {
  ParamMap p = ParamMap::defaults(registry());
  for (const auto& [k, v] : sets) p.set(registry(), k, v);
  return p;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& m : v) s += m + "\n";
  return s;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// validate() is empty exactly when schema() and cost() work and give dims >= 1.
void check_consistent(const ModelKind& kind, const ParamMap& p, const std::string& what) {
  const auto problems = kind.validate(p);
  if (!problems.empty()) return;
  try {
    for (const auto& f : kind.schema(p).fields)
      for (const auto d : f.dims) BOOST_TEST(d >= 1, what << ": field " << f.path << " has a dim " << d);
    BOOST_TEST(kind.cost(p) >= 0.0, what);
  } catch (const std::exception& e) {
    BOOST_ERROR(what << ": validate() passed but schema()/cost() threw: " << e.what());
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(fewer_steps_than_the_log_interval_is_a_validation_error) {
  const TransformerKind transformer;
  const auto m = joined(transformer.validate(point({{"train.steps", "10"}, {"train.log_interval", "50"}})));
  BOOST_TEST(contains(m, "train.log_interval"), m);
  BOOST_TEST(contains(m, "train.steps = 10"), m);
  BOOST_TEST(transformer.validate(point({{"train.steps", "50"}, {"train.log_interval", "50"}})).empty());
}

BOOST_AUTO_TEST_CASE(the_gated_p0_stages_need_a_log_entry_too) {
  const GatedKind gated;
  const auto m = joined(gated.validate(point({{"gated.p0_steps", "10"}, {"train.log_interval", "50"}})));
  BOOST_TEST(contains(m, "gated.p0_steps"), m);
  BOOST_TEST(contains(m, "train.log_interval"), m);
}

BOOST_AUTO_TEST_CASE(a_log_of_more_than_a_million_entries_is_refused) {
  const TransformerKind transformer;
  const auto m = joined(transformer.validate(point({{"train.steps", "2^30"}, {"train.log_interval", "1"},
                                                     {"train.checkpoint_interval", "2^20"}})));
  BOOST_TEST(contains(m, "train.log_interval"), m);
}

BOOST_AUTO_TEST_CASE(validation_covers_every_assumption_of_schema_and_cost) {
  const TransformerKind transformer;
  const GatedKind gated;
  const std::vector<std::vector<std::pair<std::string, std::string>>> edges = {
      {},
      {{"train.steps", "1"}},
      {{"train.steps", "1"}, {"train.log_interval", "1"}},
      {{"train.steps", "49"}},
      {{"train.steps", "7"}, {"train.log_interval", "7"}, {"train.checkpoint_interval", "100"}},
      {{"gated.p0_steps", "1"}},
      {{"gated.p0_steps", "3"}, {"train.log_interval", "3"}, {"gated.p0_checkpoint_interval", "5"}},
      {{"train.steps", "2^31-1"}},
      {{"train.steps", "100"}, {"train.log_interval", "1"}, {"train.checkpoint_interval", "1"}},
  };
  for (const auto& e : edges) {
    std::string what;
    for (const auto& [k, v] : e) what += k + "=" + v + " ";
    const ParamMap p = [&] {
      try {
        return point(e);
      } catch (const std::exception&) {
        return ParamMap::defaults(registry());
      }
    }();
    check_consistent(transformer, p, "transformer " + what);
    check_consistent(gated, p, "gated " + what);
  }
}
