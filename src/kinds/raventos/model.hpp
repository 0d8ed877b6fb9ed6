#pragma once
// The GPT-2-style pre-LN regression transformer of Raventós et al. 2023 (PEERS-SPEC §3.2), built from the
// engine's layers (model/layers.hpp: Dense, LayerNorm, tanh-GELU, causal attention) and its flat
// parameter and Adam buffers (model/param_store.hpp).
//
//   tokens (B·2K, D+1) ─ Dense(D+1→E, no bias) + learned positions ─ L × [x + Attn(LN(x)); x + MLP(LN(x))]
//   ─ LN ─ Dense(E→1, no bias) read at the x-tokens ─ K real predictions per sequence, MSE loss.
// Attention: causal softmax, 1/√(head dim), projection biases; MLP 4E wide, tanh-approximate GELU; LN ε 1e-5.
// Init: kernels, the input map and the positions N(0, 0.02²), residual output projections (attention out,
// MLP out) N(0, (0.02/√(2L))²), biases 0, LN gains 1 — stream kInit, sub-id = tensor index.
//
// The layers new to the engine, the real-valued input embedding and the scalar readout with its MSE, are
// free functions below so that each has its own gradient check. RegressionTransformerT<double> exists for
// finite-difference checks; training uses float.
#include <cstdint>
#include <memory>
#include <vector>

#include "iclsweep/model/param_store.hpp"
#include "iclsweep/model/tensor.hpp"

namespace icl::raventos {

// ---- new layers ----------------------------------------------------------------------------------
// X (B·T, E) = tokens (B·T, W) · Win (W, E) + P[r mod T] (T, E)
template <class S>
void real_embedding_forward(const CMatRef<S>& tokens, const CMatRef<S>& Win, const CMatRef<S>& P, MatRef<S> X) {
  X.noalias() = tokens * Win;
  const Eigen::Index T = P.rows();
  for (Eigen::Index r = 0; r < X.rows(); ++r) X.row(r) += P.row(r % T);
}
// dWin += tokensᵀ dX; dP[p] += Σ_{r ≡ p mod T} dX[r]
template <class S>
void real_embedding_backward(const CMatRef<S>& tokens, const CMatRef<S>& dX, MatRef<S> dWin, MatRef<S> dP) {
  dWin.noalias() += tokens.transpose() * dX;
  const Eigen::Index T = dP.rows();
  for (Eigen::Index r = 0; r < dX.rows(); ++r) dP.row(r % T) += dX.row(r);
}
// Readout at the x-tokens (even rows of every sequence of T = 2K tokens): pred (B·K) = H[x rows] · w (E, 1);
// MSE = mean (pred − y)²; returns it in double and writes dH (B·T, E) (zeros at y-tokens) and dw += Hᵀ dpred.
template <class S>
double scalar_readout_mse(const CMatRef<S>& H, const CMatRef<S>& w, const S* y, int K, S* pred, MatRef<S> dH, MatRef<S> dw,
                          bool want_grad) {
  const Eigen::Index T = 2 * K, B = H.rows() / T, n = B * K;
  double total = 0;
  if (want_grad) dH.setZero();
  for (Eigen::Index b = 0; b < B; ++b)
    for (int k = 0; k < K; ++k) {
      const Eigen::Index r = b * T + 2 * k, i = b * K + k;
      const S p = H.row(r).dot(w.col(0));
      pred[i] = p;
      const double e = static_cast<double>(p) - static_cast<double>(y[i]);
      total += e * e;
      if (want_grad) {
        const S g = static_cast<S>(2.0 * e / static_cast<double>(n));
        dH.row(r) = g * w.col(0).transpose();
        dw.col(0) += g * H.row(r).transpose();
      }
    }
  return total / static_cast<double>(n);
}

struct ModelShape {
  int dims = 8, num_examples = 16, layers = 8, embed_dim = 128, heads = 2;
  int tokens() const { return 2 * num_examples; }
  // Trainable parameters, and the FLOPs (2 per multiply-add) of one training step (forward + backward ≈ 3×
  // forward) of B sequences, for the cost model.
  std::size_t num_parameters() const;
  double train_step_flops(int batch) const;
  double forward_flops(int batch) const;
};

template <class S>
class RegressionTransformerT {
 public:
  RegressionTransformerT(const ModelShape& shape, std::uint64_t seed);
  ~RegressionTransformerT();

  // MSE of the predictions of y at every x-token against y (B·K), with gradients in store().grads (zeroed
  // first). tokens (B·2K, D+1).
  double loss_and_gradient(const RowMat<S>& tokens, const std::vector<S>& y);
  double loss(const RowMat<S>& tokens, const std::vector<S>& y);
  // Predictions (B·K) for tokens (B·2K, D+1).
  void predict(const RowMat<S>& tokens, std::vector<S>& pred);
  // One Adam step at learning rate lr, with decoupled weight decay lr·wd·θ on the body kernels.
  void adam_step(double lr, double weight_decay);

  ParamStore<S>& store() { return store_; }
  const ModelShape& shape() const { return shape_; }
  // The indices of the body kernels (QKV, attention out, MLP in, MLP out): what weight decay touches.
  std::vector<int> body_kernels() const;

 private:
  struct Workspace;
  struct Block {
    int ln1_g, ln1_b, w_qkv, b_qkv, w_o, b_o, ln2_g, ln2_b, w_1, b_1, w_2, b_2;
  };
  double forward(const RowMat<S>& tokens, const std::vector<S>* y, Workspace& ws, bool grad);
  void backward(const RowMat<S>& tokens, Workspace& ws);

  ModelShape shape_;
  ParamStore<S> store_;
  Adam<S> adam_;
  int w_in_ = -1, pos_ = -1, lnf_g_ = -1, lnf_b_ = -1, w_out_ = -1;
  std::vector<Block> blocks_;
  std::unique_ptr<Workspace> ws_;
};

using RegressionTransformer = RegressionTransformerT<float>;

}  // namespace icl::raventos
