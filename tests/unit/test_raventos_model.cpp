// The Raventós 2023 regression transformer (PEERS-SPEC §3.2): gradient checks of each new layer and of the
// whole model, the initialisation, float/double agreement, determinism and a learning smoke test.
#define BOOST_TEST_MODULE raventos_model
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>

#include "iclsweep/core/rng.hpp"
#include "iclsweep/model/gradcheck.hpp"
#include "kinds/raventos/kind.hpp"
#include "kinds/raventos/model.hpp"
#include "kinds/raventos/tasks.hpp"

using namespace icl;
using namespace icl::raventos;

namespace {
RowMat<double> random_matrix(int r, int c, std::uint64_t seed) {
  Philox rng(stream_key(seed, Purpose::Sampling, 99), 0);
  RowMat<double> m(r, c);
  for (int i = 0; i < r; ++i)
    for (int j = 0; j < c; ++j) m(i, j) = rng.normal();
  return m;
}
ModelShape tiny_shape(int layers, int heads) {
  ModelShape s;
  s.dims = 3, s.num_examples = 4, s.layers = layers, s.embed_dim = 8, s.heads = heads;
  return s;
}
}  // namespace

BOOST_AUTO_TEST_CASE(real_embedding_gradcheck) {
  const int B = 3, T = 4, W = 3, E = 5;
  RowMat<double> tok = random_matrix(B * T, W, 1), Win = random_matrix(W, E, 2), P = random_matrix(T, E, 3), G = random_matrix(B * T, E, 4);
  RowMat<double> X(B * T, E), dWin = RowMat<double>::Zero(W, E), dP = RowMat<double>::Zero(T, E);
  // loss = Σ G ⊙ X: dX = G
  real_embedding_backward<double>(tok, G, dWin, dP);
  auto loss = [&] {
    real_embedding_forward<double>(tok, Win, P, X);
    return (X.array() * G.array()).sum();
  };
  const auto r = check_gradients(loss, {{"w_in", Win.data(), dWin.data(), std::size_t(W * E)}, {"pos", P.data(), dP.data(), std::size_t(T * E)}},
                                GradCheckOptions{1e-6, 1e-4, 0});
  BOOST_TEST(r.max_rel_error < 1e-6, r.worst);
}

BOOST_AUTO_TEST_CASE(scalar_readout_mse_gradcheck) {
  const int B = 3, K = 4, T = 2 * K, E = 5;
  RowMat<double> H = random_matrix(B * T, E, 5), w = random_matrix(E, 1, 6), dH(B * T, E), dw = RowMat<double>::Zero(E, 1);
  std::vector<double> y(B * K), pred(B * K);
  for (int i = 0; i < B * K; ++i) y[i] = 0.3 * i - 1;
  scalar_readout_mse<double>(H, w, y.data(), K, pred.data(), dH, dw, true);
  RowMat<double> scratch(B * T, E), dummy = RowMat<double>::Zero(E, 1);
  auto loss = [&] { return scalar_readout_mse<double>(H, w, y.data(), K, pred.data(), scratch, dummy, false); };
  const auto r = check_gradients(loss, {{"H", H.data(), dH.data(), std::size_t(B * T * E)}, {"w", w.data(), dw.data(), std::size_t(E)}},
                                GradCheckOptions{1e-6, 1e-4, 0});
  BOOST_TEST(r.max_rel_error < 1e-6, r.worst);
  // y-token rows get no gradient
  for (int b = 0; b < B; ++b)
    for (int k = 0; k < K; ++k) BOOST_TEST(dH.row(b * T + 2 * k + 1).norm() == 0.0);
}

BOOST_AUTO_TEST_CASE(whole_model_gradcheck) {
  for (int layers : {1, 2})
    for (int heads : {1, 2}) {
      RegressionTransformerT<double> model(tiny_shape(layers, heads), 4);
      auto& st = model.store();
      // Move off the init (LN gains 1, biases 0) so every path carries gradient.
      Philox rng(stream_key(1, Purpose::Sampling, 7), 0);
      for (auto& v : st.values) v += 0.3 * rng.normal();
      const TaskPool pool(3, 0, 2);
      const Sequences s = training_sequences(pool, 0, 3, 4, 0.25, 2);
      RowMat<double> tok;
      to_tokens(s, tok);
      model.loss_and_gradient(tok, s.y);
      const AlignedVector<double> grads = st.grads;
      std::vector<GradTensor> tensors;
      for (const auto& t : st.tensors) tensors.push_back({t.name, st.values.data() + t.offset, grads.data() + t.offset, t.size()});
      const auto r = check_gradients([&] { return model.loss(tok, s.y); }, tensors, GradCheckOptions{1e-6, 1e-4, 0});
      BOOST_TEST_MESSAGE("layers " << layers << " heads " << heads << ": worst " << r.max_rel_error << " at " << r.worst);
      BOOST_TEST(r.max_rel_error < 1e-5, r.worst);
    }
}

