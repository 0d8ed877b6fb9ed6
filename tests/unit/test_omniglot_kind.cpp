#define BOOST_TEST_MODULE train_omniglot
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <filesystem>

#include "../unit/omniglot_fixture.hpp"
#include "iclsweep/core/error.hpp"
#include "iclsweep/data/omniglot_pool.hpp"
#include "iclsweep/data/params.hpp"
#include "iclsweep/model/config.hpp"
#include "iclsweep/train/config.hpp"
#include "kinds/omniglot/omniglot_kind.hpp"

// The Omniglot model kind end to end (ResNet-v1 tokenizer + transformer + trainer) on a fixture of
// 6 block-drawing classes at 16x16: seconds per test. The baselines must learn what they can only
// learn one way (as tests/unit/test_train_learning.cpp does for the synthetic data).

using namespace icl;
namespace fs = std::filesystem;

namespace {

const fs::path& fixture_dir() {
  static const fs::path dir = [] {
    const fs::path d = fs::temp_directory_path() / ("iclsweep_test_train_omniglot_" + std::to_string(::getpid()));
    fs::remove_all(d);
    omniglot_fixture::write_block_dataset(d, 6);
    return d;
  }();
  return dir;
}

ParamRegistry registry() {
  ParamRegistry reg;
  reg.add(data_param_specs());
  reg.add(train_param_specs());
  reg.add(model_param_specs());
  reg.add(omniglot_param_specs());
  return reg;
}

ParamMap point(const std::vector<std::pair<std::string, std::string>>& settings) {
  const ParamRegistry reg = registry();
  ParamMap p = ParamMap::defaults(reg);
  p.set_raw("run.model_kind", "omniglot");
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"model.input_tokenizer", "resnet_v1"}, {"omniglot.path", fixture_dir().string()}, {"omniglot.image_size", "16"},
           {"data.num_high_prob_classes", "2"}, {"data.p_high", "0.5"}, {"data.num_contexts", "2"},
           {"data.dataset_size", "1200"}, {"train.learning_rate", "0.001"}, {"train.log_interval", "50"},
           {"eval.num_eval_samples", "200"}, {"eval.num_pretraining_samples", "400"}})
    p.set(reg, k, v);
  for (const auto& [k, v] : settings) p.set(reg, k, v);
  return p;
}

double selected(const PointRecord& r, const std::string& split) { return r.fields.at("selected/" + split + "/error").values.at(0); }

}  // namespace

// p_rel = 0 (the IW baseline): the context never holds the query class, so the class must be learnt
// from the image in weights; after the within-group shift it answers the old class.
BOOST_AUTO_TEST_CASE(in_weight_baseline_learns_the_classes_from_images) {
  const ParamMap p = point({{"data.p_relevant_context", "0"}, {"data.input_noise_std", "0.1"}, {"train.steps", "600"},
                            {"train.checkpoint_interval", "300"}});
  BOOST_TEST(OmniglotKind().validate(p).empty());
  BOOST_TEST(OmniglotKind().check_inputs(p).empty());
  const PointRecord r = OmniglotKind().run(p, {});
  const double ibd = selected(r, "eval-default-none"), oobd = selected(r, "eval-relevant_context-none-flip_label");
  BOOST_TEST_MESSAGE("IW baseline: IBD error " << ibd << ", OOBD error " << oobd << " (chance 5/6)");
  BOOST_TEST(ibd <= 0.1);
  BOOST_TEST(oobd >= 0.8);
  BOOST_TEST(r.fields.at("omniglot/num_classes").values.at(0) == 6);
  BOOST_TEST(r.fields.at("omniglot/paper_deviation").values.at(0) == 1);
}

// p_rel = 1 with every context the query's class (L_rel = L): copying a context label is the way to
// low loss that survives the OOBD relabelling, whatever drawing is shown (heldout splits too).
BOOST_AUTO_TEST_CASE(in_context_baseline_copies_labels) {
  const ParamMap p = point({{"data.p_relevant_context", "1"}, {"data.num_relevant_contexts", "2"},
                            {"data.input_noise_std", "0.5"}, {"train.steps", "600"}, {"train.checkpoint_interval", "300"}});
  const PointRecord r = OmniglotKind().run(p, {});
  const double oobd = selected(r, "eval-relevant_context-none-flip_label");
  const double heldout = selected(r, "eval-relevant_context-none-heldout_input-flipped_label");
  BOOST_TEST_MESSAGE("IC baseline: OOBD error " << oobd << ", heldout OOBD error " << heldout);
  BOOST_TEST(oobd <= 0.2);
  BOOST_TEST(heldout <= 0.2);
}

BOOST_AUTO_TEST_CASE(same_seed_same_losses_and_bad_data_is_named) {
  const ParamMap p = point({{"train.steps", "40"}, {"train.checkpoint_interval", "20"}, {"train.log_interval", "10"},
                            {"data.input_noise_std", "0.1"}, {"data.seed", "2"}});
  const auto a = OmniglotKind().run(p, {}).fields.at("train/loss").values;
  const auto b = OmniglotKind().run(p, {}).fields.at("train/loss").values;
  BOOST_REQUIRE_EQUAL(a.size(), b.size());
  BOOST_TEST(std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);

  ParamMap bad = p;
  bad.set_raw("data.dataset_size", "5");
  const auto problems = OmniglotKind().check_inputs(bad);
  BOOST_REQUIRE(!problems.empty());
  BOOST_TEST(problems.front().find("C = 6") != std::string::npos, problems.front());
  bad = p;
  bad.set_raw("omniglot.path", (fixture_dir() / "nowhere").string());
  BOOST_TEST(OmniglotKind().check_inputs(bad).at(0).find("nowhere") != std::string::npos);
  BOOST_CHECK_THROW(OmniglotKind().run(bad, {}), InputError);
  bad = p;
  bad.set_raw("data.p_relevant_context", "2");  // a data rule that needs no dataset: a job error, not a warning
  BOOST_TEST(OmniglotKind().validate(bad).at(0).find("data.p_relevant_context") != std::string::npos);
  bad = p;
  bad.set_raw("model.input_tokenizer", "identity");
  BOOST_TEST(OmniglotKind().validate(bad).at(0).find("resnet_v1") != std::string::npos);
}
