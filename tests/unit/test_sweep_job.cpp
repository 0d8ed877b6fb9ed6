#define BOOST_TEST_MODULE sweep_job
#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <boost/test/unit_test.hpp>
#include <set>
#include <string>
#include <vector>

#include "iclsweep/core/error.hpp"
#include "iclsweep/data/params.hpp"
#include "iclsweep/sweep/grid.hpp"
#include "iclsweep/sweep/job.hpp"
#include "iclsweep/sweep/model_kinds.hpp"

using namespace icl;

namespace {

// The sweep room cannot link the CLI's full registry; this one has the data and sweep keys plus stand-ins
// for the train keys the cost model reads.
const ParamRegistry& test_registry() {
  static const ParamRegistry r = [] {
    ParamRegistry reg;
    reg.add(data_param_specs());
    reg.add(sweep_param_specs());
    reg.add({{"train.steps", ParamType::Int, "50000", "optimizer steps", {}},
             {"train.checkpoint_interval", ParamType::Int, "500", "steps between checkpoints", {}}});
    return reg;
  }();
  return r;
}

std::string data_dir() {
  const std::string here = __FILE__;  // .../tests/unit/test_sweep_job.cpp
  return here.substr(0, here.rfind("/unit/")) + "/data/jobs/";
}

Job parse(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return Job::parse(text, "test.ini", overrides, test_registry());
}

// The message of the InputError that parsing throws ("" if it does not throw).
std::string parse_error(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    parse(text, overrides);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

const char* kSmallJob =
    "[data]\n"
    "num_contexts = 2   # L\n"
    "[train]\n"
    "steps = 1000\n"
    "[grid]\n"
    "data.p_high = 0.5, 0.9\n"
    "data.dataset_size = 2^6..2^10 step 2\n"
    "seeds = 0..1\n";

}  // namespace

BOOST_AUTO_TEST_CASE(value_lists_expand_every_form) {
  using V = std::vector<std::string>;
  BOOST_TEST(expand_value_list("0.0, 0.2,0.4") == (V{"0.0", "0.2", "0.4"}), boost::test_tools::per_element());
  BOOST_TEST(expand_value_list("0..4") == (V{"0", "1", "2", "3", "4"}), boost::test_tools::per_element());
  BOOST_TEST(expand_value_list("0..10 step 5") == (V{"0", "5", "10"}), boost::test_tools::per_element());
  BOOST_TEST(expand_value_list("2^6..2^9") == (V{"2^6", "2^7", "2^8", "2^9"}), boost::test_tools::per_element());
  BOOST_TEST(expand_value_list("2^6..2^20 step 2").size() == 8u);
  BOOST_TEST(expand_value_list("1, 2^4..2^5, 7") == (V{"1", "2^4", "2^5", "7"}), boost::test_tools::per_element());
  BOOST_CHECK_THROW(expand_value_list(""), InputError);
  BOOST_CHECK_THROW(expand_value_list("1,,2"), InputError);
  BOOST_CHECK_THROW(expand_value_list("4..0"), InputError);
  BOOST_CHECK_THROW(expand_value_list("2^6..3^8"), InputError);
  BOOST_CHECK_THROW(expand_value_list("0..4 step 0"), InputError);
  BOOST_CHECK_THROW(expand_value_list("0.5..2"), InputError);
}

BOOST_AUTO_TEST_CASE(fixed_values_and_powers_of_two_are_parsed) {
  const Job job = parse(kSmallJob);
  BOOST_TEST(job.size() == 2u * 3u * 2u);
  BOOST_TEST(job.base_params().get_int("data.num_contexts") == 2);
  BOOST_TEST(job.base_params().get_int("train.steps") == 1000);
  BOOST_TEST(job.base_params().get_string("run.model_kind") == "transformer");  // registry default
  const auto& sizes = job.grid().axes()[1].values;
  BOOST_TEST(sizes == (std::vector<std::string>{"64", "256", "1024"}), boost::test_tools::per_element());
  for (const auto& p : job.points()) BOOST_TEST(p.params.get_int("data.num_contexts") == 2);
}

BOOST_AUTO_TEST_CASE(product_order_is_first_key_slowest_seeds_innermost) {
  // seeds written first must still vary fastest.
  const Job job = parse("[grid]\nseeds = 0..1\ndata.p_high = 0.5, 0.9\ndata.dataset_size = 64, 128, 256\n");
  BOOST_TEST(job.size() == 12u);
  BOOST_TEST(job.grid_keys() == (std::vector<std::string>{"data.p_high", "data.dataset_size", "data.seed"}),
             boost::test_tools::per_element());
  for (std::size_t i = 0; i < job.size(); ++i) {
    const auto& p = job.points()[i];
    BOOST_TEST(p.index == i);
    BOOST_TEST(p.params.get_int("data.seed") == static_cast<std::int64_t>(i % 2));
    BOOST_TEST(p.params.get_int("data.dataset_size") == std::int64_t{64} << ((i / 2) % 3));
    BOOST_TEST(p.params.get_real("data.p_high") == (i < 6 ? 0.5 : 0.9));
    BOOST_TEST(p.grid_values.size() == 3u);
    BOOST_TEST(p.grid_values[2].first == "data.seed");
  }
  BOOST_TEST(job.points()[3].describe() == "data.p_high=0.5, data.dataset_size=128, data.seed=1");
}

BOOST_AUTO_TEST_CASE(sections_come_from_the_registry_and_model_kind_is_checked) {
  const Job job = parse("[run]\nmodel_kind = theory\n");
  BOOST_TEST(job.base_params().get_string("run.model_kind") == "theory");
  // The choices are the families' kinds (src/kinds/, in folder order): every kind of today among them.
  std::string known;
  for (const auto& k : model_kind_names()) known += (known.empty() ? "" : " | ") + k;
  for (const char* k : {"transformer", "gated", "theory", "online", "omniglot", "lm_facts"})
    BOOST_TEST((" " + known + " ").find(std::string(" ") + k + " ") != std::string::npos, k);
  BOOST_TEST(contains(parse_error("[run]\nmodel_kind = gpt\n"), "test.ini:2: parameter 'run.model_kind' = 'gpt': expected one of " + known));
  // The test registry has no model.* keys, so [model] is not a section here.
  BOOST_TEST(contains(parse_error("[model]\nnum_blocks = 2\n"), "test.ini:1: unknown section [model]"));
  BOOST_TEST(contains(parse_error("[modle]\n"), "Sections: [data] [run] [train] [grid]"));
}

BOOST_AUTO_TEST_CASE(a_job_without_grid_is_one_point) {
  const Job job = parse("[data]\nnum_contexts = 4\n");
  BOOST_TEST(job.size() == 1u);
  BOOST_TEST(job.grid_keys().empty());
  BOOST_TEST(job.points()[0].params.get_int("data.num_contexts") == 4);
}

BOOST_AUTO_TEST_CASE(overrides_replace_fixed_values_grid_lists_and_seeds) {
  const Job job = parse(kSmallJob, {"train.steps=2000", "grid.data.dataset_size=2^6,2^8", "seeds=0..2",
                                    "num_contexts=4" /* short names resolve */});
  BOOST_TEST(job.size() == 2u * 2u * 3u);
  BOOST_TEST(job.base_params().get_int("train.steps") == 2000);
  BOOST_TEST(job.base_params().get_int("data.num_contexts") == 4);
  BOOST_TEST(job.grid().axes()[1].values == (std::vector<std::string>{"64", "256"}), boost::test_tools::per_element());
  // A plain --set of a grid key collapses its axis to the given value(s).
  const Job one = parse(kSmallJob, {"data.p_high=0.9", "data.seed=3"});
  BOOST_TEST(one.size() == 3u);
  for (const auto& p : one.points()) {
    BOOST_TEST(p.params.get_real("data.p_high") == 0.9);
    BOOST_TEST(p.params.get_int("data.seed") == 3);
  }
  BOOST_TEST(one.grid_keys().size() == 3u);  // still grid keys, shown in tables
  // --set seeds adds a seed axis to a job that had none.
  BOOST_TEST(parse("[data]\nseed = 7\n", {"seeds=0..3"}).size() == 4u);
  // The stored text records the overrides.
  BOOST_TEST(contains(job.text(), "# --set train.steps=2000\n"));
  BOOST_TEST(contains(job.text(), "steps = 1000"));
}

BOOST_AUTO_TEST_CASE(bad_overrides_are_reported) {
  const auto msg = parse_error(kSmallJob, {"train.stepz=5", "grid.data.p_relevant_context=0,1", "data.p_high=2^x", "nonsense"});
  BOOST_TEST(contains(msg, "--set 'train.stepz=5': unknown parameter 'train.stepz'; did you mean 'train.steps'"));
  BOOST_TEST(contains(msg, "--set 'grid.data.p_relevant_context=0,1': 'data.p_relevant_context' is not a [grid] key"));
  BOOST_TEST(contains(msg, "--set 'data.p_high=2^x'"));
  BOOST_TEST(contains(msg, "--set 'nonsense': expected key=value"));
  BOOST_TEST(contains(msg, "4 problems"));
}

BOOST_AUTO_TEST_CASE(every_error_kind_is_reported_at_once_with_lines) {
  std::string msg;
  try {
    Job::load(data_dir() + "many_errors.ini", {}, test_registry());
  } catch (const InputError& e) {
    msg = e.what();
  }
  BOOST_TEST_MESSAGE(msg);
  const std::string f = data_dir() + "many_errors.ini:";
  BOOST_TEST(contains(msg, f + "3: unknown parameter 'data.num_context'; did you mean 'data.num_contexts'"));
  BOOST_TEST(contains(msg, f + "4: parameter 'data.p_high' = 'high': expected a finite real number"));
  BOOST_TEST(contains(msg, f + "6: 'data.num_dims' is set twice (first on line 5)"));
  BOOST_TEST(contains(msg, f + "9: unknown section [trian]; did you mean [train]?"));
  BOOST_TEST(contains(msg, f + "13: 'data.input_noise_std' is both a fixed value (line 7) and a [grid] key"));
  BOOST_TEST(contains(msg, f + "14: 'data.label_noise': empty value list"));
  BOOST_TEST(contains(msg, f + "15: point 0 (data.input_noise_std=0, data.dataset_size=8, data.seed=0): parameter 'data.dataset_size' = 8"));
  BOOST_TEST(contains(msg, f + "17: 'this line has no equals sign': expected 'name = value'"));
  BOOST_TEST(!contains(msg, ":10:"));  // keys of an unknown section add no noise
  // 4 failing points (N = 8) plus the 7 other problems, one per line.
  BOOST_TEST(contains(msg, "11 problems"));
  BOOST_TEST(std::count(msg.begin(), msg.end(), '\n') == 11);
}

BOOST_AUTO_TEST_CASE(did_you_mean_in_grid_keys_and_short_names_in_sections) {
  const auto msg = parse_error("[grid]\ndata.dataset_sise = 64, 128\n[data]\ndata.num_contexts = 2\n");
  BOOST_TEST(contains(msg, "test.ini:2: unknown parameter 'data.dataset_sise'; did you mean 'data.dataset_size'"));
  BOOST_TEST(contains(msg, "test.ini:4: 'data.num_contexts' inside [data]: write the short name ('num_contexts')"));
  BOOST_TEST(contains(parse_error("num_contexts = 2\n"), "test.ini:1: 'num_contexts = 2' comes before any [section]"));
}

BOOST_AUTO_TEST_CASE(bad_grid_items_and_duplicates_are_reported) {
  const auto msg = parse_error("[grid]\ndata.p_high = 0.9, 0.90, abc\nseeds = 0, 1, 1\ndata.seed = 5\n");
  BOOST_TEST(contains(msg, "test.ini:2: 'data.p_high': value 0.9 (written 0.90) appears twice"));
  BOOST_TEST(contains(msg, "test.ini:2: parameter 'data.p_high' = 'abc'"));
  BOOST_TEST(contains(msg, "test.ini:3: 'data.seed': value 1 appears twice"));
  BOOST_TEST(contains(msg, "test.ini:4: 'data.seed' is set twice (first on line 3)"));
}

BOOST_AUTO_TEST_CASE(point_constraints_name_the_point_and_line) {
  const auto msg = parse_error("[data]\nnum_low_prob_classes = 45\n[grid]\ndata.p_high = 0.5, 0.9\ndata.dataset_size = 64, 2^10\n");
  // p_high = 0.5 with H = 5, Lo = 45 breaks p_high/H >= (1-p_high)/Lo? 0.1 >= 0.011: fine; N = 64 < C = 50? no.
  BOOST_TEST(msg.empty());
  const auto bad = parse_error("[data]\nnum_low_prob_classes = 95\n[grid]\ndata.p_high = 0.9\ndata.dataset_size = 64, 2^10\n");
  BOOST_TEST(contains(bad, "test.ini:5: point 0 (data.p_high=0.9, data.dataset_size=64): parameter 'data.dataset_size' = 64: must be >= C"));
  BOOST_TEST(!contains(bad, "point 1 "));
}

BOOST_AUTO_TEST_CASE(registered_validators_run_on_every_point) {
  add_point_validator("test-even-seeds", [](const ParamMap& p) {
    std::vector<std::string> e;
    if (p.get_int("data.seed") % 2) e.push_back("parameter 'data.seed' = " + p.get_string("data.seed") + ": test rule, must be even");
    return e;
  });
  const auto msg = parse_error("[grid]\nseeds = 0..3\n");
  add_point_validator("test-even-seeds", [](const ParamMap&) { return std::vector<std::string>{}; });  // disarm
  BOOST_TEST(contains(msg, "test.ini:2: point 1 (data.seed=1): parameter 'data.seed' = 1: test rule"));
  BOOST_TEST(contains(msg, "test.ini:2: point 3 (data.seed=3)"));
  BOOST_TEST(contains(msg, "2 problems"));
  BOOST_TEST(parse_error("[grid]\nseeds = 0..3\n").empty());
}

BOOST_AUTO_TEST_CASE(point_ids_and_grid_hash_are_stable_and_order_sensitive) {
  const Job a = parse(kSmallJob), b = parse(kSmallJob);
  BOOST_TEST(a.grid_hash() == b.grid_hash());
  BOOST_TEST(a.grid_hash().size() == 16u);
  std::set<std::string> ids;
  for (std::size_t i = 0; i < a.size(); ++i) {
    BOOST_TEST(a.points()[i].id == b.points()[i].id);
    const std::string canon = identity_text(a.points()[i].params, test_registry());
    BOOST_TEST(canon.find("data.num_high_prob_classes") == std::string::npos, "keys at their default are not part of the identity");
    char expect[17];
    std::snprintf(expect, sizeof expect, "%016llx", static_cast<unsigned long long>(XXH64(canon.data(), canon.size(), 0)));
    BOOST_TEST(a.points()[i].id == expect);
    ids.insert(a.points()[i].id);
  }
  BOOST_TEST(ids.size() == a.size());
  // The same points in another order: same ids, different hash.
  const Job swapped = parse("[data]\nnum_contexts = 2\n[train]\nsteps = 1000\n[grid]\n"
                            "data.dataset_size = 2^6..2^10 step 2\ndata.p_high = 0.5, 0.9\nseeds = 0..1\n");
  std::set<std::string> swapped_ids;
  for (const auto& p : swapped.points()) swapped_ids.insert(p.id);
  BOOST_TEST((swapped_ids == ids));
  BOOST_TEST(swapped.grid_hash() != a.grid_hash());
  // Writing a value differently (0.90, 2^6 vs 64) does not change identity.
  const Job respelled = parse("[data]\nnum_contexts = 2\n[train]\nsteps = 1e3\n[grid]\n"
                              "data.p_high = 0.50, 0.9\ndata.dataset_size = 64, 256, 1024\nseeds = 0, 1\n");
  BOOST_TEST(respelled.grid_hash() == a.grid_hash());
  // A fixed value change changes every id.
  BOOST_TEST(parse(kSmallJob, {"train.steps=2000"}).points()[0].id != a.points()[0].id);
}

BOOST_AUTO_TEST_CASE(paper_noisy_inputs_job_has_480_points) {
  const Job job = Job::load(data_dir() + "noisy_inputs.ini", {}, test_registry());
  BOOST_TEST(job.size() == 480u);
  BOOST_TEST(job.grid_keys().back() == "data.seed");
  BOOST_TEST(job.points().back().params.get_int("data.dataset_size") == std::int64_t{1} << 20);
  // Scaled down for a laptop.
  const Job small = Job::load(data_dir() + "noisy_inputs.ini",
                              {"train.steps=2000", "grid.data.dataset_size=2^6,2^8", "seeds=0..1"}, test_registry());
  BOOST_TEST(small.size() == 4u * 3u * 2u * 2u);
  BOOST_CHECK_THROW(Job::load(data_dir() + "missing.ini", {}, test_registry()), InputError);
}

// Results files outlive releases: registering a new key (whose default keeps the old behaviour) must not
// change existing point ids, or every older results file would be refused on resume.
BOOST_AUTO_TEST_CASE(new_keys_at_their_default_do_not_change_point_ids) {
  ParamRegistry wider;
  wider.add(data_param_specs());
  wider.add(sweep_param_specs());
  wider.add({{"train.steps", ParamType::Int, "50000", "optimizer steps", {}},
             {"train.checkpoint_interval", ParamType::Int, "500", "steps between checkpoints", {}},
             {"train.some_future_option", ParamType::Int, "0", "added in a later release", {}}});
  const Job before = parse(kSmallJob);
  const Job after = Job::parse(kSmallJob, "test.ini", {}, wider);
  BOOST_TEST(before.grid_hash() == after.grid_hash());
  for (std::size_t i = 0; i < before.size(); ++i) BOOST_TEST(before.points()[i].id == after.points()[i].id);
  // ... while setting it to another value is a different point.
  const Job changed = Job::parse(kSmallJob, "test.ini", {"train.some_future_option=1"}, wider);
  BOOST_TEST(changed.points()[0].id != before.points()[0].id);
}