BOOST_AUTO_TEST_CASE(initialisation_follows_gpt2) {
  ModelShape s;
  s.dims = 8, s.num_examples = 16, s.layers = 4, s.embed_dim = 64, s.heads = 2;
  RegressionTransformer model(s, 0);
  auto& st = model.store();
  BOOST_TEST(st.size() >= s.num_parameters());
  std::size_t declared = 0;
  for (const auto& t : st.tensors) declared += t.size();
  BOOST_TEST(declared == s.num_parameters());
  auto stdev = [&](const std::string& name) {
    const int i = st.find(name);
    BOOST_REQUIRE(i >= 0);
    double a = 0, b = 0;
    const auto v = st.value(i);
    for (Eigen::Index k = 0; k < v.size(); ++k) a += v.data()[k], b += double(v.data()[k]) * v.data()[k];
    return std::sqrt(b / v.size() - (a / v.size()) * (a / v.size()));
  };
  BOOST_TEST(std::abs(stdev("block0/mlp/w_1") - 0.02) < 0.001);
  BOOST_TEST(std::abs(stdev("block1/attn/w_qkv") - 0.02) < 0.001);
  BOOST_TEST(std::abs(stdev("block2/mlp/w_2") - 0.02 / std::sqrt(8.0)) < 0.0005);
  BOOST_TEST(std::abs(stdev("block3/attn/w_o") - 0.02 / std::sqrt(8.0)) < 0.0005);
  BOOST_TEST(st.value(st.find("block0/ln1/gamma")).minCoeff() == 1.0f);
  BOOST_TEST(st.value(st.find("block0/attn/b_qkv")).cwiseAbs().maxCoeff() == 0.0f);
  BOOST_TEST(model.body_kernels().size() == 16u);
}

BOOST_AUTO_TEST_CASE(float_and_double_models_agree_and_runs_are_deterministic) {
  const auto shape = tiny_shape(2, 2);
  RegressionTransformer f1(shape, 3), f2(shape, 3);
  RegressionTransformerT<double> d(shape, 3);
  const TaskPool pool(3, 16, 3);
  for (int step = 0; step < 20; ++step) {
    const Sequences s = training_sequences(pool, step, 8, 4, 0.25, 3);
    RowMat<float> tf;
    RowMat<double> td;
    to_tokens(s, tf);
    to_tokens(s, td);
    std::vector<float> yf(s.y.begin(), s.y.end());
    const double l1 = f1.loss_and_gradient(tf, yf), l2 = f2.loss_and_gradient(tf, yf), ld = d.loss_and_gradient(td, s.y);
    BOOST_TEST(l1 == l2);
    BOOST_TEST(std::abs(l1 - ld) < 1e-4 * (1 + ld));
    f1.adam_step(1e-3, 0.1);
    f2.adam_step(1e-3, 0.1);
    d.adam_step(1e-3, 0.1);
  }
  BOOST_TEST(f1.store().values == f2.store().values);
}

BOOST_AUTO_TEST_CASE(weight_decay_touches_the_body_kernels_only) {
  RegressionTransformerT<double> model(tiny_shape(1, 2), 1);
  auto& st = model.store();
  const auto before = st.values;
  st.zero_grad();  // zero gradient: Adam moves nothing, only the decay acts
  model.adam_step(0.1, 0.5);
  const auto body = model.body_kernels();
  for (std::size_t i = 0; i < st.tensors.size(); ++i) {
    const auto& t = st.tensors[i];
    const bool decayed = std::find(body.begin(), body.end(), int(i)) != body.end();
    for (std::size_t k = 0; k < t.size(); ++k) {
      const double b = before[t.offset + k], a = st.values[t.offset + k];
      if (decayed)
        BOOST_TEST(a == b * (1 - 0.05), boost::test_tools::tolerance(1e-12));
      else
        BOOST_TEST(a == b);
    }
  }
}

BOOST_AUTO_TEST_CASE(triangle_schedule) {
  Params p;
  p.steps = 100;
  p.learning_rate = 1e-3;
  p.warmup_fraction = 0.5;
  BOOST_TEST(triangle_learning_rate(p, 0) == 0.0);
  BOOST_TEST(triangle_learning_rate(p, 25) == 0.5e-3, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(triangle_learning_rate(p, 50) == 1e-3, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(triangle_learning_rate(p, 75) == 0.5e-3, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(triangle_learning_rate(p, 99) == 0.02e-3, boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(a_single_task_is_learned_in_the_weights) {
  // M = 1: the best predictor is w·x whatever the context; a short run drives the loss from |w|² + σ² (the
  // untrained model predicts ~0) down to the noise floor σ² = 0.25.
  ModelShape s = tiny_shape(1, 2);
  s.embed_dim = 16;
  RegressionTransformer model(s, 0);
  const TaskPool pool(3, 1, 0);
  double first = 0, last = 0;
  for (int step = 0; step < 600; ++step) {
    const Sequences b = training_sequences(pool, step, 32, 4, 0.25, 0);
    RowMat<float> t;
    to_tokens(b, t);
    std::vector<float> y(b.y.begin(), b.y.end());
    const double l = model.loss_and_gradient(t, y);
    model.adam_step(3e-3, 0);
    if (step == 0) first = l;
    if (step >= 580) last += l / 20;
  }
  BOOST_TEST_MESSAGE("loss " << first << " -> " << last);
  double w2 = 0;
  for (int d = 0; d < 3; ++d) w2 += pool.task(0)[d] * pool.task(0)[d];
  BOOST_TEST(first > 0.6 * (w2 + 0.25));
  BOOST_TEST(last < 0.25 + 0.1 * w2);
}
