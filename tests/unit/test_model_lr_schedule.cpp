// The Omniglot learning-rate schedule (PAPER-SPEC §5.3) as train.lr_schedule = warmup_rsqrt.
#define BOOST_TEST_MODULE model_lr_schedule
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <string>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/params.hpp"
#include "iclsweep/model/config.hpp"
#include "iclsweep/model/transformer.hpp"
#include "model_test_util.hpp"

using namespace icl;

namespace {
ModelConfig omniglot_schedule() {
  ModelConfig c;
  c.lr_schedule = "warmup_rsqrt";
  c.warmup_steps = 4000;
  c.learning_rate = 3e-4;
  return c;
}
bool close(double a, double b) { return std::fabs(a - b) <= 1e-12 * std::fabs(b); }
}  // namespace

BOOST_AUTO_TEST_CASE(spec_values) {
  const ModelConfig c = omniglot_schedule();
  // §5.3: "7.5e-8 at t = 0, 3e-4 at t = 3999, and 6e-5 at t = 99,999".
  BOOST_TEST(close(c.learning_rate_at(0), 7.5e-8));
  BOOST_TEST(close(c.learning_rate_at(3999), 3e-4));
  BOOST_TEST(close(c.learning_rate_at(99999), 6e-5));
  BOOST_TEST(close(c.learning_rate_at(1999), 1.5e-4));                    // half-way up the warmup
  BOOST_TEST(close(c.learning_rate_at(15999), 3e-4 * std::sqrt(0.25)));  // 1/√t decay: t+1 = 4W gives lr/2
  for (std::int64_t t = 1; t < 4000; ++t) BOOST_TEST_REQUIRE(c.learning_rate_at(t) > c.learning_rate_at(t - 1));
  for (std::int64_t t = 4000; t < 20000; ++t) BOOST_TEST_REQUIRE(c.learning_rate_at(t) < c.learning_rate_at(t - 1));
}

BOOST_AUTO_TEST_CASE(constant_is_the_default) {
  const ModelConfig c;
  BOOST_TEST(c.lr_schedule == "constant");
  for (std::int64_t t : {0, 1, 3999, 99999}) BOOST_TEST(c.learning_rate_at(t) == 3e-4);
}

BOOST_AUTO_TEST_CASE(keys_and_validation) {
  ParamRegistry reg;
  reg.add(model_param_specs());
  ParamMap p = ParamMap::defaults(reg);
  BOOST_TEST(ModelConfig::from(p).lr_schedule == "constant");
  p.set(reg, "train.lr_schedule", "warmup_rsqrt");
  p.set(reg, "train.warmup_steps", "100");
  const ModelConfig c = ModelConfig::from(p);
  BOOST_TEST(c.warmup_steps == 100);
  BOOST_TEST(close(c.learning_rate_at(99), 3e-4));
  BOOST_CHECK_THROW(p.set(reg, "train.lr_schedule", "cosine"), Error);  // not one of the choices
  // Refused by the key's declared range (1..1e9) when it is set, or by ModelConfig::validate: either way
  // the error names the key.
  try {
    p.set(reg, "train.warmup_steps", "0");
    ModelConfig::from(p);
    BOOST_FAIL("warmup_steps = 0 must be refused");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).find("train.warmup_steps") != std::string::npos);
  }
  ModelConfig bad;
  bad.lr_schedule = "cosine";
  BOOST_CHECK_THROW(bad.validate(), ParamError);
}

BOOST_AUTO_TEST_CASE(transformer_steps_with_the_schedule) {
  // Adam's first update moves every parameter with a non-zero gradient by ≈ lr (m̂/√v̂ = ±1), so the
  // largest change after one step is the step-0 learning rate: 7.5e-8 with warmup, 3e-4 constant.
  // Measured on the parameters that start at 0 (biases), where float resolves a change of 7.5e-8.
  const Batch batch = test::random_batch(4, 2, 16, 6, 1);
  for (const bool warm : {true, false}) {
    ModelConfig c = warm ? omniglot_schedule() : ModelConfig{};
    c.embed_dim = 16;
    Transformer model(c, 6, 2, 16, 0);
    const auto before = model.parameter_values();
    model.train_step(batch);
    const auto after = model.parameter_values();
    double largest = 0;
    for (std::size_t i = 0; i < before.size(); ++i)
      if (before[i] == 0.0f) largest = std::max(largest, std::fabs(double(after[i]) - before[i]));
    const double expected = warm ? 7.5e-8 : 3e-4;
    BOOST_TEST(largest > 0.9 * expected);
    BOOST_TEST(largest < 1.1 * expected);
  }
}
