#include "kinds/raventos/model.hpp"

#include <algorithm>
#include <cmath>

#include "iclsweep/core/rng.hpp"
#include "iclsweep/model/layers.hpp"
#include "kinds/raventos/tasks.hpp"

namespace icl::raventos {

std::size_t ModelShape::num_parameters() const {
  const std::size_t E = embed_dim, L = layers;
  return (dims + 1) * E + tokens() * E + L * (4 * E + 3 * E * E + 3 * E + E * E + E + 4 * E * E + 4 * E + 4 * E * E + E) +
         2 * E + E;
}

double ModelShape::forward_flops(int batch) const {
  const double E = embed_dim, T = tokens();
  return static_cast<double>(batch) * T * (layers * (24.0 * E * E + 2.0 * T * E) + 2.0 * (dims + 1) * E + 2.0 * E);
}

double ModelShape::train_step_flops(int batch) const { return 3.0 * forward_flops(batch); }

template <class S>
struct RegressionTransformerT<S>::Workspace {
  int rows = -1;
  std::vector<RowMat<S>> resid, mid, h1, xhat1, qkv, att, h2, xhat2, pre, t, act;
  std::vector<std::vector<S>> rstd1, rstd2, probs;
  RowMat<S> hf, xhatf, dH, dx, dmid, dh, dqkv, datt, dact, dpre;
  std::vector<S> rstdf, pred;

