// Every layer of the model room against central finite differences (double precision), and the fast
// causal attention kernel against the literal §2 formula.
#define BOOST_TEST_MODULE model_layers
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "iclsweep/core/rng.hpp"
#include "iclsweep/model/gradcheck.hpp"
#include "iclsweep/model/layers.hpp"
#include "iclsweep/model/param_store.hpp"
#include "unit/model_test_util.hpp"

using namespace icl;
using icl::test::random_matrix;
using M = RowMat<double>;

namespace {
// Central differences with h = 1e-6 carry ~1e-10 absolute noise (double rounding of an O(1) loss over
// 2h), so errors are relative with a 1e-4 floor on the denominator; a wrong gradient is off by O(1).
constexpr double kTol = 1e-5;
const GradCheckOptions kOptions{1e-6, 1e-4, 0};

GradTensor tensor(const char* name, M& values, const M& grads) {
  return GradTensor{name, values.data(), grads.data(), static_cast<std::size_t>(values.size())};
}
double weighted_sum(const M& R, const M& Y) { return R.cwiseProduct(Y).sum(); }

void require_ok(const GradCheckResult& r) {
  BOOST_TEST_MESSAGE("checked " << r.checked << " entries, worst relative error " << r.max_rel_error << " at " << r.worst);
  BOOST_TEST(r.checked > 0u);
  BOOST_TEST(r.max_rel_error < kTol, "worst " << r.worst << " rel err " << r.max_rel_error);
}
}  // namespace

BOOST_AUTO_TEST_CASE(dense_gradients) {
  M X = random_matrix(5, 4, 1), W = random_matrix(4, 3, 2), b = random_matrix(1, 3, 3), R = random_matrix(5, 3, 4);
  M Y(5, 3), dX(5, 4), dW = M::Zero(4, 3), db = M::Zero(1, 3);
  auto loss = [&] {
    layers::dense_forward<double>(X, W, b, Y);
    return weighted_sum(R, Y);
  };
  loss();
  RowVec<double> dbv = db;
  layers::dense_backward_params<double>(X, R, dW, dbv);
  db = dbv;
  layers::dense_backward_input<double>(R, W, dX);
  require_ok(check_gradients(loss, {tensor("X", X, dX), tensor("W", W, dW), tensor("b", b, db)}, kOptions));
}

BOOST_AUTO_TEST_CASE(layernorm_gradients) {
  M X = random_matrix(4, 6, 5), g = random_matrix(1, 6, 6), be = random_matrix(1, 6, 7), R = random_matrix(4, 6, 8);
  M Y(4, 6), xhat(4, 6), dX = M::Zero(4, 6);
  std::vector<double> rstd(4);
  RowVec<double> dg = RowVec<double>::Zero(6), dbe = RowVec<double>::Zero(6);
  auto loss = [&] {
    layers::layernorm_forward<double>(X, g, be, Y, xhat, rstd.data());
    return weighted_sum(R, Y);
  };
  loss();
  // Normalised rows have mean 0 and (biased) variance 1 before scale and shift.
  BOOST_TEST(std::fabs(xhat.row(0).mean()) < 1e-12);
  BOOST_TEST(std::fabs(xhat.row(0).squaredNorm() / 6 - 1.0) < 1e-4);  // eps = 1e-5 shrinks it slightly
  layers::layernorm_backward<double>(R, xhat, rstd.data(), g, dg, dbe, dX);
  M dgm = dg, dbm = dbe;
  require_ok(check_gradients(loss, {tensor("X", X, dX), tensor("gamma", g, dgm), tensor("beta", be, dbm)}, kOptions));
}

BOOST_AUTO_TEST_CASE(gelu_gradients_and_values) {
  M P = random_matrix(3, 7, 9, 2.0), R = random_matrix(3, 7, 10);
  M t(3, 7), A(3, 7), dP(3, 7);
  auto loss = [&] {
    layers::gelu_forward<double>(P, t, A);
    return weighted_sum(R, A);
  };
  loss();
  const double x = P(0, 0);
  BOOST_TEST(std::fabs(A(0, 0) - 0.5 * x * (1 + std::tanh(0.7978845608 * (x + 0.044715 * x * x * x)))) < 1e-9);
  layers::gelu_backward<double>(P, t, R, dP);
  require_ok(check_gradients(loss, {tensor("pre", P, dP)}, kOptions));
}

