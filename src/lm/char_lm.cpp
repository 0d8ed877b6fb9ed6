#include "iclsweep/lm/char_lm.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "iclsweep/core/error.hpp"
#include "iclsweep/model/layers.hpp"
#include "iclsweep/model/transformer.hpp"

namespace icl::lm {

double lm_train_memory_bytes(const LmConfig& c, int batch, int seq) {
  const double W = c.embed_dim, layers = c.num_layers, T = seq, B = batch;
  const double params = layers * (4.0 * W * W + 2.0 * W * W * c.widening_factor) + (vocab_size() + c.max_len) * W;
  const double activations = 4.0 * B * T * layers * ((10.0 + 2.0 * c.widening_factor) * W + 2.0 * c.num_heads * T);
  return 16.0 * params + activations;
}

void LmConfig::validate() const {
  if (num_layers < 1) throw ParamError("lm.layers", std::to_string(num_layers), "must be >= 1");
  if (embed_dim < 2 || embed_dim % 2) throw ParamError("lm.width", std::to_string(embed_dim), "must be even and >= 2");
  if (num_heads < 1 || embed_dim % num_heads)
    throw ParamError("lm.heads", std::to_string(num_heads), "must be >= 1 and divide lm.width = " + std::to_string(embed_dim));
  if (max_len < 2) throw InputError("lm model: max_len must be >= 2");
}

void pack(const std::vector<const Sequence*>& seqs, LossOn loss_on, LmBatch& out) {
  int T = 1;
  for (const Sequence* s : seqs) T = std::max(T, static_cast<int>(s->ids.size()));
  const int B = static_cast<int>(seqs.size());
  out.batch = B;
  out.seq = T;
  out.ids.assign(static_cast<std::size_t>(B) * T, kPad);
  out.targets.assign(out.ids.size(), kPad);
  out.weights.assign(out.ids.size(), 0.0f);
  for (int b = 0; b < B; ++b) {
    const auto& ids = seqs[b]->ids;
    const int n = static_cast<int>(ids.size());
    const std::size_t base = static_cast<std::size_t>(b) * T;
    for (int r = 0; r < n; ++r) out.ids[base + r] = ids[r];
    const int first = loss_on == LossOn::Answer ? seqs[b]->answer_begin - 1 : 0;
    for (int r = std::max(0, first); r + 1 < n; ++r) {
      out.targets[base + r] = ids[r + 1];
      out.weights[base + r] = 1.0f;
    }
  }
}

double lm_train_step_flops(const LmConfig& c, int B, int T) {
  const double E = c.embed_dim, F = c.hidden_dim(), V = vocab_size(), N = static_cast<double>(B) * T;
  const double pairs = B * (T * (T + 1) / 2.0);  // (query, key) pairs with key <= query
  double fwd = 0;
  for (int l = 0; l < c.num_layers; ++l) fwd += 2 * N * E * 3 * E + 2 * 2 * pairs * E + 2 * N * E * E + 2 * 2 * N * E * F;
  fwd += 2 * N * E * V;
  return 3 * fwd;
}

ParamGroup param_group_from(const std::string& name) {
  if (name == "all") return ParamGroup::All;
  if (name == "mlp") return ParamGroup::Mlp;
  if (name == "attn_v") return ParamGroup::AttentionV;
  if (name == "embed") return ParamGroup::Embedding;
  throw ParamError("lm.finetune_params", name, "must be all, mlp, attn_v or embed");
}

// Activations of one forward pass and the backward scratch. Training keeps every block's activations;
// inference reuses one block's buffers for all blocks (no backward, any batch size).
template <class S>
struct CharLmT<S>::Workspace {
  struct Block {
    AlignedVector<S> ln1_xhat, h1, qkv, probs, attn, x_mid, ln2_xhat, h2, pre, tanh, act, x_out, ln1_rstd, ln2_rstd;
  };
  std::size_t rows = 0, prob_entries = 0;
  AlignedVector<S> x0, lnf_xhat, lnf_rstd, hf, logits;
  std::vector<Block> blocks;
  AlignedVector<S> d_logits, d_hf, d_a, d_b, d_xmid, d_attn, d_h2, d_pre, d_act, d_qkv, d_h;

