// Reddy 2024 network (PEERS-SPEC §1.2-1.3): forward/backward against central finite differences (the
// shared gradient checker, double precision), causality of layer 1, the per-step shrink, and a whole
// tiny point: deterministic, and its IC accuracy rises above chance on a task it can learn.
#define BOOST_TEST_MODULE reddy_model
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "iclsweep/model/gradcheck.hpp"
#include "kinds/reddy/data.hpp"
#include "kinds/reddy/kind.hpp"
#include "kinds/reddy/model.hpp"
#include "unit/reddy_test_util.hpp"

using namespace icl;
using namespace icl::reddy;

namespace {
// A small configuration: N = 2 pairs, Nmax = 3 (7 positional slots), D = 5: width 12, T = 5, L = 4.
DataConfig small_config() {
  return DataConfig::from(test::reddy_point({{"reddy.num_classes", "8"}, {"reddy.num_labels", "4"}, {"reddy.context_pairs", "2"},
                                             {"reddy.max_context_pairs", "3"}, {"reddy.item_dim", "5"}, {"reddy.novel_classes", "8"}}));
}
}  // namespace

BOOST_AUTO_TEST_CASE(gradients_match_finite_differences) {
  const DataConfig c = small_config();
  const World w = World::make(c, 1);
  SeqBatch b;
  generate(c, w, training_settings(c), stream_key(1, kReddyBatches, 1), 3, b);
  const RowMat<double> X = b.tokens.cast<double>();
  // Larger weights than the init so that attention is far from uniform and ReLUs are mixed.
  Params<double> p = Params<double>::init(c.width(), c.L, 1, 2);
  p.b1 = 0.05, p.b2 = -0.03, p.b3 = 0.02;
  Params<double> g = Params<double>::zeros(c.width(), c.L);
  Cache<double> cache;
  RowMat<double> dlogits;
  forward(p, X, b.size, b.T, cache);
  cross_entropy(cache.logits, b.answer, &dlogits);
  backward(p, cache, dlogits, g);
  std::vector<GradTensor> tensors;
  std::vector<const double*> grads;
  g.each([&](const char*, double* v, Eigen::Index) { grads.push_back(v); });
  std::size_t i = 0;
  p.each([&](const char* name, double* v, Eigen::Index n) { tensors.push_back({name, v, grads[i++], static_cast<std::size_t>(n)}); });
  const auto loss = [&] {
    Cache<double> c2;
    forward(p, X, b.size, b.T, c2);
    return cross_entropy(c2.logits, b.answer, static_cast<RowMat<double>*>(nullptr));
  };
  // The floor of the layer tests (test_model_layers); h = 1e-5 keeps rounding noise (~1e-11/h) below 1e-9.
  const GradCheckResult r = check_gradients(loss, tensors, GradCheckOptions{1e-5, 1e-4, 0});
  BOOST_TEST_MESSAGE("checked " << r.checked << " entries, worst " << r.max_rel_error << " at " << r.worst);
  BOOST_TEST(r.checked == static_cast<std::size_t>(p.num_parameters()));
  BOOST_TEST(r.max_rel_error < 1e-5, r.worst);
}

BOOST_AUTO_TEST_CASE(layer_one_is_causal_and_unscaled) {
  const DataConfig c = small_config();
  const World w = World::make(c, 3);
  SeqBatch b;
  generate(c, w, training_settings(c), stream_key(3, kReddyBatches, 1), 1, b);
  RowMat<double> X = b.tokens.cast<double>();
  const Params<double> p = Params<double>::init(c.width(), c.L, c.D, 4);
  Cache<double> a, z;
  forward(p, X, 1, b.T, a);
  // Attention row i sums to 1 over j <= i and is zero beyond; entry (i, j) is softmax_j(q_i . k_j), no 1/sqrt(d).
  for (int i = 0; i < b.T; ++i) {
    BOOST_TEST(a.P1.row(i).sum() == 1.0, boost::test_tools::tolerance(1e-12));
    for (int j = i + 1; j < b.T; ++j) BOOST_TEST(a.P1(i, j) == 0.0);
  }
  const int i = b.T - 1;
  double zsum = 0;
  for (int j = 0; j <= i; ++j) zsum += std::exp(a.q1.row(i).dot(a.k1.row(j)));
  BOOST_TEST(a.P1(i, 1) == std::exp(a.q1.row(i).dot(a.k1.row(1))) / zsum, boost::test_tools::tolerance(1e-12));
  // Changing the target token changes no earlier position's layer-1 output.
  X.row(b.T - 1).array() += 0.7;
  forward(p, X, 1, b.T, z);
  BOOST_TEST((a.H1.topRows(b.T - 1) - z.H1.topRows(b.T - 1)).norm() == 0.0);
}

