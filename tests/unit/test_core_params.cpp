#define BOOST_TEST_MODULE core_params
#include <boost/test/unit_test.hpp>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/params.hpp"
#include "iclsweep/core/rng.hpp"

using namespace icl;

static ParamRegistry demo_registry() {
  ParamRegistry r;
  r.add({{"data.num_contexts", ParamType::Int, "1", "L", {}},
         {"data.p_high", ParamType::Real, "0.9", "", {}},
         {"data.conditioning", ParamType::String, "none", "", {"none", "high_prob", "low_prob"}},
         {"train.steps", ParamType::Int, "1000", "", {}}});
  return r;
}

BOOST_AUTO_TEST_CASE(canonical_values_print_and_hash_the_same) {
  auto r = demo_registry();
  auto m = ParamMap::defaults(r);
  m.set(r, "p_high", "0.90");
  BOOST_TEST(m.get_string("data.p_high") == "0.9");
  m.set(r, "train.steps", "1e5");
  BOOST_TEST(m.get_int("train.steps") == 100000);
  m.set(r, "steps", "2^10");
  BOOST_TEST(m.get_int("train.steps") == 1024);
}

BOOST_AUTO_TEST_CASE(short_names_prefer_the_data_key_and_are_otherwise_unique) {
  auto r = demo_registry();
  r.add({{"theory.num_contexts", ParamType::Int, "8", "", {}}, {"theory.steps", ParamType::Int, "1", "", {}}});
  auto m = ParamMap::defaults(r);
  m.set(r, "num_contexts", "4");  // the spec's vocabulary: data.num_contexts
  BOOST_TEST(m.get_int("data.num_contexts") == 4);
  BOOST_TEST(m.get_int("theory.num_contexts") == 8);
  BOOST_CHECK_THROW(m.set(r, "steps", "5"), InputError);  // train.steps or theory.steps: ambiguous
}

BOOST_AUTO_TEST_CASE(unknown_keys_suggest_the_nearest) {
  auto r = demo_registry();
  auto m = ParamMap::defaults(r);
  try {
    m.set(r, "num_context", "2");
    BOOST_FAIL("expected an error");
  } catch (const InputError& e) {
    BOOST_TEST(std::string(e.what()).find("did you mean 'data.num_contexts'") != std::string::npos, e.what());
  }
  BOOST_CHECK_THROW(m.set(r, "conditioning", "rare"), InputError);
  BOOST_CHECK_THROW(m.set(r, "num_contexts", "1.5"), InputError);
}

BOOST_AUTO_TEST_CASE(philox_streams_are_pure_functions_of_their_ids) {
  Philox a(stream_key(7, Purpose::TrainPool), 42), b(stream_key(7, Purpose::TrainPool), 42);
  Philox c(stream_key(7, Purpose::EvalPool), 42), d(stream_key(8, Purpose::TrainPool), 42);
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next_u32();
    BOOST_TEST(x == b.next_u32());
    (void)c;
    (void)d;
  }
  BOOST_TEST(Philox(stream_key(7, Purpose::EvalPool), 42).next_u64() != Philox(stream_key(7, Purpose::TrainPool), 42).next_u64());
  BOOST_TEST(Philox(stream_key(8, Purpose::TrainPool), 42).next_u64() != Philox(stream_key(7, Purpose::TrainPool), 42).next_u64());
  // below(n) is uniform: chi-square over 10 bins, 100k draws; the 1e-6 quantile of chi2(9) is ~45.
  Philox r(stream_key(1, Purpose::Sampling), 0);
  std::vector<int> counts(10, 0);
  const int n = 100000;
  for (int i = 0; i < n; ++i) ++counts[r.below(10)];
  double chi2 = 0;
  for (int c : counts) chi2 += (c - n / 10.0) * (c - n / 10.0) / (n / 10.0);
  BOOST_TEST(chi2 < 45.0);
  // normal(): mean 0, variance 1 within 6 standard errors.
  double s = 0, s2 = 0;
  for (int i = 0; i < n; ++i) {
    const double z = r.normal();
    s += z;
    s2 += z * z;
  }
  BOOST_TEST(std::abs(s / n) < 6.0 / std::sqrt(n));
  BOOST_TEST(std::abs(s2 / n - 1.0) < 6.0 * std::sqrt(2.0 / n));
}