  void ensure(int B, int T, const LmConfig& c, int V, int num_blocks, bool training) {
    const std::size_t N = static_cast<std::size_t>(B) * T, P = static_cast<std::size_t>(B) * c.num_heads * T * T;
    if (N <= rows && P <= prob_entries && blocks.size() == static_cast<std::size_t>(num_blocks)) return;
    rows = std::max(rows, N);
    prob_entries = std::max(prob_entries, P);
    const std::size_t E = c.embed_dim, F = c.hidden_dim(), R = rows;
    x0.resize(R * E);
    lnf_xhat.resize(R * E);
    lnf_rstd.resize(R);
    hf.resize(R * E);
    logits.resize(R * V);
    blocks.resize(num_blocks);
    for (auto& k : blocks) {
      for (auto* v : {&k.ln1_xhat, &k.h1, &k.attn, &k.x_mid, &k.ln2_xhat, &k.h2, &k.x_out}) v->resize(R * E);
      k.qkv.resize(R * 3 * E);
      for (auto* v : {&k.pre, &k.tanh, &k.act}) v->resize(R * F);
      k.ln1_rstd.resize(R);
      k.ln2_rstd.resize(R);
      k.probs.resize(prob_entries);
    }
    if (!training) return;
    d_logits.resize(R * V);
    for (auto* v : {&d_hf, &d_a, &d_b, &d_xmid, &d_attn, &d_h2, &d_h}) v->resize(R * E);
    d_pre.resize(R * F);
    d_act.resize(R * F);
    d_qkv.resize(R * 3 * E);
  }
};

namespace {
template <class S>
MatMap<S> M(AlignedVector<S>& v, std::size_t rows, std::size_t cols) {
  return MatMap<S>(v.data(), static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
}
}  // namespace

template <class S>
CharLmT<S>::CharLmT(const LmConfig& config, std::uint64_t seed) : config_(config), vocab_(vocab_size()), adam_(1e-3) {
  config_.validate();
  const int E = config_.embed_dim, F = config_.hidden_dim(), V = vocab_;
  // Tensor order fixes the ModelInit sub-ids: never reorder. The embedding is N(0, 1)-scaled (fan_in 1),
  // as torch.nn.Embedding, so tokens are not drowned by the unit-scale positional code.
  embed_ = store_.add("token_embed", V, E, Init::LecunNormal, 1);
  for (int l = 0; l < config_.num_layers; ++l) {
    const std::string p = "block" + std::to_string(l) + "/";
    BlockParams b;
    b.ln1_g = store_.add(p + "ln1/scale", 1, E, Init::Ones);
    b.ln1_b = store_.add(p + "ln1/bias", 1, E, Init::Zeros);
    b.w_qkv = store_.add(p + "attn/w_qkv", E, 3 * E, Init::LecunNormal, E);  // [Q | K | V], heads = column groups
    b.b_qkv = store_.add(p + "attn/b_qkv", 1, 3 * E, Init::Zeros);
    b.w_o = store_.add(p + "attn/w_out", E, E, Init::LecunNormal, E);
    b.b_o = store_.add(p + "attn/b_out", 1, E, Init::Zeros);
    b.ln2_g = store_.add(p + "ln2/scale", 1, E, Init::Ones);
    b.ln2_b = store_.add(p + "ln2/bias", 1, E, Init::Zeros);
    b.w_1 = store_.add(p + "mlp/w1", E, F, Init::LecunNormal, E);
    b.b_1 = store_.add(p + "mlp/b1", 1, F, Init::Zeros);
    b.w_2 = store_.add(p + "mlp/w2", F, E, Init::LecunNormal, F);
    b.b_2 = store_.add(p + "mlp/b2", 1, E, Init::Zeros);
    blocks_.push_back(b);
  }
  lnf_g_ = store_.add("final_ln/scale", 1, E, Init::Ones);
  lnf_b_ = store_.add("final_ln/bias", 1, E, Init::Zeros);
  out_w_ = store_.add("readout/w", E, V, Init::LecunNormal, E);
  out_b_ = store_.add("readout/b", 1, V, Init::Zeros);
  store_.finalize();
  store_.initialize(seed);
  for (const auto& t : store_.tensors) num_parameters_ += t.size();
  positional_ = positional_encoding(config_.max_len, E).cast<S>();
  set_trainable(ParamGroup::All);
  set_optimizer(OptimizerKind::Adam, 1e-3);
  train_ws_ = std::make_unique<Workspace>();
  infer_ws_ = std::make_unique<Workspace>();
}

template <class S>
CharLmT<S>::~CharLmT() = default;

template <class S>
void CharLmT<S>::set_optimizer(OptimizerKind kind, double lr) {
  optimizer_ = kind;
  learning_rate_ = lr;
  adam_.set_learning_rate(lr);
  adam_.reset(store_.size());
}

template <class S>
void CharLmT<S>::set_trainable(ParamGroup group) {
  mask_.assign(store_.size(), S(0));
  const int E = config_.embed_dim;
  for (std::size_t i = 0; i < store_.tensors.size(); ++i) {
    const TensorInfo& t = store_.tensors[i];
    const bool mlp = t.name.find("/mlp/") != std::string::npos;
    const bool qkv = t.name.find("/attn/w_qkv") != std::string::npos || t.name.find("/attn/b_qkv") != std::string::npos;
    for (int r = 0; r < t.rows; ++r)
      for (int c = 0; c < t.cols; ++c) {
        bool on = false;
        switch (group) {
          case ParamGroup::All: on = true; break;
          case ParamGroup::Mlp: on = mlp; break;
          case ParamGroup::AttentionV: on = qkv && c >= 2 * E; break;  // the V columns of [Q | K | V]
          case ParamGroup::Embedding: on = static_cast<int>(i) == embed_; break;
        }
        mask_[t.offset + static_cast<std::size_t>(r) * t.cols + c] = on ? S(1) : S(0);
      }
  }
}

template <class S>
std::size_t CharLmT<S>::num_trainable() const {
  std::size_t n = 0;
  for (S m : mask_) n += m != S(0);
  return n;
}

template <class S>
void CharLmT<S>::forward(const LmBatch& batch, Workspace& ws, bool keep) {
  const int B = batch.batch, T = batch.seq, E = config_.embed_dim, F = config_.hidden_dim(), V = vocab_;
  if (B < 1 || T < 1) throw InputError("lm model: empty batch");
  if (T > config_.max_len)
    throw InputError("lm model: a sequence of " + std::to_string(T) + " tokens exceeds max_len = " + std::to_string(config_.max_len));
  for (TokenId id : batch.ids)
    if (id < 0 || id >= V) throw InputError("lm model: token id " + std::to_string(id) + " outside [0, " + std::to_string(V) + ")");
  const std::size_t N = static_cast<std::size_t>(B) * T;
  ws.ensure(B, T, config_, V, keep ? config_.num_layers : 1, keep);

  auto x0 = M(ws.x0, N, E);
  layers::embedding_forward<S>(batch.ids.data(), static_cast<int>(N), T, store_.value(embed_), positional_, x0);
  const layers::AttentionShape shape{B, T, T, config_.num_heads, config_.head_dim()};
  AlignedVector<S>* x_in = &ws.x0;
  for (int l = 0; l < config_.num_layers; ++l) {
    const BlockParams& P = blocks_[l];
    auto& k = ws.blocks[keep ? l : 0];
    const auto xin = M(*x_in, N, E);
    layers::layernorm_forward<S>(xin, store_.vec(P.ln1_g), store_.vec(P.ln1_b), M(k.h1, N, E), M(k.ln1_xhat, N, E), k.ln1_rstd.data());
    layers::dense_forward<S>(M(k.h1, N, E), store_.value(P.w_qkv), store_.vec(P.b_qkv), M(k.qkv, N, 3 * E));
    layers::attention_forward_full<S>(shape, k.qkv.data(), k.qkv.data() + E, k.qkv.data() + 2 * E, 3 * E, k.probs.data(),
                                      k.attn.data(), E);
    auto x_mid = M(k.x_mid, N, E);
    layers::dense_forward<S>(M(k.attn, N, E), store_.value(P.w_o), store_.vec(P.b_o), x_mid);
    x_mid += xin;
    layers::layernorm_forward<S>(x_mid, store_.vec(P.ln2_g), store_.vec(P.ln2_b), M(k.h2, N, E), M(k.ln2_xhat, N, E), k.ln2_rstd.data());
    layers::dense_forward<S>(M(k.h2, N, E), store_.value(P.w_1), store_.vec(P.b_1), M(k.pre, N, F));
    layers::gelu_forward<S>(M(k.pre, N, F), M(k.tanh, N, F), M(k.act, N, F));
    auto x_out = M(k.x_out, N, E);  // in inference x_in may alias x_out: it is read above, written here
    layers::dense_forward<S>(M(k.act, N, F), store_.value(P.w_2), store_.vec(P.b_2), x_out);
    x_out += x_mid;
    x_in = &k.x_out;
  }
  layers::layernorm_forward<S>(M(*x_in, N, E), store_.vec(lnf_g_), store_.vec(lnf_b_), M(ws.hf, N, E), M(ws.lnf_xhat, N, E),
                               ws.lnf_rstd.data());
  layers::dense_forward<S>(M(ws.hf, N, E), store_.value(out_w_), store_.vec(out_b_), M(ws.logits, N, V));
}

template <class S>
void CharLmT<S>::backward(const LmBatch& batch, Workspace& ws) {
  const int B = batch.batch, T = batch.seq, E = config_.embed_dim, F = config_.hidden_dim(), V = vocab_;
  const std::size_t N = static_cast<std::size_t>(B) * T;
  const auto d_logits = M(ws.d_logits, N, V);
  layers::dense_backward_params<S>(M(ws.hf, N, E), d_logits, store_.grad(out_w_), store_.dvec(out_b_));
  layers::dense_backward_input<S>(d_logits, store_.value(out_w_), M(ws.d_hf, N, E));
  AlignedVector<S>* d_out = &ws.d_a;  // gradient wrt the current block's output (N, E)
  M(*d_out, N, E).setZero();
  layers::layernorm_backward<S>(M(ws.d_hf, N, E), M(ws.lnf_xhat, N, E), ws.lnf_rstd.data(), store_.vec(lnf_g_), store_.dvec(lnf_g_),
                                store_.dvec(lnf_b_), M(*d_out, N, E));
  const layers::AttentionShape shape{B, T, T, config_.num_heads, config_.head_dim()};
  auto d_xmid = M(ws.d_xmid, N, E);
  auto d_act = M(ws.d_act, N, F);
  auto d_pre = M(ws.d_pre, N, F);
  auto d_h2 = M(ws.d_h2, N, E);
  auto d_attn = M(ws.d_attn, N, E);
  auto d_qkv = M(ws.d_qkv, N, 3 * E);
  auto d_h = M(ws.d_h, N, E);
  for (int l = config_.num_layers - 1; l >= 0; --l) {
    const BlockParams& P = blocks_[l];
    auto& k = ws.blocks[l];
    AlignedVector<S>* d_in = (d_out == &ws.d_a) ? &ws.d_b : &ws.d_a;
    const auto dout = M(*d_out, N, E);
    // MLP branch: x_out = x_mid + W2·GELU(W1·LN2(x_mid) + b1) + b2
    d_xmid = dout;
    layers::dense_backward_params<S>(M(k.act, N, F), dout, store_.grad(P.w_2), store_.dvec(P.b_2));
    layers::dense_backward_input<S>(dout, store_.value(P.w_2), d_act);
    layers::gelu_backward<S>(M(k.pre, N, F), M(k.tanh, N, F), d_act, d_pre);
    layers::dense_backward_params<S>(M(k.h2, N, E), d_pre, store_.grad(P.w_1), store_.dvec(P.b_1));
    layers::dense_backward_input<S>(d_pre, store_.value(P.w_1), d_h2);
    layers::layernorm_backward<S>(d_h2, M(k.ln2_xhat, N, E), k.ln2_rstd.data(), store_.vec(P.ln2_g), store_.dvec(P.ln2_g),
                                  store_.dvec(P.ln2_b), d_xmid);
    // Attention branch: x_mid = x_in + Wo·Attn(LN1(x_in)) + bo
    layers::dense_backward_params<S>(M(k.attn, N, E), d_xmid, store_.grad(P.w_o), store_.dvec(P.b_o));
    layers::dense_backward_input<S>(d_xmid, store_.value(P.w_o), d_attn);
    layers::attention_backward_full<S>(shape, k.qkv.data(), k.qkv.data() + E, k.qkv.data() + 2 * E, 3 * E, k.probs.data(),
                                       ws.d_attn.data(), E, ws.d_qkv.data(), ws.d_qkv.data() + E, ws.d_qkv.data() + 2 * E, 3 * E);
    layers::dense_backward_params<S>(M(k.h1, N, E), d_qkv, store_.grad(P.w_qkv), store_.dvec(P.b_qkv));
    layers::dense_backward_input<S>(d_qkv, store_.value(P.w_qkv), d_h);
    auto din = M(*d_in, N, E);
    din = d_xmid;
    layers::layernorm_backward<S>(d_h, M(k.ln1_xhat, N, E), k.ln1_rstd.data(), store_.vec(P.ln1_g), store_.dvec(P.ln1_g),
                                  store_.dvec(P.ln1_b), din);
    d_out = d_in;
  }
  layers::embedding_backward<S>(batch.ids.data(), static_cast<int>(N), M(*d_out, N, E), store_.grad(embed_));
}

template <class S>
double CharLmT<S>::loss_and_gradient(const LmBatch& batch) {
  Workspace& ws = *train_ws_;
  forward(batch, ws, true);
  const std::size_t N = static_cast<std::size_t>(batch.batch) * batch.seq;
  const AlignedVector<S> w(batch.weights.begin(), batch.weights.end());
  const double loss = layers::weighted_cross_entropy<S>(M(ws.logits, N, vocab_), batch.targets.data(), w.data(), M(ws.d_logits, N, vocab_));
  store_.zero_grad();
  if (std::isfinite(loss)) backward(batch, ws);
  return loss;
}

template <class S>
double CharLmT<S>::loss(const LmBatch& batch) {
  Workspace& ws = *infer_ws_;
  forward(batch, ws, false);
  const std::size_t N = static_cast<std::size_t>(batch.batch) * batch.seq;
  // The loss without its gradient: the CE's dlogits go to a scratch of the logits' size.
  RowMat<S> scratch(static_cast<Eigen::Index>(N), vocab_);
  const AlignedVector<S> w(batch.weights.begin(), batch.weights.end());
  return layers::weighted_cross_entropy<S>(M(ws.logits, N, vocab_), batch.targets.data(), w.data(), scratch);
}

template <class S>
CMatMap<S> CharLmT<S>::logits(const LmBatch& batch) {
  Workspace& ws = *infer_ws_;
  forward(batch, ws, false);
  return CMatMap<S>(ws.logits.data(), static_cast<Eigen::Index>(batch.batch) * batch.seq, vocab_);
}

template <class S>
double CharLmT<S>::train_step(const LmBatch& batch) {
  const double loss = loss_and_gradient(batch);
  if (!std::isfinite(loss)) return loss;
  using A = Eigen::Array<S, Eigen::Dynamic, 1>;
  const Eigen::Index n = static_cast<Eigen::Index>(store_.size());
  Eigen::Map<A> g(store_.grads.data(), n);
  g *= Eigen::Map<const A>(mask_.data(), n);
  if (!std::isfinite((g * S(0)).sum())) return std::numeric_limits<double>::quiet_NaN();
  if (optimizer_ == OptimizerKind::Adam) {
    adam_.step(store_.values, store_.grads);
  } else {
    Eigen::Map<A>(store_.values.data(), n) -= static_cast<S>(learning_rate_) * g;
  }
  return loss;
}

template class CharLmT<float>;
template class CharLmT<double>;

}  // namespace icl::lm