BOOST_AUTO_TEST_CASE(softmax_cross_entropy_gradients) {
  M Z = random_matrix(4, 5, 11, 3.0), dZ(4, 5), scratch(4, 5);
  const std::int32_t targets[4] = {0, 4, 2, 2};
  auto loss = [&] { return layers::softmax_cross_entropy<double>(Z, targets, 1, scratch); };
  layers::softmax_cross_entropy<double>(Z, targets, 1, dZ);
  require_ok(check_gradients(loss, {tensor("logits", Z, dZ)}, kOptions));
  // Uniform logits give ln C.
  M U = M::Zero(2, 5);
  BOOST_TEST(std::fabs(layers::softmax_cross_entropy<double>(U, targets, 1, scratch) - std::log(5.0)) < 1e-12);
}

// Fast kernel, several query counts and head counts, against finite differences.
BOOST_AUTO_TEST_CASE(attention_gradients) {
  for (int heads : {1, 2}) {
    for (int Tq : {5, 2, 1}) {
      const int B = 2, T = 5, hd = 3, E = heads * hd;
      const layers::AttentionShape s{B, T, Tq, heads, hd};
      M Q = random_matrix(B * Tq, E, 20 + Tq), K = random_matrix(B * T, E, 30), V = random_matrix(B * T, E, 31);
      M R = random_matrix(B * Tq, E, 32), out(B * Tq, E), dQ(B * Tq, E), dK(B * T, E), dV(B * T, E);
      std::vector<double> probs(static_cast<std::size_t>(B) * heads * Tq * T);
      auto loss = [&] {
        layers::attention_forward<double>(s, Q.data(), E, K.data(), V.data(), E, probs.data(), out.data(), E);
        return weighted_sum(R, out);
      };
      loss();
      layers::attention_backward<double>(s, Q.data(), E, K.data(), V.data(), E, probs.data(), R.data(), E, dQ.data(), E, dK.data(),
                                         dV.data(), E);
      BOOST_TEST_CONTEXT("heads " << heads << " Tq " << Tq) {
        require_ok(check_gradients(loss, {tensor("Q", Q, dQ), tensor("K", K, dK), tensor("V", V, dV)}, kOptions));
      }
    }
  }
}

// The literal formula (mask multiply, −1e10 fill, full T×T softmax) and the fast kernel agree.
BOOST_AUTO_TEST_CASE(fast_attention_matches_naive_reference) {
  const int B = 3, T = 7, heads = 2, hd = 4, E = heads * hd;
  const layers::AttentionShape s{B, T, T, heads, hd};
  M Q = random_matrix(B * T, E, 40), K = random_matrix(B * T, E, 41), V = random_matrix(B * T, E, 42), R = random_matrix(B * T, E, 43);
  M out(B * T, E), dQ(B * T, E), dK(B * T, E), dV(B * T, E);
  std::vector<double> probs(static_cast<std::size_t>(B) * heads * T * T);
  layers::attention_forward<double>(s, Q.data(), E, K.data(), V.data(), E, probs.data(), out.data(), E);
  layers::attention_backward<double>(s, Q.data(), E, K.data(), V.data(), E, probs.data(), R.data(), E, dQ.data(), E, dK.data(), dV.data(),
                                     E);
  double worst = 0;
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < heads; ++h) {
      const M q = Q.block(b * T, h * hd, T, hd), k = K.block(b * T, h * hd, T, hd), v = V.block(b * T, h * hd, T, hd);
      const M r = R.block(b * T, h * hd, T, hd);
      M P, o, dq, dk, dv;
      layers::attention_naive_forward<double>(q, k, v, P, o);
      layers::attention_naive_backward<double>(q, k, v, P, r, dq, dk, dv);
      worst = std::max({worst, (o - out.block(b * T, h * hd, T, hd)).cwiseAbs().maxCoeff(),
                        (dq - dQ.block(b * T, h * hd, T, hd)).cwiseAbs().maxCoeff(),
                        (dk - dK.block(b * T, h * hd, T, hd)).cwiseAbs().maxCoeff(),
                        (dv - dV.block(b * T, h * hd, T, hd)).cwiseAbs().maxCoeff()});
      BOOST_TEST(P(0, 1) == 0.0);  // causal: the first token sees only itself
    }
  BOOST_TEST(worst < 1e-12);
}

