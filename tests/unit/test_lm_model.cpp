// The language-model analog's layers and model (issue 13): the new layers (token embedding, weighted
// per-position cross-entropy) and the whole causal LM (several heads, every block, the readout at every
// position) against central finite differences in double; padding and the answer-only loss mask.
#define BOOST_TEST_MODULE lm_model
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "iclsweep/core/error.hpp"
#include "iclsweep/lm/char_lm.hpp"
#include "iclsweep/model/gradcheck.hpp"
#include "iclsweep/model/layers.hpp"
#include "unit/model_test_util.hpp"

using namespace icl;
using namespace icl::lm;
using icl::test::random_matrix;
using Mat = RowMat<double>;

namespace {
constexpr double kTol = 1e-5;
const GradCheckOptions kOptions{1e-6, 1e-4, 0};

void require_ok(const GradCheckResult& r) {
  BOOST_TEST_MESSAGE("checked " << r.checked << " entries, worst relative error " << r.max_rel_error << " at " << r.worst);
  BOOST_TEST(r.checked > 0u);
  BOOST_TEST(r.max_rel_error < kTol, "worst " << r.worst << " rel err " << r.max_rel_error);
}

std::vector<Sequence> two_sequences() {
  return {make_sequence({"Mia lives in Oslo."}, "Mia", "Oslo"), make_sequence({}, "Liz", "London")};
}
}  // namespace

BOOST_AUTO_TEST_CASE(embedding_gradients) {
  const int V = 6, E = 4, T = 3, N = 6;
  const std::int32_t ids[N] = {1, 3, 3, 0, 5, 1};  // repeated ids must accumulate
  Mat W = random_matrix(V, E, 1), PE = random_matrix(T, E, 2), R = random_matrix(N, E, 3), X(N, E), dW = Mat::Zero(V, E);
  auto loss = [&] {
    layers::embedding_forward<double>(ids, N, T, W, PE, X);
    return R.cwiseProduct(X).sum();
  };
  loss();
  BOOST_TEST(X(4, 0) == W(5, 0) + PE(1, 0));
  layers::embedding_backward<double>(ids, N, R, dW);
  require_ok(check_gradients(loss, {GradTensor{"W", W.data(), dW.data(), static_cast<std::size_t>(W.size())}}, kOptions));
}

BOOST_AUTO_TEST_CASE(weighted_cross_entropy_gradients) {
  const int N = 5, V = 7;
  Mat L = random_matrix(N, V, 4, 2.0), dL(N, V);
  const std::int32_t t[N] = {0, 6, 3, 3, 1};
  const double w[N] = {1, 0, 2, 0.5, 1};
  auto loss = [&] { return layers::weighted_cross_entropy<double>(L, t, w, dL); };
  Mat dL_analytic(N, V);
  layers::weighted_cross_entropy<double>(L, t, w, dL_analytic);
  BOOST_TEST(dL_analytic.row(1).cwiseAbs().maxCoeff() == 0.0);  // weight 0: no gradient at all
  require_ok(check_gradients(loss, {GradTensor{"logits", L.data(), dL_analytic.data(), static_cast<std::size_t>(L.size())}}, kOptions));
  // Σw = 0 is a zero loss, not NaN.
  const double zero[N] = {0, 0, 0, 0, 0};
  BOOST_TEST(layers::weighted_cross_entropy<double>(L, t, zero, dL) == 0.0);
}

BOOST_AUTO_TEST_CASE(whole_lm_gradients_several_heads) {
  LmConfig c;
  c.num_layers = 2;
  c.embed_dim = 8;
  c.num_heads = 2;
  c.max_len = 64;
  CharLmT<double> model(c, 3);
  // Non-trivial LN scales and biases so every parameter's gradient is exercised.
  for (auto& v : model.store().values) v += 0.05 * std::sin(1.7 * static_cast<double>(&v - model.store().values.data()));
  const auto seqs = two_sequences();
  LmBatch batch;
  pack({&seqs[0], &seqs[1]}, LossOn::AllTokens, batch);
  BOOST_TEST(batch.batch == 2);
  model.loss_and_gradient(batch);
  std::vector<GradTensor> tensors;
  for (const auto& t : model.store().tensors)
    tensors.push_back({t.name, model.store().values.data() + t.offset, model.store().grads.data() + t.offset, t.size()});
  GradCheckOptions o = kOptions;
  o.max_per_tensor = 40;
  o.step = 1e-5;  // the loss sums ~70 token terms: a larger step keeps rounding noise below the tolerance
  require_ok(check_gradients([&] { return model.loss(batch); }, tensors, o));
}

