#define BOOST_TEST_MODULE model_weight_decay
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "iclsweep/core/rng.hpp"
#include "iclsweep/model/transformer.hpp"
#include "iclsweep/model/weight_decay.hpp"
#include "unit/model_test_util.hpp"

// train.weight_decay (Singh 2023's L2, PEERS-SPEC §2.5): which tensors each group covers, the coupled
// forms' gradients against finite differences of their penalty, AdamW's shrink, and the transformer's
// training actually decaying the chosen group and nothing else.
using namespace icl;

namespace {
WeightDecay decay(double lambda, DecayForm form, const std::string& params = "all") {
  WeightDecay wd;
  wd.lambda = lambda;
  wd.form = form;
  wd.params = params;
  return wd;
}

AlignedVector<double> random_values(std::size_t n, std::uint64_t tag) {
  Philox rng(stream_key(4242, Purpose::Sampling, tag), 0);
  AlignedVector<double> v(n);
  for (auto& x : v) x = rng.normal();
  return v;
}

double group_norm(Transformer& model, const std::string& params) {
  double sum = 0;
  for (const auto& [offset, size] : decayed_ranges(model.store(), params))
    for (std::size_t i = 0; i < size; ++i) sum += std::pow(model.store().values[offset + i], 2);
  return std::sqrt(sum);
}
}  // namespace

BOOST_AUTO_TEST_CASE(groups_cover_the_named_tensors) {
  ModelConfig mc;
  const Transformer model(mc, 10, 2, 64, 0);
  int all = 0, mlp = 0, attention = 0, embed_readout = 0;
  for (const auto& t : model.store().tensors) {
    all += decays("all", t.name);
    mlp += decays("mlp", t.name);
    attention += decays("attention", t.name);
    embed_readout += decays("embed_readout", t.name);
    BOOST_TEST(!decays("tokenizer", t.name));  // the identity tokenizer has no parameters
    BOOST_TEST(!(decays("mlp", t.name) && decays("attention", t.name)));
  }
  BOOST_TEST(all == static_cast<int>(model.store().tensors.size()));
  BOOST_TEST(mlp == 4 * mc.num_blocks);        // w1, b1, w2, b2
  BOOST_TEST(attention == 4 * mc.num_blocks);  // w_qkv, b_qkv, w_out, b_out
  BOOST_TEST(embed_readout == 4);              // label_embed w, b; readout w, b
  BOOST_CHECK_THROW(decays("everything", "block0/mlp/w1"), ParamError);
}

BOOST_AUTO_TEST_CASE(coupled_gradients_match_finite_differences_of_the_penalty) {
  const std::vector<std::pair<std::size_t, std::size_t>> ranges = {{0, 6}, {8, 5}};  // index 6, 7 and 13.. not decayed
  for (const DecayForm form : {DecayForm::L2, DecayForm::Norm}) {
    const WeightDecay wd = decay(0.3, form);
    AlignedVector<double> values = random_values(16, 7), grads(16, 0.0);
    apply_weight_decay(wd, 1e-3, values, grads, ranges);
    for (std::size_t i = 0; i < values.size(); ++i) {
      const double h = 1e-6, keep = values[i];
      values[i] = keep + h;
      const double up = decay_penalty(wd, values, ranges);
      values[i] = keep - h;
      const double down = decay_penalty(wd, values, ranges);
      values[i] = keep;
      BOOST_TEST(grads[i] == (up - down) / (2 * h), boost::test_tools::tolerance(1e-6));
    }
    BOOST_TEST(grads[6] == 0.0);
    BOOST_TEST(grads[14] == 0.0);
  }
}

BOOST_AUTO_TEST_CASE(decoupled_shrinks_the_decayed_values_only) {
  const std::vector<std::pair<std::size_t, std::size_t>> ranges = {{2, 4}};
  AlignedVector<double> values = random_values(8, 3), grads(8, 0.0);
  const AlignedVector<double> before = values;
  apply_weight_decay(decay(0.5, DecayForm::Decoupled), 0.1, values, grads, ranges);
  for (std::size_t i = 0; i < values.size(); ++i)
    BOOST_TEST(values[i] == (i >= 2 && i < 6 ? before[i] * (1 - 0.1 * 0.5) : before[i]));
  for (double g : grads) BOOST_TEST(g == 0.0);
  BOOST_TEST(decay_penalty(decay(0.5, DecayForm::Decoupled), values, ranges) == 0.0);
  // lambda = 0: nothing at all
  AlignedVector<double> same = before, g0(8, 0.0);
  apply_weight_decay(decay(0.0, DecayForm::L2), 0.1, same, g0, ranges);
  for (std::size_t i = 0; i < same.size(); ++i) BOOST_TEST(same[i] == before[i]);
}

BOOST_AUTO_TEST_CASE(training_decays_the_chosen_group) {
  const Batch batch = test::random_batch(8, 2, 16, 6, 11);
  auto train = [&](double lambda, const std::string& params) {
    ModelConfig mc;
    mc.embed_dim = 16;
    mc.learning_rate = 1e-2;
    mc.weight_decay = decay(lambda, DecayForm::Decoupled, params);
    auto model = std::make_unique<Transformer>(mc, 6, 2, 16, 5);
    for (int s = 0; s < 30; ++s) model->train_step(batch);
    return model;
  };
  auto plain = train(0, "all"), mlp = train(5.0, "mlp");
  BOOST_TEST(group_norm(*mlp, "mlp") < 0.5 * group_norm(*plain, "mlp"));
  BOOST_TEST(group_norm(*mlp, "attention") > 0.5 * group_norm(*plain, "attention"));
  auto again = train(0, "all");  // and lambda = 0 is the plain run, bit for bit
  for (std::size_t i = 0; i < plain->store().values.size(); ++i)
    BOOST_REQUIRE(plain->store().values[i] == again->store().values[i]);
}