  void resize(int B, const ModelShape& s) {
    const int R = B * s.tokens();
    if (R == rows) return;
    rows = R;
    const int E = s.embed_dim, L = s.layers;
    auto mats = [&](std::vector<RowMat<S>>& v, int n, int cols) {
      v.resize(n);
      for (auto& m : v) m.resize(R, cols);
    };
    mats(resid, L + 1, E);
    mats(mid, L, E);
    mats(h1, L, E);
    mats(xhat1, L, E);
    mats(qkv, L, 3 * E);
    mats(att, L, E);
    mats(h2, L, E);
    mats(xhat2, L, E);
    mats(pre, L, 4 * E);
    mats(t, L, 4 * E);
    mats(act, L, 4 * E);
    rstd1.assign(L, std::vector<S>(R));
    rstd2.assign(L, std::vector<S>(R));
    probs.assign(L, std::vector<S>(static_cast<std::size_t>(B) * s.heads * s.tokens() * s.tokens()));
    hf.resize(R, E);
    xhatf.resize(R, E);
    rstdf.resize(R);
    pred.resize(static_cast<std::size_t>(B) * s.num_examples);
  }
  void resize_grad(const ModelShape& s) {
    const int E = s.embed_dim;
    dH.resize(rows, E);
    dx.resize(rows, E);
    dmid.resize(rows, E);
    dh.resize(rows, E);
    dqkv.resize(rows, 3 * E);
    datt.resize(rows, E);
    dact.resize(rows, 4 * E);
    dpre.resize(rows, 4 * E);
  }
};

template <class S>
RegressionTransformerT<S>::RegressionTransformerT(const ModelShape& shape, std::uint64_t seed)
    : shape_(shape), adam_(1e-3), ws_(std::make_unique<Workspace>()) {
  const int E = shape.embed_dim, W = shape.dims + 1, T = shape.tokens();
  w_in_ = store_.add("embed/w_in", W, E, Init::Zeros);
  pos_ = store_.add("embed/positions", T, E, Init::Zeros);
  for (int l = 0; l < shape.layers; ++l) {
    const std::string p = "block" + std::to_string(l) + "/";
    Block b;
    b.ln1_g = store_.add(p + "ln1/gamma", 1, E, Init::Ones);
    b.ln1_b = store_.add(p + "ln1/beta", 1, E, Init::Zeros);
    b.w_qkv = store_.add(p + "attn/w_qkv", E, 3 * E, Init::Zeros);
    b.b_qkv = store_.add(p + "attn/b_qkv", 1, 3 * E, Init::Zeros);
    b.w_o = store_.add(p + "attn/w_o", E, E, Init::Zeros);
    b.b_o = store_.add(p + "attn/b_o", 1, E, Init::Zeros);
    b.ln2_g = store_.add(p + "ln2/gamma", 1, E, Init::Ones);
    b.ln2_b = store_.add(p + "ln2/beta", 1, E, Init::Zeros);
    b.w_1 = store_.add(p + "mlp/w_1", E, 4 * E, Init::Zeros);
    b.b_1 = store_.add(p + "mlp/b_1", 1, 4 * E, Init::Zeros);
    b.w_2 = store_.add(p + "mlp/w_2", 4 * E, E, Init::Zeros);
    b.b_2 = store_.add(p + "mlp/b_2", 1, E, Init::Zeros);
    blocks_.push_back(b);
  }
  lnf_g_ = store_.add("final_ln/gamma", 1, E, Init::Ones);
  lnf_b_ = store_.add("final_ln/beta", 1, E, Init::Zeros);
  w_out_ = store_.add("readout/w_out", E, 1, Init::Zeros);
  store_.finalize();
  store_.initialize(seed);  // ones and zeros; the normals below, in double and rounded once
  std::vector<std::pair<int, double>> normals = {{w_in_, 0.02}, {pos_, 0.02}, {w_out_, 0.02}};
  const double resid_std = 0.02 / std::sqrt(2.0 * shape.layers);
  for (const Block& b : blocks_) {
    normals.push_back({b.w_qkv, 0.02});
    normals.push_back({b.w_o, resid_std});
    normals.push_back({b.w_1, 0.02});
    normals.push_back({b.w_2, resid_std});
  }
  for (const auto& [i, sd] : normals) {
    Philox rng(stream_key(seed, kInit, static_cast<std::uint64_t>(i)), 0);
    S* p = store_.values.data() + store_.tensors[i].offset;
    for (std::size_t k = 0; k < store_.tensors[i].size(); ++k) p[k] = static_cast<S>(sd * rng.normal());
  }
  adam_.reset(store_.size());
}

template <class S>
RegressionTransformerT<S>::~RegressionTransformerT() = default;

template <class S>
std::vector<int> RegressionTransformerT<S>::body_kernels() const {
  std::vector<int> out;
  for (const Block& b : blocks_) out.insert(out.end(), {b.w_qkv, b.w_o, b.w_1, b.w_2});
  return out;
}

template <class S>
double RegressionTransformerT<S>::forward(const RowMat<S>& tokens, const std::vector<S>* y, Workspace& ws, bool grad) {
  const int T = shape_.tokens(), E = shape_.embed_dim, K = shape_.num_examples;
  const int B = static_cast<int>(tokens.rows() / T);
  ws.resize(B, shape_);
  layers::AttentionShape as;
  as.batch = B;
  as.seq = T;
  as.queries = T;
  as.heads = shape_.heads;
  as.head_dim = E / shape_.heads;
  real_embedding_forward<S>(tokens, store_.value(w_in_), store_.value(pos_), ws.resid[0]);
  for (int l = 0; l < shape_.layers; ++l) {
    const Block& b = blocks_[l];
    layers::layernorm_forward<S>(ws.resid[l], store_.vec(b.ln1_g), store_.vec(b.ln1_b), ws.h1[l], ws.xhat1[l], ws.rstd1[l].data());
    layers::dense_forward<S>(ws.h1[l], store_.value(b.w_qkv), store_.vec(b.b_qkv), ws.qkv[l]);
    const S* q = ws.qkv[l].data();
    layers::attention_forward_full<S>(as, q, q + E, q + 2 * E, 3 * E, ws.probs[l].data(), ws.att[l].data(), E);
    ws.mid[l] = ws.resid[l];
    ws.mid[l].noalias() += ws.att[l] * store_.value(b.w_o);
    ws.mid[l].rowwise() += store_.vec(b.b_o);
    layers::layernorm_forward<S>(ws.mid[l], store_.vec(b.ln2_g), store_.vec(b.ln2_b), ws.h2[l], ws.xhat2[l], ws.rstd2[l].data());
    layers::dense_forward<S>(ws.h2[l], store_.value(b.w_1), store_.vec(b.b_1), ws.pre[l]);
    layers::gelu_forward<S>(ws.pre[l], ws.t[l], ws.act[l]);
    ws.resid[l + 1] = ws.mid[l];
    ws.resid[l + 1].noalias() += ws.act[l] * store_.value(b.w_2);
    ws.resid[l + 1].rowwise() += store_.vec(b.b_2);
  }
  layers::layernorm_forward<S>(ws.resid[shape_.layers], store_.vec(lnf_g_), store_.vec(lnf_b_), ws.hf, ws.xhatf, ws.rstdf.data());
  if (grad) ws.resize_grad(shape_);
  static const std::vector<S> kNoTargets;
  const std::vector<S>& targets = y ? *y : kNoTargets;
  if (!y) {  // predictions only
    for (int bq = 0; bq < B; ++bq)
      for (int k = 0; k < K; ++k)
        ws.pred[static_cast<std::size_t>(bq) * K + k] = ws.hf.row(static_cast<Eigen::Index>(bq) * T + 2 * k).dot(store_.value(w_out_).col(0));
    return 0;
  }
  RowMat<S> dummy(0, E);
  return scalar_readout_mse<S>(ws.hf, store_.value(w_out_), targets.data(), K, ws.pred.data(), grad ? MatRef<S>(ws.dH) : MatRef<S>(dummy),
                               store_.grad(w_out_), grad);
}

template <class S>
void RegressionTransformerT<S>::backward(const RowMat<S>& tokens, Workspace& ws) {
  const int T = shape_.tokens(), E = shape_.embed_dim;
  const int B = static_cast<int>(tokens.rows() / T);
  layers::AttentionShape as;
  as.batch = B;
  as.seq = T;
  as.queries = T;
  as.heads = shape_.heads;
  as.head_dim = E / shape_.heads;
  ws.dx.setZero();
  layers::layernorm_backward<S>(ws.dH, ws.xhatf, ws.rstdf.data(), store_.vec(lnf_g_), store_.dvec(lnf_g_), store_.dvec(lnf_b_), ws.dx);
  for (int l = shape_.layers - 1; l >= 0; --l) {
    const Block& b = blocks_[l];
    // MLP branch: resid[l+1] = mid + act·W2 + b2
    layers::dense_backward_params<S>(ws.act[l], ws.dx, store_.grad(b.w_2), store_.dvec(b.b_2));
    layers::dense_backward_input<S>(ws.dx, store_.value(b.w_2), ws.dact);
    layers::gelu_backward<S>(ws.pre[l], ws.t[l], ws.dact, ws.dpre);
    layers::dense_backward_params<S>(ws.h2[l], ws.dpre, store_.grad(b.w_1), store_.dvec(b.b_1));
    layers::dense_backward_input<S>(ws.dpre, store_.value(b.w_1), ws.dh);
    ws.dmid = ws.dx;
    layers::layernorm_backward<S>(ws.dh, ws.xhat2[l], ws.rstd2[l].data(), store_.vec(b.ln2_g), store_.dvec(b.ln2_g),
                                  store_.dvec(b.ln2_b), ws.dmid);
    // attention branch: mid = resid + att·Wo + bo
    layers::dense_backward_params<S>(ws.att[l], ws.dmid, store_.grad(b.w_o), store_.dvec(b.b_o));
    layers::dense_backward_input<S>(ws.dmid, store_.value(b.w_o), ws.datt);
    const S* q = ws.qkv[l].data();
    S* dq = ws.dqkv.data();
    layers::attention_backward_full<S>(as, q, q + E, q + 2 * E, 3 * E, ws.probs[l].data(), ws.datt.data(), E, dq, dq + E, dq + 2 * E,
                                       3 * E);
    layers::dense_backward_params<S>(ws.h1[l], ws.dqkv, store_.grad(b.w_qkv), store_.dvec(b.b_qkv));
    layers::dense_backward_input<S>(ws.dqkv, store_.value(b.w_qkv), ws.dh);
    ws.dx = ws.dmid;
    layers::layernorm_backward<S>(ws.dh, ws.xhat1[l], ws.rstd1[l].data(), store_.vec(b.ln1_g), store_.dvec(b.ln1_g),
                                  store_.dvec(b.ln1_b), ws.dx);
  }
  real_embedding_backward<S>(tokens, ws.dx, store_.grad(w_in_), store_.grad(pos_));
}

template <class S>
double RegressionTransformerT<S>::loss_and_gradient(const RowMat<S>& tokens, const std::vector<S>& y) {
  store_.zero_grad();
  const double l = forward(tokens, &y, *ws_, true);
  backward(tokens, *ws_);
  return l;
}

template <class S>
double RegressionTransformerT<S>::loss(const RowMat<S>& tokens, const std::vector<S>& y) {
  return forward(tokens, &y, *ws_, false);
}

template <class S>
void RegressionTransformerT<S>::predict(const RowMat<S>& tokens, std::vector<S>& pred) {
  const int T = shape_.tokens(), K = shape_.num_examples;
  const int n = static_cast<int>(tokens.rows() / T);
  pred.resize(static_cast<std::size_t>(n) * K);
  constexpr int kChunk = 256;  // sequences per forward pass: bounded activation memory
  Workspace ws;
  for (int first = 0; first < n; first += kChunk) {
    const int m = std::min(kChunk, n - first);
    const RowMat<S> part = tokens.middleRows(static_cast<Eigen::Index>(first) * T, static_cast<Eigen::Index>(m) * T);
    forward(part, nullptr, ws, false);
    std::copy(ws.pred.begin(), ws.pred.begin() + static_cast<std::ptrdiff_t>(m) * K, pred.begin() + static_cast<std::ptrdiff_t>(first) * K);
  }
}

template <class S>
void RegressionTransformerT<S>::adam_step(double lr, double weight_decay) {
  if (weight_decay > 0) {  // decoupled (AdamW as optax): θ −= lr·wd·θ, before the Adam update (which does not read θ)
    const S f = static_cast<S>(lr * weight_decay);
    for (int i : body_kernels()) store_.value(i) -= f * store_.value(i);
  }
  adam_.set_learning_rate(lr);
  adam_.step(store_.values, store_.grads);
}

template class RegressionTransformerT<float>;
template class RegressionTransformerT<double>;

}  // namespace icl::raventos
