// run.model_kind = raventos: validation messages, schema against the record, baselines in the record,
// bit-identical reruns, the registration.
#define BOOST_TEST_MODULE raventos_kind
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/family.hpp"
#include "kinds/raventos/kind.hpp"
#include "kinds/raventos/params.hpp"

void icl_register_family_raventos(icl::FamilyRegistry& families);

using namespace icl;
using namespace icl::raventos;

namespace {
ParamRegistry registry() {
  ParamRegistry r;
  r.add(param_specs());
  r.add({{"data.seed", ParamType::Int, "0", "seed", {}, 0, (std::int64_t{1} << 32) - 1}});
  return r;
}
ParamMap point(const std::vector<std::string>& sets) {
  const auto r = registry();
  ParamMap p = ParamMap::defaults(r);
  for (const auto& s : sets) p.set_assignment(r, s);
  return p;
}
const std::vector<std::string> kTiny = {"raventos.dims=3", "raventos.num_examples=4", "raventos.layers=1", "raventos.embed_dim=8",
                                        "raventos.steps=60", "raventos.batch_size=16", "raventos.eval_interval=20",
                                        "raventos.log_interval=10", "raventos.eval_sequences=32", "raventos.num_tasks=4"};
}  // namespace

BOOST_AUTO_TEST_CASE(the_family_registers_its_kind_and_keys) {
  FamilyRegistry f;
  icl_register_family_raventos(f);
  BOOST_REQUIRE(f.find_kind("raventos") != nullptr);
  for (const auto& spec : f.all().at(0).params) BOOST_TEST(spec.key.rfind("raventos.", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(defaults_are_the_paper_and_valid) {
  RaventosKind kind;
  BOOST_TEST(kind.validate(point({})).empty());
  const Params p = Params::from(point({}));
  BOOST_TEST(p.dims == 8);
  BOOST_TEST(p.num_examples == 16);
  BOOST_TEST(p.noise_variance == 0.25);
  BOOST_TEST(p.layers == 8);
  BOOST_TEST(p.embed_dim == 128);
  BOOST_TEST(p.batch_size == 256);
  BOOST_TEST(p.steps == 500000);
}

BOOST_AUTO_TEST_CASE(broken_rules_are_named_with_key_rule_and_fix) {
  RaventosKind kind;
  const auto e = kind.validate(point({"raventos.heads=3", "raventos.embed_dim=64", "raventos.warmup_fraction=1",
                                      "raventos.steps=10", "raventos.log_interval=100", "raventos.eval_interval=10"}));
  BOOST_REQUIRE(e.size() == 3u);
  BOOST_TEST(e[0].find("raventos.heads") != std::string::npos);
  BOOST_TEST(e[0].find("must divide raventos.embed_dim = 64") != std::string::npos);
  BOOST_TEST(e[1].find("raventos.warmup_fraction") != std::string::npos);
  BOOST_TEST(e[2].find("raventos.log_interval") != std::string::npos);
  BOOST_TEST(e[2].find("lower it") != std::string::npos);
  BOOST_CHECK_THROW(Params::from(point({"raventos.noise_variance=0"})), Error);
}

BOOST_AUTO_TEST_CASE(a_tiny_point_fills_its_schema_and_reruns_bit_identically) {
  RaventosKind kind;
  const ParamMap p = point(kTiny);
  const ResultSchema schema = kind.schema(p);
  const PointRecord a = kind.run(p, nullptr), b = kind.run(p, nullptr);
  for (const auto& f : schema.fields) {
    BOOST_REQUIRE_MESSAGE(a.fields.count(f.path), "missing field " << f.path);
    const auto& v = a.fields.at(f.path);
    if (!f.dims.empty()) BOOST_TEST(v.dims[0] <= f.dims[0], f.path);
    BOOST_TEST(v.values == b.fields.at(f.path).values, f.path);
  }
  BOOST_TEST(a.fields.size() == schema.fields.size());
  BOOST_TEST(a.fields.at("checkpoint/step").values == (std::vector<double>{20, 40, 60}));
  BOOST_TEST(a.fields.at("train/loss").values.size() == 6u);
  // The baselines on their own distributions: dMMSE beats Ridge on T_Pretrain, Ridge beats dMMSE on T_True.
  auto s = [&](const std::string& f) { return a.fields.at(f).values.at(0); };
  BOOST_TEST(s("baseline/pretrain/dmmse_loss") < s("baseline/pretrain/ridge_loss"));
  BOOST_TEST(s("baseline/true/ridge_loss") < s("baseline/true/dmmse_loss"));
  BOOST_TEST(std::isfinite(s("final/true/loss")));
  // Another seed: other numbers.
  auto other = kTiny;
  other.push_back("data.seed=1");
  const PointRecord c = kind.run(point(other), nullptr);
  BOOST_TEST(c.fields.at("final/true/loss").values != a.fields.at("final/true/loss").values);
}

BOOST_AUTO_TEST_CASE(infinite_pool_has_no_dmmse) {
  RaventosKind kind;
  auto sets = kTiny;
  sets.push_back("raventos.num_tasks=0");
  const PointRecord a = kind.run(point(sets), nullptr);
  BOOST_TEST(std::isnan(a.fields.at("baseline/true/dmmse_loss").values[0]));
  BOOST_TEST(std::isnan(a.fields.at("final/pretrain/dist_dmmse").values[0]));
  BOOST_TEST(std::isfinite(a.fields.at("final/pretrain/dist_ridge").values[0]));
}

BOOST_AUTO_TEST_CASE(cost_terms_grow_with_the_work) {
  RaventosKind kind;
  auto cost = [&](const std::vector<std::string>& extra) {
    auto sets = kTiny;
    sets.insert(sets.end(), extra.begin(), extra.end());
    double total = 0;
    for (const auto& t : kind.cost_terms(point(sets))) total += t.count;
    return total;
  };
  BOOST_TEST(cost({"raventos.steps=120"}) > cost({}));
  BOOST_TEST(cost({"raventos.num_tasks=2^16"}) > cost({}));
  BOOST_TEST(kind.memory_bytes(point({})) > 0);
  for (const auto& c : kind.calibration_points()) BOOST_TEST(kind.validate(point({c.begin() + 1, c.end()})).empty());
}