// The naive reference is itself right (so the comparison above means something).
BOOST_AUTO_TEST_CASE(naive_attention_gradients) {
  M Q = random_matrix(4, 3, 50), K = random_matrix(4, 3, 51), V = random_matrix(4, 3, 52), R = random_matrix(4, 3, 53);
  M P, out, dQ, dK, dV;
  auto loss = [&] {
    layers::attention_naive_forward<double>(Q, K, V, P, out);
    return weighted_sum(R, out);
  };
  loss();
  layers::attention_naive_backward<double>(Q, K, V, P, R, dQ, dK, dV);
  require_ok(check_gradients(loss, {tensor("Q", Q, dQ), tensor("K", K, dK), tensor("V", V, dV)}, kOptions));
}

BOOST_AUTO_TEST_CASE(lecun_normal_init_statistics) {
  ParamStore<double> store;
  const int w = store.add("w", 256, 128, Init::LecunNormal);
  const int b = store.add("b", 1, 128, Init::Zeros);
  const int g = store.add("g", 1, 128, Init::Ones);
  store.finalize();
  store.initialize(3);
  const auto W = store.value(w);
  const double n = static_cast<double>(W.size());
  const double mean = W.mean();
  const double var = (W.array() - mean).square().sum() / n;
  // Truncated normal on [-2, 2] has variance 0.87962566103423978^2, so the scaled kernel has variance 1/fan_in.
  const double target = 1.0 / 256;
  // Standard error of a sample variance ~ target * sqrt(2/n) (a little less for a truncated normal).
  BOOST_TEST(std::fabs(var - target) < 6 * target * std::sqrt(2.0 / n));
  BOOST_TEST(std::fabs(mean) < 6 * std::sqrt(target / n));
  BOOST_TEST(W.cwiseAbs().maxCoeff() <= 2.0 * std::sqrt(target) / 0.87962566103423978 + 1e-12);
  BOOST_TEST(store.value(b).cwiseAbs().maxCoeff() == 0.0);
  BOOST_TEST(store.value(g).minCoeff() == 1.0);
  // Same seed, same values; different seed, different values.
  ParamStore<double> again;
  again.add("w", 256, 128, Init::LecunNormal);
  again.finalize();
  again.initialize(3);
  BOOST_TEST(bool(again.value(0) == store.value(w)));
  again.initialize(4);
  BOOST_TEST(!bool(again.value(0) == store.value(w)));
}

BOOST_AUTO_TEST_CASE(adam_matches_formula) {
  // One parameter, two steps, by hand: m, v, bias correction, eps outside the sqrt.
  Adam<double> adam(0.1, 0.9, 0.999, 1e-8);
  AlignedVector<double> p{1.0}, g{0.5};
  adam.step(p, g);
  double m = 0.1 * 0.5, v = 0.001 * 0.25, expect = 1.0 - 0.1 * (m / 0.1) / (std::sqrt(v / 0.001) + 1e-8);
  BOOST_TEST(std::fabs(p[0] - expect) < 1e-12);
  g[0] = -2.0;
  adam.step(p, g);
  m = 0.9 * m + 0.1 * -2.0;
  v = 0.999 * v + 0.001 * 4.0;
  expect -= 0.1 * (m / (1 - 0.81)) / (std::sqrt(v / (1 - 0.999 * 0.999)) + 1e-8);
  BOOST_TEST(std::fabs(p[0] - expect) < 1e-12);
}
