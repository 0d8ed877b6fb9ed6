#pragma once
// Layers as forward/backward pairs over row-major activation matrices (rows = tokens), templated on
// the scalar so the same code runs in float (training) and double (gradient checks). Backward
// functions ACCUMULATE parameter gradients (+=) and, where noted, input gradients, so residual
// branches and shared parameters need no extra buffers.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "iclsweep/model/tensor.hpp"

namespace icl::layers {

// ---- Dense ------------------------------------------------------------------------------------
// X (N, in) · W (in, out) + b (1, out) -> Y (N, out)
template <class S>
void dense_forward(const CMatRef<S>& X, const CMatRef<S>& W, const Eigen::Ref<const RowVec<S>>& b, MatRef<S> Y) {
  Y.noalias() = X * W;
  Y.rowwise() += b;
}
// dW (in, out) += Xᵀ dY; db (1, out) += Σ_rows dY
template <class S>
void dense_backward_params(const CMatRef<S>& X, const CMatRef<S>& dY, MatRef<S> dW, Eigen::Ref<RowVec<S>> db) {
  dW.noalias() += X.transpose() * dY;
  db += dY.colwise().sum();
}
// dX (N, in) = dY (N, out) · Wᵀ   (overwrites; use dense_backward_input_add to accumulate)
template <class S>
void dense_backward_input(const CMatRef<S>& dY, const CMatRef<S>& W, MatRef<S> dX) {
  dX.noalias() = dY * W.transpose();
}
template <class S>
void dense_backward_input_add(const CMatRef<S>& dY, const CMatRef<S>& W, MatRef<S> dX) {
  dX.noalias() += dY * W.transpose();
}

// ---- LayerNorm (eps 1e-5, biased variance) -------------------------------------------------------
// X (N, E) -> Y (N, E) = xhat ⊙ gamma + beta; caches xhat (N, E) and rstd (N).
template <class S>
void layernorm_forward(const CMatRef<S>& X, const Eigen::Ref<const RowVec<S>>& gamma, const Eigen::Ref<const RowVec<S>>& beta,
                       MatRef<S> Y, MatRef<S> xhat, S* rstd, S eps = S(1e-5)) {
  const Eigen::Index E = X.cols();
  for (Eigen::Index r = 0; r < X.rows(); ++r) {
    const S mean = X.row(r).sum() / S(E);
    const S var = (X.row(r).array() - mean).square().sum() / S(E);
    const S rs = S(1) / std::sqrt(var + eps);
    rstd[r] = rs;
    xhat.row(r) = (X.row(r).array() - mean) * rs;
    Y.row(r) = xhat.row(r).cwiseProduct(gamma) + beta;
  }
}
// dX (N, E) += rstd ⊙ (dxhat − mean(dxhat) − xhat ⊙ mean(dxhat ⊙ xhat)), dxhat = dY ⊙ gamma;
// dgamma += Σ dY ⊙ xhat; dbeta += Σ dY.
template <class S>
void layernorm_backward(const CMatRef<S>& dY, const CMatRef<S>& xhat, const S* rstd, const Eigen::Ref<const RowVec<S>>& gamma,
                        Eigen::Ref<RowVec<S>> dgamma, Eigen::Ref<RowVec<S>> dbeta, MatRef<S> dX) {
  const Eigen::Index E = dY.cols();
  for (Eigen::Index r = 0; r < dY.rows(); ++r) {
    dgamma += dY.row(r).cwiseProduct(xhat.row(r));
    dbeta += dY.row(r);
    const auto dxhat = (dY.row(r).cwiseProduct(gamma)).eval();
    const S m1 = dxhat.sum() / S(E);
    const S m2 = dxhat.cwiseProduct(xhat.row(r)).sum() / S(E);
    dX.row(r).array() += rstd[r] * (dxhat.array() - m1 - xhat.row(r).array() * m2);
  }
}

// ---- GELU (tanh approximation) --------------------------------------------------------------------
// pre (N, F) -> act (N, F) = 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))); caches t = tanh(...) (N, F).
template <class S>
void gelu_forward(const CMatRef<S>& pre, MatRef<S> t, MatRef<S> act) {
  const S c = S(0.7978845608028654), a = S(0.044715);
  for (Eigen::Index r = 0; r < pre.rows(); ++r) {
    const auto x = pre.row(r).array();
    t.row(r).array() = (c * (x + a * x * x * x)).tanh();
    act.row(r).array() = S(0.5) * x * (S(1) + t.row(r).array());
  }
}
// dpre (N, F) = dact ⊙ [0.5(1+t) + 0.5·x·(1−t²)·√(2/π)(1 + 3·0.044715x²)]   (overwrites)
template <class S>
void gelu_backward(const CMatRef<S>& pre, const CMatRef<S>& t, const CMatRef<S>& dact, MatRef<S> dpre) {
  const S c = S(0.7978845608028654), a3 = S(3 * 0.044715);
  for (Eigen::Index r = 0; r < pre.rows(); ++r) {
    const auto x = pre.row(r).array();
    const auto tt = t.row(r).array();
    dpre.row(r).array() =
        dact.row(r).array() * (S(0.5) * (S(1) + tt) + S(0.5) * x * (S(1) - tt * tt) * c * (S(1) + a3 * x * x));
  }
}

// ---- Causal multi-head attention ------------------------------------------------------------------
// Sequences of T tokens; per sequence only the LAST Tq positions are queried (Tq = T: every token;
// Tq = 1: the query token only, enough for the last block). Query i sits at position p = T−Tq+i and
// attends keys 0..p. Masked logits (−1e10 in the spec) have exactly zero softmax weight in float and
// double, so they are skipped rather than computed; attention_naive_* below is the literal form.
//   q   (B·Tq, E) row stride q_stride      k, v (B·T, E) row stride kv_stride
//   out (B·Tq, E) row stride out_stride    probs (B, H, Tq, T) cache (entries j > p unused)
struct AttentionShape {
  int batch = 0, seq = 0, queries = 0, heads = 1, head_dim = 0;
  int embed() const { return heads * head_dim; }
};

template <class S>
void attention_forward(const AttentionShape& s, const S* q, int q_stride, const S* k, const S* v, int kv_stride, S* probs,
                       S* out, int out_stride) {
  using V = Eigen::Map<const ColVec<S>>;
  const int T = s.seq, Tq = s.queries, hd = s.head_dim;
  const S scale = S(1) / std::sqrt(S(hd));
  for (int b = 0; b < s.batch; ++b)
    for (int h = 0; h < s.heads; ++h)
      for (int i = 0; i < Tq; ++i) {
        const int p = T - Tq + i;
        const S* qi = q + static_cast<std::ptrdiff_t>(b * Tq + i) * q_stride + h * hd;
        S* w = probs + ((static_cast<std::ptrdiff_t>(b) * s.heads + h) * Tq + i) * T;
        S mx = -std::numeric_limits<S>::infinity();
        for (int j = 0; j <= p; ++j) {
          const S* kj = k + static_cast<std::ptrdiff_t>(b * T + j) * kv_stride + h * hd;
          w[j] = V(qi, hd).dot(V(kj, hd)) * scale;
          mx = std::max(mx, w[j]);
        }
        S sum = 0;
        for (int j = 0; j <= p; ++j) sum += (w[j] = std::exp(w[j] - mx));
        const S inv = S(1) / sum;
        Eigen::Map<ColVec<S>> o(out + static_cast<std::ptrdiff_t>(b * Tq + i) * out_stride + h * hd, hd);
        o.setZero();
        for (int j = 0; j <= p; ++j) {
          w[j] *= inv;
          o += w[j] * V(v + static_cast<std::ptrdiff_t>(b * T + j) * kv_stride + h * hd, hd);
        }
      }
}

// dq (B·Tq, E) overwritten; dk, dv (B·T, E) overwritten (all rows, zeros where no query looks).
template <class S>
void attention_backward(const AttentionShape& s, const S* q, int q_stride, const S* k, const S* v, int kv_stride, const S* probs,
                        const S* dout, int dout_stride, S* dq, int dq_stride, S* dk, S* dv, int dkv_stride) {
  using V = Eigen::Map<const ColVec<S>>;
  using M = Eigen::Map<ColVec<S>>;
  const int T = s.seq, Tq = s.queries, hd = s.head_dim;
  const S scale = S(1) / std::sqrt(S(hd));
  S ds[1024 + 1];
  AlignedVector<S> ds_heap;
  S* dsp = ds;
  if (T > 1024) {
    ds_heap.resize(T);
    dsp = ds_heap.data();
  }
  for (int b = 0; b < s.batch; ++b)
    for (int j = 0; j < T; ++j) {
      M(dk + static_cast<std::ptrdiff_t>(b * T + j) * dkv_stride, s.embed()).setZero();
      M(dv + static_cast<std::ptrdiff_t>(b * T + j) * dkv_stride, s.embed()).setZero();
    }
  for (int b = 0; b < s.batch; ++b)
    for (int h = 0; h < s.heads; ++h)
      for (int i = 0; i < Tq; ++i) {
        const int p = T - Tq + i;
        const S* qi = q + static_cast<std::ptrdiff_t>(b * Tq + i) * q_stride + h * hd;
        const S* w = probs + ((static_cast<std::ptrdiff_t>(b) * s.heads + h) * Tq + i) * T;
        V doi(dout + static_cast<std::ptrdiff_t>(b * Tq + i) * dout_stride + h * hd, hd);
        S dot = 0;
        for (int j = 0; j <= p; ++j) {
          const std::ptrdiff_t row = static_cast<std::ptrdiff_t>(b * T + j) * kv_stride + h * hd;
          const S dp = doi.dot(V(v + row, hd));   // dP_ij = dout_i · v_j
          dsp[j] = dp;
          dot += w[j] * dp;
          M(dv + static_cast<std::ptrdiff_t>(b * T + j) * dkv_stride + h * hd, hd) += w[j] * doi;
        }
        M dqi(dq + static_cast<std::ptrdiff_t>(b * Tq + i) * dq_stride + h * hd, hd);
        dqi.setZero();
        for (int j = 0; j <= p; ++j) {
          const S dl = w[j] * (dsp[j] - dot) * scale;  // d logit (pre-scale product) of softmax
          dqi += dl * V(k + static_cast<std::ptrdiff_t>(b * T + j) * kv_stride + h * hd, hd);
          M(dk + static_cast<std::ptrdiff_t>(b * T + j) * dkv_stride + h * hd, hd) += dl * V(qi, hd);
        }
      }
}

// ---- Full causal self-attention as GEMMs (every token queries: Tq = T) ------------------------------
// The LM analog's kernel (issue 13): with head_dim 16 the per-pair loops above cannot reach GEMM speed,
// so each (sequence, head) is computed as small matrix products. Same result as attention_forward with
// Tq = T up to float summation order (tested against attention_naive_*); the synthetic transformer
// keeps the kernel above, so its numbers do not change.
//   q, k, v (B·T, E) with row stride `stride` (e.g. the Q | K | V thirds of one (B·T, 3E) matrix)
//   probs (B, H, T, T) cache: the lower triangle holds the weights; above the diagonal (masked keys,
//   weight exactly 0) it is never read: every product uses triangularView<Lower>.   out (B·T, E) row stride out_stride
template <class S>
void attention_forward_full(const AttentionShape& s, const S* q, const S* k, const S* v, int stride, S* probs, S* out,
                            int out_stride) {
  using In = Eigen::Map<const RowMat<S>, 0, Eigen::OuterStride<>>;
  using Out = Eigen::Map<RowMat<S>, 0, Eigen::OuterStride<>>;
  const int T = s.seq, hd = s.head_dim;
  const S scale = S(1) / std::sqrt(S(hd));
  for (int b = 0; b < s.batch; ++b)
    for (int h = 0; h < s.heads; ++h) {
      const std::ptrdiff_t off = static_cast<std::ptrdiff_t>(b) * T * stride + h * hd;
      const In Q(q + off, T, hd, Eigen::OuterStride<>(stride)), K(k + off, T, hd, Eigen::OuterStride<>(stride)),
          V(v + off, T, hd, Eigen::OuterStride<>(stride));
      MatMap<S> P(probs + (static_cast<std::ptrdiff_t>(b) * s.heads + h) * T * T, T, T);
      P.noalias() = Q * K.transpose();  // (T, T) logits before scaling
      for (int i = 0; i < T; ++i) {
        auto row = P.row(i).head(i + 1).array();
        const S mx = row.maxCoeff();
        row = ((row - mx) * scale).exp();
        row /= row.sum();
      }
      Out O(out + static_cast<std::ptrdiff_t>(b) * T * out_stride + h * hd, T, hd, Eigen::OuterStride<>(out_stride));
      O.noalias() = P.template triangularView<Eigen::Lower>() * V;
    }
}
// dout (B·T, E) -> dq, dk, dv (B·T, E) with row stride dstride, overwritten.
template <class S>
void attention_backward_full(const AttentionShape& s, const S* q, const S* k, const S* v, int stride, const S* probs, const S* dout,
                             int dout_stride, S* dq, S* dk, S* dv, int dstride) {
  using In = Eigen::Map<const RowMat<S>, 0, Eigen::OuterStride<>>;
  using Out = Eigen::Map<RowMat<S>, 0, Eigen::OuterStride<>>;
  const int T = s.seq, hd = s.head_dim;
  const S scale = S(1) / std::sqrt(S(hd));
  RowMat<S> dP(T, T);
  for (int b = 0; b < s.batch; ++b)
    for (int h = 0; h < s.heads; ++h) {
      const std::ptrdiff_t off = static_cast<std::ptrdiff_t>(b) * T * stride + h * hd;
      const std::ptrdiff_t doff = static_cast<std::ptrdiff_t>(b) * T * dstride + h * hd;
      const In Q(q + off, T, hd, Eigen::OuterStride<>(stride)), K(k + off, T, hd, Eigen::OuterStride<>(stride)),
          V(v + off, T, hd, Eigen::OuterStride<>(stride));
      const In dO(dout + static_cast<std::ptrdiff_t>(b) * T * dout_stride + h * hd, T, hd, Eigen::OuterStride<>(dout_stride));
      const CMatMap<S> P(probs + (static_cast<std::ptrdiff_t>(b) * s.heads + h) * T * T, T, T);
      Out dQ(dq + doff, T, hd, Eigen::OuterStride<>(dstride)), dK(dk + doff, T, hd, Eigen::OuterStride<>(dstride)),
          dV(dv + doff, T, hd, Eigen::OuterStride<>(dstride));
      dV.noalias() = P.template triangularView<Eigen::Lower>().transpose() * dO;  // (T, hd)
      dP.noalias() = dO * V.transpose();                                           // (T, T)
      for (int i = 0; i < T; ++i) {  // softmax backward per row, then the 1/√hd of the logits
        const S dot = P.row(i).head(i + 1).dot(dP.row(i).head(i + 1));
        dP.row(i).head(i + 1) = (P.row(i).head(i + 1).array() * (dP.row(i).head(i + 1).array() - dot) * scale).matrix();
      }
      dQ.noalias() = dP.template triangularView<Eigen::Lower>() * K;
      dK.noalias() = dP.template triangularView<Eigen::Lower>().transpose() * Q;
    }
}

// The literal §2 attention for one (sequence, head), kept as the reference the fast kernel is tested
// against: logits = QKᵀ/√hd; masked = logits·mask − 1e10·(1−mask); P = softmax_rows(masked); out = P V.
//   Q, K, Vv (T, hd) -> out (T, hd); P (T, T) cached.
template <class S>
void attention_naive_forward(const RowMat<S>& Q, const RowMat<S>& K, const RowMat<S>& Vv, RowMat<S>& P, RowMat<S>& out) {
  const Eigen::Index T = Q.rows();
  RowMat<S> mask = RowMat<S>::Zero(T, T);
  for (Eigen::Index i = 0; i < T; ++i)
    for (Eigen::Index j = 0; j <= i; ++j) mask(i, j) = 1;
  const RowMat<S> logits = (Q * K.transpose()) / std::sqrt(S(Q.cols()));
  const RowMat<S> masked = logits.cwiseProduct(mask) - S(1e10) * (RowMat<S>::Ones(T, T) - mask);
  P.resize(T, T);
  for (Eigen::Index i = 0; i < T; ++i) {
    const S mx = masked.row(i).maxCoeff();
    P.row(i) = (masked.row(i).array() - mx).exp();
    P.row(i) /= P.row(i).sum();
  }
  out = P * Vv;
}
// dout (T, hd) -> dQ, dK, dV (T, hd), overwritten.
template <class S>
void attention_naive_backward(const RowMat<S>& Q, const RowMat<S>& K, const RowMat<S>& Vv, const RowMat<S>& P,
                              const RowMat<S>& dout, RowMat<S>& dQ, RowMat<S>& dK, RowMat<S>& dV) {
  const Eigen::Index T = Q.rows();
  RowMat<S> mask = RowMat<S>::Zero(T, T);
  for (Eigen::Index i = 0; i < T; ++i)
    for (Eigen::Index j = 0; j <= i; ++j) mask(i, j) = 1;
  dV = P.transpose() * dout;
  const RowMat<S> dP = dout * Vv.transpose();
  RowMat<S> dmasked(T, T);
  for (Eigen::Index i = 0; i < T; ++i) {
    const S dot = P.row(i).dot(dP.row(i));
    dmasked.row(i) = P.row(i).array() * (dP.row(i).array() - dot);
  }
  const RowMat<S> dlogits = dmasked.cwiseProduct(mask) / std::sqrt(S(Q.cols()));
  dQ = dlogits * K;
  dK = dlogits.transpose() * Q;
}

// ---- Softmax cross-entropy --------------------------------------------------------------------------
// logits (B, C), targets[b·target_stride] (B) -> mean_b −log softmax(logits_b)[target_b]; dlogits (B, C) = (softmax − onehot)/B.
// Returns the loss in double; a non-finite value is returned as is (the caller decides).
template <class S>
double softmax_cross_entropy(const CMatRef<S>& logits, const std::int32_t* targets, int target_stride, MatRef<S> dlogits) {
  const Eigen::Index B = logits.rows();
  double total = 0;
  for (Eigen::Index b = 0; b < B; ++b) {
    const S mx = logits.row(b).maxCoeff();
    dlogits.row(b) = (logits.row(b).array() - mx).exp();
    const S sum = dlogits.row(b).sum();
    const std::int32_t y = targets[b * target_stride];
    total += -(static_cast<double>(logits(b, y) - mx) - std::log(static_cast<double>(sum)));
    dlogits.row(b) /= sum;
    dlogits(b, y) -= S(1);
  }
  dlogits /= S(B);
  return total / static_cast<double>(B);
}


// ---- Token embedding (the language-model analog, issue 13) -----------------------------------------
// ids (N) into table W (V, E), plus a positional row: X (N, E), X[r] = W[ids[r]] + PE[r mod T].
//   PE (≥T, E); T = tokens per sequence (rows are sequence-major).
template <class S>
void embedding_forward(const std::int32_t* ids, int N, int T, const CMatRef<S>& W, const CMatRef<S>& PE, MatRef<S> X) {
  for (int r = 0; r < N; ++r) X.row(r) = W.row(ids[r]) + PE.row(r % T);
}
// dW (V, E) += scatter of dX (N, E) rows to their ids (a repeated id accumulates).
template <class S>
void embedding_backward(const std::int32_t* ids, int N, const CMatRef<S>& dX, MatRef<S> dW) {
  for (int r = 0; r < N; ++r) dW.row(ids[r]) += dX.row(r);
}

// ---- Weighted per-position softmax cross-entropy (next-token readout at every position) -------------
// logits (N, V), targets (N), weights (N) ≥ 0 -> Σ_r w_r·CE_r / Σ_r w_r; dlogits (N, V) = w_r (softmax − onehot) / Σw
// (rows of weight 0 get exactly zero gradient and their targets are not read). Returns the loss in double;
// 0 when Σw = 0. A non-finite value is returned as is.
template <class S>
double weighted_cross_entropy(const CMatRef<S>& logits, const std::int32_t* targets, const S* weights, MatRef<S> dlogits) {
  const Eigen::Index N = logits.rows();
  double total = 0, wsum = 0;
  for (Eigen::Index r = 0; r < N; ++r) wsum += weights[r];
  const S inv = wsum > 0 ? S(1.0 / wsum) : S(0);
  for (Eigen::Index r = 0; r < N; ++r) {
    const S w = weights[r];
    if (w == S(0)) {
      dlogits.row(r).setZero();
      continue;
    }
    const S mx = logits.row(r).maxCoeff();
    dlogits.row(r) = (logits.row(r).array() - mx).exp();
    const S sum = dlogits.row(r).sum();
    const std::int32_t y = targets[r];
    total += static_cast<double>(w) * -(static_cast<double>(logits(r, y) - mx) - std::log(static_cast<double>(sum)));
    dlogits.row(r) *= w * inv / sum;
    dlogits(r, y) -= w * inv;
  }
  return wsum > 0 ? total / wsum : 0.0;
}

}  // namespace icl::layers
