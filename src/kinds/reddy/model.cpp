#include "kinds/reddy/model.hpp"

#include <cmath>
#include <limits>

#include "iclsweep/core/rng.hpp"
#include "kinds/reddy/data.hpp"

namespace icl::reddy {

template <class S>
Params<S> Params<S>::zeros(int W, int L) {
  Params p;
  for (RowMat<S>* m : {&p.Q1, &p.K1, &p.V1, &p.Q2, &p.K2, &p.V2, &p.W1, &p.W2, &p.W3}) m->setZero(W, W);
  p.R.setZero(L, W);
  return p;
}

template <class S>
Params<S> Params<S>::init(int W, int L, int D, std::uint64_t seed) {
  Params p = zeros(W, L);
  const double sd_att = 1.0 / std::sqrt(static_cast<double>(D)), sd_mlp = std::sqrt(2.0 / W), sd_b = std::sqrt(1.0 / W),
               sd_r = std::sqrt(1.0 / W);
  std::uint64_t index = 0;
  p.each([&](const char* name, S* v, Eigen::Index n) {
    const char c = name[0];
    const double sd = (c == 'Q' || c == 'K' || c == 'V') ? sd_att : c == 'W' ? sd_mlp : c == 'b' ? sd_b : sd_r;
    Philox r(stream_key(seed, kReddyInit, index++), 0);
    for (Eigen::Index i = 0; i < n; ++i) v[i] = static_cast<S>(sd * r.normal());
  });
  return p;
}

template <class S>
std::int64_t Params<S>::num_parameters() const {
  return 9 * Q1.size() + 3 + R.size();
}

namespace {
template <class S>
void softmax_row(S* s, int n) {  // in place over n entries
  S m = s[0];
  for (int j = 1; j < n; ++j) m = std::max(m, s[j]);
  S z = 0;
  for (int j = 0; j < n; ++j) z += (s[j] = std::exp(s[j] - m));
  for (int j = 0; j < n; ++j) s[j] /= z;
}
template <class S>
void relu_layer(const RowMat<S>& in, const RowMat<S>& W, S b, RowMat<S>& out) {
  out.noalias() = in * W.transpose();
  out = (out.array() + b).cwiseMax(S(0)).matrix();
}
}  // namespace

template <class S>
void forward(const Params<S>& p, const RowMat<S>& X, int B, int T, Cache<S>& c) {
  const int W = static_cast<int>(X.cols());
  c.B = B;
  c.T = T;
  c.W = W;
  c.X = X;
  // Layer 1, every position: q, k, v (BT x W) = X Q^T, X K^T, X V^T.
  c.q1.noalias() = X * p.Q1.transpose();
  c.k1.noalias() = X * p.K1.transpose();
  c.v1.noalias() = X * p.V1.transpose();
  c.P1.setZero(static_cast<Eigen::Index>(B) * T, T);
  c.H1 = X;
  for (int b = 0; b < B; ++b) {
    const Eigen::Index r0 = static_cast<Eigen::Index>(b) * T;
    auto P = c.P1.middleRows(r0, T);                                              // T x T
    P.noalias() = c.q1.middleRows(r0, T) * c.k1.middleRows(r0, T).transpose();  // s_ij = q_i . k_j
    for (int i = 0; i < T; ++i) {
      softmax_row(&P(i, 0), i + 1);  // causal: j <= i
      for (int j = i + 1; j < T; ++j) P(i, j) = 0;
    }
    c.H1.middleRows(r0, T).noalias() += P * c.v1.middleRows(r0, T);
  }
  // Layer 2 at the target only: k, v at every position, q at the last.
  c.k2.noalias() = c.H1 * p.K2.transpose();
  c.v2.noalias() = c.H1 * p.V2.transpose();
  RowMat<S> Hlast(B, W);
  for (int b = 0; b < B; ++b) Hlast.row(b) = c.H1.row(static_cast<Eigen::Index>(b) * T + T - 1);
  c.q2.noalias() = Hlast * p.Q2.transpose();
  c.P2.resize(B, T);
  c.Z0 = Hlast;
  for (int b = 0; b < B; ++b) {
    const Eigen::Index r0 = static_cast<Eigen::Index>(b) * T;
    c.P2.row(b).noalias() = c.q2.row(b) * c.k2.middleRows(r0, T).transpose();
    softmax_row(&c.P2(b, 0), T);
    c.Z0.row(b).noalias() += c.P2.row(b) * c.v2.middleRows(r0, T);
  }
  relu_layer(c.Z0, p.W1, p.b1, c.A1);
  relu_layer(c.A1, p.W2, p.b2, c.A2);
  relu_layer(c.A2, p.W3, p.b3, c.A3);
  c.logits.noalias() = c.A3 * p.R.transpose();
}

template <class S>
double cross_entropy(const RowMat<S>& logits, const std::vector<int>& answer, RowMat<S>* dlogits) {
  const auto B = logits.rows(), L = logits.cols();
  double total = 0;
  if (dlogits) dlogits->resize(B, L);
  for (Eigen::Index b = 0; b < B; ++b) {
    double m = -std::numeric_limits<double>::infinity();
    for (Eigen::Index l = 0; l < L; ++l) m = std::max(m, static_cast<double>(logits(b, l)));
    double z = 0;
    for (Eigen::Index l = 0; l < L; ++l) z += std::exp(static_cast<double>(logits(b, l)) - m);
    const int y = answer[static_cast<std::size_t>(b)];
    total += std::log(z) + m - static_cast<double>(logits(b, y));
    if (dlogits) {
      for (Eigen::Index l = 0; l < L; ++l)
        (*dlogits)(b, l) = static_cast<S>((std::exp(static_cast<double>(logits(b, l)) - m) / z - (l == y ? 1.0 : 0.0)) / static_cast<double>(B));
    }
  }
  return total / static_cast<double>(B);
}

template <class S>
void backward(const Params<S>& p, const Cache<S>& c, const RowMat<S>& dlogits, Params<S>& g) {
  const int B = c.B, T = c.T, W = c.W;
  // Readout and the three ReLU layers (B x W each).
  g.R.noalias() += dlogits.transpose() * c.A3;  // L x W
  RowMat<S> dA = dlogits * p.R;                  // dA3
  auto relu_back = [&](const RowMat<S>& A, const RowMat<S>& in, const RowMat<S>& Wm, RowMat<S>& gW, S& gb) {
    RowMat<S> dU = (A.array() > S(0)).select(dA.array(), S(0)).matrix();  // through the ReLU
    gW.noalias() += dU.transpose() * in;
    gb += dU.sum();
    dA.noalias() = dU * Wm;  // to the layer's input
  };
  relu_back(c.A3, c.A2, p.W3, g.W3, g.b3);
  relu_back(c.A2, c.A1, p.W2, g.W2, g.b2);
  relu_back(c.A1, c.Z0, p.W1, g.W1, g.b1);
  const RowMat<S>& dZ0 = dA;  // B x W
  // Layer 2 at the target: z0 = h_T + sum_j p_j v_j, p = softmax(k_j . q).
  RowMat<S> dH1 = RowMat<S>::Zero(static_cast<Eigen::Index>(B) * T, W);
  RowMat<S> dk2 = RowMat<S>::Zero(static_cast<Eigen::Index>(B) * T, W), dv2 = dk2;
  RowMat<S> dq2(B, W), Hlast(B, W);
  RowVec<S> dp(T);
  for (int b = 0; b < B; ++b) {
    const Eigen::Index r0 = static_cast<Eigen::Index>(b) * T;
    Hlast.row(b) = c.H1.row(r0 + T - 1);
    dp.noalias() = dZ0.row(b) * c.v2.middleRows(r0, T).transpose();       // 1 x T
    dv2.middleRows(r0, T).noalias() = c.P2.row(b).transpose() * dZ0.row(b);  // T x W
    const S dot = (c.P2.row(b).array() * dp.array()).sum();
    const RowVec<S> ds = (c.P2.row(b).array() * (dp.array() - dot)).matrix();
    dq2.row(b).noalias() = ds * c.k2.middleRows(r0, T);
    dk2.middleRows(r0, T).noalias() = ds.transpose() * c.q2.row(b);
    dH1.row(r0 + T - 1) += dZ0.row(b);
  }
  g.Q2.noalias() += dq2.transpose() * Hlast;
  g.K2.noalias() += dk2.transpose() * c.H1;
  g.V2.noalias() += dv2.transpose() * c.H1;
  dH1.noalias() += dk2 * p.K2;
  dH1.noalias() += dv2 * p.V2;
  const RowMat<S> dHl = dq2 * p.Q2;
  for (int b = 0; b < B; ++b) dH1.row(static_cast<Eigen::Index>(b) * T + T - 1) += dHl.row(b);
  // Layer 1: H1 = X + P1 v1 (per sequence), P1 = causal softmax(q1 k1^T).
  RowMat<S> dq1(static_cast<Eigen::Index>(B) * T, W), dk1(static_cast<Eigen::Index>(B) * T, W), dv1(static_cast<Eigen::Index>(B) * T, W);
  RowMat<S> dP(T, T);
  for (int b = 0; b < B; ++b) {
    const Eigen::Index r0 = static_cast<Eigen::Index>(b) * T;
    const auto P = c.P1.middleRows(r0, T);
    const auto dO = dH1.middleRows(r0, T);
    dP.noalias() = dO * c.v1.middleRows(r0, T).transpose();
    dv1.middleRows(r0, T).noalias() = P.transpose() * dO;
    const auto rowdot = (P.array() * dP.array()).rowwise().sum().eval();  // T x 1
    const RowMat<S> dS = (P.array() * (dP.array().colwise() - rowdot)).matrix();  // zero where masked (P = 0)
    dq1.middleRows(r0, T).noalias() = dS * c.k1.middleRows(r0, T);
    dk1.middleRows(r0, T).noalias() = dS.transpose() * c.q1.middleRows(r0, T);
  }
  g.Q1.noalias() += dq1.transpose() * c.X;
  g.K1.noalias() += dk1.transpose() * c.X;
  g.V1.noalias() += dv1.transpose() * c.X;
}

template <class S>
void sgd_step(Params<S>& p, Params<S>& g, double lr, double shrink) {
  const S keep = static_cast<S>(1.0 - shrink), step = static_cast<S>(lr);
  std::vector<S*> gp;
  g.each([&](const char*, S* v, Eigen::Index) { gp.push_back(v); });
  std::size_t t = 0;
  p.each([&](const char*, S* v, Eigen::Index n) {
    const S* d = gp[t++];
    for (Eigen::Index i = 0; i < n; ++i) v[i] = keep * v[i] - step * d[i];
  });
}

#define ICL_REDDY_INSTANTIATE(S)                                                                      \
  template struct Params<S>;                                                                           \
  template void forward<S>(const Params<S>&, const RowMat<S>&, int, int, Cache<S>&);                  \
  template double cross_entropy<S>(const RowMat<S>&, const std::vector<int>&, RowMat<S>*);            \
  template void backward<S>(const Params<S>&, const Cache<S>&, const RowMat<S>&, Params<S>&);         \
  template void sgd_step<S>(Params<S>&, Params<S>&, double, double);
ICL_REDDY_INSTANTIATE(float)
ICL_REDDY_INSTANTIATE(double)

}  // namespace icl::reddy
