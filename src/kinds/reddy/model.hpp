#pragma once
// Reddy 2024 network (PEERS-SPEC §1.2): the raw tokens (T x W) are the residual stream; two causal
// attention-only layers with one head each, no 1/sqrt(d) scaling, no normalisation, no output projection,
// no bias (h_i <- h_i + sum_{j<=i} p_ij V h_j, p_ij = softmax_j((K h_j).(Q h_i))); then at the target
// (last) position three 128->128 ReLU layers, each with one scalar bias, and a bias-free readout to L logits.
// Layer 2 and the classifier are computed at the target position only: nothing else reaches the loss.
//
// Initialisation: Q, K, V ~ N(0, 1/D); MLP weights ~ N(0, 2/W), scalar biases ~ N(0, 1/W);
// readout ~ N(0, 1/W) (W = token width). Templated on the scalar: float trains, double is gradient-checked.
#include <cstdint>
#include <vector>

#include "iclsweep/model/tensor.hpp"

namespace icl::reddy {

template <class S>
struct Params {
  RowMat<S> Q1, K1, V1, Q2, K2, V2;  // W x W: q = Q h (row form: H Q^T)
  RowMat<S> W1, W2, W3;              // W x W
  S b1 = 0, b2 = 0, b3 = 0;          // scalar biases
  RowMat<S> R;                       // L x W readout

  static Params zeros(int W, int L);
  static Params init(int W, int L, int D, std::uint64_t seed);
  // Visits every tensor as (name, pointer, size); scalars as size 1.
  template <class F>
  void each(F&& f) {
    f("Q1", Q1.data(), Q1.size()); f("K1", K1.data(), K1.size()); f("V1", V1.data(), V1.size());
    f("Q2", Q2.data(), Q2.size()); f("K2", K2.data(), K2.size()); f("V2", V2.data(), V2.size());
    f("W1", W1.data(), W1.size()); f("b1", &b1, Eigen::Index{1});
    f("W2", W2.data(), W2.size()); f("b2", &b2, Eigen::Index{1});
    f("W3", W3.data(), W3.size()); f("b3", &b3, Eigen::Index{1});
    f("R", R.data(), R.size());
  }
  std::int64_t num_parameters() const;
};

// What the forward pass keeps for the backward pass and for the progress measures.
template <class S>
struct Cache {
  int B = 0, T = 0, W = 0;
  RowMat<S> X;                   // (B*T) x W input
  RowMat<S> q1, k1, v1, P1;      // layer 1: (B*T) x W, P1 (B*T) x T (row i of sequence b: attention of i over j)
  RowMat<S> H1;                  // (B*T) x W after layer 1
  RowMat<S> q2, k2, v2, P2;      // layer 2 at the target: q2 B x W, k2/v2 (B*T) x W, P2 B x T
  RowMat<S> Z0, A1, A2, A3;      // B x W: target after layer 2, after each ReLU layer
  RowMat<S> logits;              // B x L
};

// Forward pass of a batch (X: (B*T) x W). Returns nothing; the cache holds logits and attentions.
template <class S>
void forward(const Params<S>& p, const RowMat<S>& X, int B, int T, Cache<S>& c);

// Mean cross-entropy of the logits against `answer`, and its gradient wrt the logits (dlogits, B x L).
template <class S>
double cross_entropy(const RowMat<S>& logits, const std::vector<int>& answer, RowMat<S>* dlogits);

// Backward pass from dlogits (B x L): accumulates into g (which must be zeroed or hold earlier sums).
template <class S>
void backward(const Params<S>& p, const Cache<S>& c, const RowMat<S>& dlogits, Params<S>& g);

// One SGD step of §1.3: p <- (1 - shrink) p - lr g, every parameter, biases included.
template <class S>
void sgd_step(Params<S>& p, Params<S>& g, double lr, double shrink);

}  // namespace icl::reddy
