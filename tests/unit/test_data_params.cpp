#define BOOST_TEST_MODULE data_params
#include <boost/test/unit_test.hpp>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/params.hpp"
#include "iclsweep/data/params.hpp"

using namespace icl;

static ParamRegistry data_registry() {
  ParamRegistry r;
  r.add(data_param_specs());
  return r;
}

// Expects a ParamError on `key` whose message names the value.
template <class F>
static void expect_param_error(F&& f, const std::string& key, const std::string& value) {
  try {
    f();
    BOOST_ERROR("expected ParamError for " + key + " = " + value);
  } catch (const ParamError& e) {
    BOOST_TEST(e.key == key);
    BOOST_TEST(e.value == value);
    BOOST_TEST(std::string(e.what()).find(key) != std::string::npos);
    BOOST_TEST(!e.rule.empty());
  }
}

BOOST_AUTO_TEST_CASE(defaults_are_valid_and_round_trip) {
  const auto r = data_registry();
  auto m = ParamMap::defaults(r);
  m.set(r, "data.num_contexts", "4");
  m.set(r, "data.num_relevant_contexts", "2");
  m.set(r, "data.relevance_mode", "per_slot");
  const DataParams d = DataParams::from(m);
  BOOST_TEST(d.num_contexts == 4);
  BOOST_TEST(*d.num_relevant_contexts == 2);
  BOOST_TEST((d.relevance_mode == RelevanceMode::PerSlot));
  ParamMap back;
  d.write_to(back);
  for (const auto& [k, v] : back.values()) BOOST_TEST(m.get_string(k) == v, k);
}

BOOST_AUTO_TEST_CASE(p_high_must_lie_strictly_inside_0_1) {
  for (double p : {0.0, 1.0, -0.5, 1.5}) {
    DataParams d;
    d.p_high = p;
    expect_param_error([&] { d.validate(); }, "data.p_high", format_real(p));
  }
}

BOOST_AUTO_TEST_CASE(high_classes_must_be_at_least_as_likely_as_low_ones) {
  DataParams d;
  d.p_high = 0.1;  // 0.02 < 0.18: illegal with H = Lo = 5 (§1.1)
  expect_param_error([&] { d.validate(); }, "data.p_high", "0.1");
  d.p_high = 0.5;  // equal weights: legal
  BOOST_CHECK_NO_THROW(d.validate());
}

BOOST_AUTO_TEST_CASE(pool_must_hold_every_class) {
  DataParams d;
  d.dataset_size = 9;  // C = 10
  expect_param_error([&] { d.validate(); }, "data.dataset_size", "9");
  d.dataset_size = 10;
  BOOST_CHECK_NO_THROW(d.validate());
}

BOOST_AUTO_TEST_CASE(relevant_contexts_cannot_exceed_contexts) {
  DataParams d;
  d.num_contexts = 4;
  d.num_relevant_contexts = 5;
  expect_param_error([&] { d.validate(); }, "data.num_relevant_contexts", "5");
  d.num_relevant_contexts = 0;
  expect_param_error([&] { d.validate(); }, "data.num_relevant_contexts", "0");
  d.num_relevant_contexts = 4;
  BOOST_CHECK_NO_THROW(d.validate());
}

BOOST_AUTO_TEST_CASE(identity_tokenizer_needs_D_equal_E) {
  DataParams d;
  d.num_dims = 32;
  expect_param_error([&] { d.validate(); }, "data.num_dims", "32");
  d.input_tokenizer = "image";  // another tokenizer maps D -> E itself
  BOOST_CHECK_NO_THROW(d.validate());
}

BOOST_AUTO_TEST_CASE(unknown_relevance_mode_is_rejected) {
  const auto r = data_registry();
  auto m = ParamMap::defaults(r);
  BOOST_CHECK_THROW(m.set(r, "data.relevance_mode", "per_token"), InputError);  // through the registry
  m.set_raw("data.relevance_mode", "per_token");                                 // or around it (files)
  expect_param_error([&] { DataParams::from(m); }, "data.relevance_mode", "per_token");
  m.set_raw("data.relevance_mode", "per_slot");
  m.set_raw("data.conditioning", "rare");
  expect_param_error([&] { DataParams::from(m); }, "data.conditioning", "rare");
}

BOOST_AUTO_TEST_CASE(compat_flags_need_their_mode_and_noise_ranges_are_checked) {
  DataParams d;
  d.vfinal_bug_compat = true;  // per_sequence by default
  expect_param_error([&] { d.validate(); }, "data.vfinal_bug_compat", "1");
  d = DataParams{};
  d.relevance_mode = RelevanceMode::PerSlot;
  d.vpaper_bug_compat = true;
  expect_param_error([&] { d.validate(); }, "data.vpaper_bug_compat", "1");
  d = DataParams{};
  d.label_noise = 1.0;
  expect_param_error([&] { d.validate(); }, "data.label_noise", "1");
  d = DataParams{};
  d.input_noise_std = -0.1;
  expect_param_error([&] { d.validate(); }, "data.input_noise_std", "-0.1");
  d = DataParams{};
  d.p_relevant_context = 1.1;
  expect_param_error([&] { d.validate(); }, "data.p_relevant_context", "1.1");
}