BOOST_AUTO_TEST_CASE(sgd_shrinks_every_parameter_before_the_gradient_step) {
  Params<double> p = Params<double>::init(6, 3, 2, 5);
  const Params<double> before = p;
  Params<double> g = Params<double>::zeros(6, 3);
  g.R.setConstant(1.0);
  g.b2 = 2.0;
  sgd_step(p, g, 0.01, 1e-3);
  BOOST_TEST((p.Q1 - 0.999 * before.Q1).norm() < 1e-15);
  BOOST_TEST((p.R - (0.999 * before.R.array() - 0.01).matrix()).norm() < 1e-14);
  BOOST_TEST(p.b2 == 0.999 * before.b2 - 0.02, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(p.b1 == 0.999 * before.b1, boost::test_tools::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(initialisation_has_the_stated_scales) {
  const Params<double> p = Params<double>::init(128, 32, 63, 6);
  auto sd = [](const RowMat<double>& m) { return std::sqrt(m.array().square().mean()); };
  BOOST_TEST(sd(p.Q1) == 1 / std::sqrt(63.0), boost::test_tools::tolerance(0.02));
  BOOST_TEST(sd(p.V2) == 1 / std::sqrt(63.0), boost::test_tools::tolerance(0.02));
  BOOST_TEST(sd(p.W2) == std::sqrt(2 / 128.0), boost::test_tools::tolerance(0.02));
  BOOST_TEST(sd(p.R) == std::sqrt(1 / 128.0), boost::test_tools::tolerance(0.03));
  BOOST_TEST(p.num_parameters() == 9 * 128 * 128 + 3 + 32 * 128);
}

BOOST_AUTO_TEST_CASE(a_tiny_point_is_deterministic_and_learns) {
  const ParamMap point = test::reddy_point({{"reddy.num_classes", "16"}, {"reddy.num_labels", "16"}, {"reddy.context_pairs", "4"},
                                            {"reddy.max_context_pairs", "4"}, {"reddy.item_dim", "15"}, {"reddy.novel_classes", "16"},
                                            {"reddy.burstiness", "1"}, {"reddy.p_novel", "1"}, {"reddy.steps", "300"},
                                            {"reddy.batch_size", "32"}, {"reddy.learning_rate", "0.1"}, {"reddy.eval_interval", "100"},
                                            {"reddy.eval_size", "200"}, {"data.seed", "3"}});
  const ReddyKind kind;
  BOOST_REQUIRE(kind.validate(point).empty());
  const PointRecord a = kind.run(point, nullptr), b = kind.run(point, nullptr);
  BOOST_TEST(a.fields.at("reddy/eval/ic/loss").values == b.fields.at("reddy/eval/ic/loss").values);
  BOOST_TEST(a.fields.at("reddy/progress/tila2").values == b.fields.at("reddy/progress/tila2").values);
  const auto& step = a.fields.at("reddy/step").values;
  BOOST_TEST(step == (std::vector<double>{0, 100, 200, 300}));
  const auto& loss = a.fields.at("reddy/train_loss").values;
  BOOST_TEST(std::isnan(loss[0]));
  BOOST_TEST(loss[3] < loss[1]);  // the training loss falls
  // Every field the run writes is in the schema with a compatible shape.
  const ResultSchema s = kind.schema(point);
  for (const auto& [path, v] : a.fields) {
    const FieldSpec* f = s.find(path);
    BOOST_REQUIRE_MESSAGE(f, path);
    BOOST_TEST(f->dims.size() == v.dims.size(), path);
  }
  BOOST_TEST(s.fields.size() == a.fields.size());
}

BOOST_AUTO_TEST_CASE(training_keys_are_validated_with_the_fix) {
  const ReddyKind kind;
  const auto e = kind.validate(test::reddy_point({{"reddy.steps", "100"}, {"reddy.eval_interval", "1000"}}));
  BOOST_REQUIRE_EQUAL(e.size(), 1u);
  BOOST_TEST(e[0].find("reddy.eval_interval") != std::string::npos);
  BOOST_TEST(e[0].find("lower it") != std::string::npos);
  const auto e2 = kind.validate(test::reddy_point({{"reddy.weight_decay", "1"}, {"reddy.burstiness", "3"}}));
  BOOST_TEST(e2.size() == 2u);  // both problems at once
}