BOOST_AUTO_TEST_CASE(padding_and_answer_mask) {
  LmConfig c;
  c.num_layers = 1;
  c.embed_dim = 8;
  c.num_heads = 2;
  c.max_len = 64;
  CharLmT<double> model(c, 5);
  const auto seqs = two_sequences();
  LmBatch alone, padded;
  pack({&seqs[1]}, LossOn::Answer, alone);
  pack({&seqs[1], &seqs[0]}, LossOn::Answer, padded);  // the short one is right-padded
  // The answer mask covers exactly "London" + EOS: 7 positions.
  double w = 0;
  for (float x : alone.weights) w += x;
  BOOST_TEST(w == 7.0);
  const auto la = model.logits(alone);
  const Mat a = la;
  const auto lp = model.logits(padded);
  const Mat p = lp.topRows(alone.seq);
  BOOST_TEST((a - p).cwiseAbs().maxCoeff() < 1e-12);  // pad tokens never influence earlier positions
}

BOOST_AUTO_TEST_CASE(trainable_groups) {
  LmConfig c;
  c.num_layers = 2;
  c.embed_dim = 8;
  c.num_heads = 2;
  c.max_len = 64;
  CharLmT<double> model(c, 5);
  const auto seqs = two_sequences();
  LmBatch batch;
  pack({&seqs[0], &seqs[1]}, LossOn::AllTokens, batch);
  for (ParamGroup g : {ParamGroup::Mlp, ParamGroup::AttentionV, ParamGroup::Embedding}) {
    CharLmT<double> m(c, 5);
    m.set_trainable(g);
    m.set_optimizer(OptimizerKind::Sgd, 0.1);
    const auto before = m.store().values;
    m.train_step(batch);
    std::size_t changed = 0;
    for (std::size_t i = 0; i < before.size(); ++i) changed += before[i] != m.store().values[i];
    BOOST_TEST(changed > 0u);
    BOOST_TEST(changed <= m.num_trainable());
  }
  model.set_trainable(ParamGroup::AttentionV);
  BOOST_TEST(model.num_trainable() == 2u * (8 * 8 + 8));  // the V columns of w_qkv and b_qkv, 2 blocks
  BOOST_CHECK_THROW(param_group_from("heads"), ParamError);
}

// The LM's GEMM attention kernel (every token queries) against the literal §2 formula, per (sequence,
// head), forward and backward, and its own finite-difference check.
BOOST_AUTO_TEST_CASE(full_attention_matches_naive_and_gradients) {
  const int B = 2, T = 5, H = 2, hd = 3, E = H * hd, stride = 3 * E;
  const layers::AttentionShape shape{B, T, T, H, hd};
  Mat qkv = random_matrix(B * T, stride, 21), dout = random_matrix(B * T, E, 22);
  std::vector<double> probs(static_cast<std::size_t>(B) * H * T * T);
  Mat out(B * T, E), dqkv(B * T, stride);
  auto forward = [&] {
    layers::attention_forward_full<double>(shape, qkv.data(), qkv.data() + E, qkv.data() + 2 * E, stride, probs.data(), out.data(), E);
    return dout.cwiseProduct(out).sum();
  };
  forward();
  layers::attention_backward_full<double>(shape, qkv.data(), qkv.data() + E, qkv.data() + 2 * E, stride, probs.data(), dout.data(), E,
                                          dqkv.data(), dqkv.data() + E, dqkv.data() + 2 * E, stride);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h) {
      const Mat Q = qkv.block(b * T, h * hd, T, hd), K = qkv.block(b * T, E + h * hd, T, hd), V = qkv.block(b * T, 2 * E + h * hd, T, hd);
      Mat P, O, dQ, dK, dV;
      layers::attention_naive_forward<double>(Q, K, V, P, O);
      BOOST_TEST((O - out.block(b * T, h * hd, T, hd)).cwiseAbs().maxCoeff() < 1e-12);
      const Mat dO = dout.block(b * T, h * hd, T, hd);
      layers::attention_naive_backward<double>(Q, K, V, P, dO, dQ, dK, dV);
      BOOST_TEST((dQ - dqkv.block(b * T, h * hd, T, hd)).cwiseAbs().maxCoeff() < 1e-12);
      BOOST_TEST((dK - dqkv.block(b * T, E + h * hd, T, hd)).cwiseAbs().maxCoeff() < 1e-12);
      BOOST_TEST((dV - dqkv.block(b * T, 2 * E + h * hd, T, hd)).cwiseAbs().maxCoeff() < 1e-12);
    }
  require_ok(check_gradients(forward, {GradTensor{"qkv", qkv.data(), dqkv.data(), static_cast<std::size_t>(qkv.size())}}, kOptions));
}
