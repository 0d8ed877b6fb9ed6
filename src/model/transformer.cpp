#include "iclsweep/model/transformer.hpp"

#include <cmath>
#include <string>

#include "iclsweep/core/error.hpp"
#include "iclsweep/model/layers.hpp"

namespace icl {

RowMat<double> positional_encoding(int positions, int E) {
  RowMat<double> pe(positions, E);
  const int half = E / 2;
  for (int p = 0; p < positions; ++p)
    for (int j = 0; j < half; ++j) {
      const double div = std::pow(30.0, -2.0 * j / E);
      pe(p, j) = std::sin(p * div);
      pe(p, half + j) = std::cos(p * div);
    }
  return pe;
}

// Activations of one forward pass plus the backward scratch, sized for one (B, T). Training and
// inference each keep their own, so alternating batch sizes (32 train, 100 eval) never reallocate.
template <class S>
struct TransformerT<S>::Workspace {
  struct Block {
    int queries = 0;                       // Tq: T, or 1 in the last block
    RowMat<S> ln1_xhat, h1, qkv;           // (N, E), (N, E), (N, 3E)
    RowMat<S> hq, q;                       // (Nq, E) query rows of h1 and their Q (last block only)
    RowMat<S> attn, x_mid, ln2_xhat, h2;   // (Nq, E)
    RowMat<S> pre, tanh, act;              // (Nq, F)
    RowMat<S> x_out;                       // (Nq, E)
    std::vector<S> ln1_rstd, ln2_rstd, probs;
  };
  int batch = -1, seq = -1;
  RowMat<S> inputs;       // (B·(L+1), D) the batch's inputs as S
  RowMat<S> input_tokens; // (B·(L+1), E) tokenizer output
  RowMat<S> x0;           // (N, E) block-0 input tokens, N = B·T
  std::vector<Block> blocks;
  RowMat<S> lnf_xhat, hf, logits;  // (B, E), (B, E), (B, C)
  std::vector<S> lnf_rstd;
  // backward scratch, sized for the largest use
  RowMat<S> d_logits, d_hf, d_top;  // (B, C), (B, E), (B, E)
  RowMat<S> d_a, d_b;               // (N, E) gradient wrt a block's input / output
  RowMat<S> d_xmid, d_attn, d_h2;   // (N, E)
  RowMat<S> d_pre, d_act;           // (N, F)
  RowMat<S> d_qkv, d_h, d_q, d_hq;  // (N, 3E), (N, E), (B, E), (B, E)
  RowMat<S> d_input_tokens;         // (B·(L+1), E) only with a trainable tokenizer

  void ensure(int B, int T, int D, const ModelConfig& c, int C, int num_blocks) {
    if (B == batch && T == seq) return;
    batch = B;
    seq = T;
    const int E = c.embed_dim, F = c.hidden_dim(), N = B * T, L1 = (T + 1) / 2;
    inputs.resize(B * L1, D);
    input_tokens.resize(B * L1, E);
    x0.resize(N, E);
    blocks.resize(num_blocks);
    for (int l = 0; l < num_blocks; ++l) {
      auto& k = blocks[l];
      k.queries = l + 1 == num_blocks ? 1 : T;
      const int Nq = B * k.queries;
      k.ln1_xhat.resize(N, E);
      k.h1.resize(N, E);
      k.qkv.resize(N, 3 * E);
      k.hq.resize(B, E);
      k.q.resize(B, E);
      k.attn.resize(Nq, E);
      k.x_mid.resize(Nq, E);
      k.ln2_xhat.resize(Nq, E);
      k.h2.resize(Nq, E);
      k.pre.resize(Nq, F);
      k.tanh.resize(Nq, F);
      k.act.resize(Nq, F);
      k.x_out.resize(Nq, E);
      k.ln1_rstd.resize(N);
      k.ln2_rstd.resize(Nq);
      k.probs.resize(static_cast<std::size_t>(B) * c.num_heads * k.queries * T);
    }
    lnf_xhat.resize(B, E);
    hf.resize(B, E);
    logits.resize(B, C);
    lnf_rstd.resize(B);
    d_logits.resize(B, C);
    d_hf.resize(B, E);
    d_top.resize(B, E);
    d_a.resize(N, E);
    d_b.resize(N, E);
    d_xmid.resize(N, E);
    d_attn.resize(N, E);
    d_h2.resize(N, E);
    d_pre.resize(N, F);
    d_act.resize(N, F);
    d_qkv.resize(N, 3 * E);
    d_h.resize(N, E);
    d_q.resize(B, E);
    d_hq.resize(B, E);
    d_input_tokens.resize(B * L1, E);
  }
};

template <class S>
TransformerT<S>::TransformerT(const ModelConfig& config, int num_classes, int num_contexts, int input_dim, std::uint64_t seed)
    : config_(config),
      num_classes_(num_classes),
      max_contexts_(num_contexts),
      input_dim_(input_dim),
      adam_(config.learning_rate, config.adam_beta1, config.adam_beta2, config.adam_eps) {
  config_.validate();
  if (num_classes < 2) throw InputError("transformer: num_classes = " + std::to_string(num_classes) + " must be >= 2");
  if (num_contexts < 0) throw InputError("transformer: num_contexts = " + std::to_string(num_contexts) + " must be >= 0");
  const int E = config_.embed_dim, F = config_.hidden_dim(), C = num_classes;
  tokenizer_ = make_input_tokenizer<S>(config_.input_tokenizer, input_dim, E);
  // Tensor order fixes the ModelInit sub-ids: never reorder (it would change every initialisation).
  tokenizer_->declare_parameters(store_);
  label_w_ = store_.add("label_embed/w", C, E, Init::LecunNormal, C);
  label_b_ = store_.add("label_embed/b", 1, E, Init::Zeros);
  for (int l = 0; l < config_.num_blocks; ++l) {
    const std::string p = "block" + std::to_string(l) + "/";
    BlockParams b;
    b.ln1_g = store_.add(p + "ln1/scale", 1, E, Init::Ones);
    b.ln1_b = store_.add(p + "ln1/bias", 1, E, Init::Zeros);
    b.w_qkv = store_.add(p + "attn/w_qkv", E, 3 * E, Init::LecunNormal, E);  // [Q | K | V] columns, each Dense(E→E)
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
  out_w_ = store_.add("readout/w", E, C, Init::LecunNormal, E);
  out_b_ = store_.add("readout/b", 1, C, Init::Zeros);
  store_.finalize();
  store_.initialize(seed);
  num_trainable_ = 0;  // the sum of tensor sizes: the flat buffer may hold alignment gaps between tensors
  for (const auto& t : store_.tensors) num_trainable_ += t.size();
  adam_.reset(store_.size());
  if (config_.weight_decay.active()) decay_ranges_ = decayed_ranges(store_, config_.weight_decay.params);
  positional_ = positional_encoding(num_contexts + 1, E).cast<S>();
  train_ws_ = std::make_unique<Workspace>();
  infer_ws_ = std::make_unique<Workspace>();
}

template <class S>
TransformerT<S>::~TransformerT() = default;

template <class S>
void TransformerT<S>::forward(const Batch& batch, Workspace& ws, bool /*keep_for_backward*/) {
  const int B = batch.size, L = batch.num_contexts, T = 2 * L + 1, E = config_.embed_dim, C = num_classes_;
  if (B < 1) throw InputError("transformer: empty batch");
  if (L > max_contexts_)
    throw InputError("transformer: batch has L = " + std::to_string(L) + " contexts but the model was built for at most " +
                     std::to_string(max_contexts_));
  if (batch.input_dim != input_dim_)
    throw InputError("transformer: batch input_dim = " + std::to_string(batch.input_dim) + ", model expects " + std::to_string(input_dim_));
  if (batch.num_classes != C)
    throw InputError("transformer: batch has C = " + std::to_string(batch.num_classes) + " classes, model has " + std::to_string(C));
  ws.ensure(B, T, input_dim_, config_, C, config_.num_blocks);

  // ---- tokens: x0 (B·T, E) ----
  ws.inputs = CMatMap<float>(batch.inputs.data(), B * (L + 1), input_dim_).template cast<S>();
  tokenizer_->forward(store_, ws.inputs, ws.input_tokens);
  const auto Wl = store_.value(label_w_);
  const auto bl = store_.vec(label_b_);
  for (int b = 0; b < B; ++b) {
    for (int i = 0; i < L; ++i) {
      const int y = batch.label(b, i);
      if (y < 0 || y >= C)
        throw InputError("transformer: context label " + std::to_string(y) + " outside [0, " + std::to_string(C) + ")");
      ws.x0.row(b * T + 2 * i) = ws.input_tokens.row(b * (L + 1) + i) + positional_.row(i);
      ws.x0.row(b * T + 2 * i + 1) = Wl.row(y) + bl + positional_.row(i);  // one-hot · W = row gather
    }
    ws.x0.row(b * T + 2 * L) = ws.input_tokens.row(b * (L + 1) + L) + positional_.row(L);
  }

  // ---- blocks ----
  const RowMat<S>* x_in = &ws.x0;
  for (int l = 0; l < config_.num_blocks; ++l) {
    const BlockParams& P = blocks_[l];
    auto& k = ws.blocks[l];
    const int Tq = k.queries, Nq = B * Tq;
    const auto Wqkv = store_.value(P.w_qkv);
    const auto bqkv = store_.vec(P.b_qkv);
    layers::layernorm_forward<S>(*x_in, store_.vec(P.ln1_g), store_.vec(P.ln1_b), k.h1, k.ln1_xhat, k.ln1_rstd.data());
    const S* q;
    int q_stride;
    if (Tq == T) {
      layers::dense_forward<S>(k.h1, Wqkv, bqkv, k.qkv);
      q = k.qkv.data();
      q_stride = 3 * E;
    } else {  // K, V for all tokens; Q for the queried rows only
      layers::dense_forward<S>(k.h1, Wqkv.rightCols(2 * E), bqkv.tail(2 * E), k.qkv.rightCols(2 * E));
      for (int b = 0; b < B; ++b)
        for (int i = 0; i < Tq; ++i) k.hq.row(b * Tq + i) = k.h1.row(b * T + T - Tq + i);
      layers::dense_forward<S>(k.hq.topRows(Nq), Wqkv.leftCols(E), bqkv.head(E), k.q.topRows(Nq));
      q = k.q.data();
      q_stride = E;
    }
    const layers::AttentionShape shape{B, T, Tq, config_.num_heads, config_.head_dim()};
    layers::attention_forward<S>(shape, q, q_stride, k.qkv.data() + E, k.qkv.data() + 2 * E, 3 * E, k.probs.data(), k.attn.data(), E);
    layers::dense_forward<S>(k.attn, store_.value(P.w_o), store_.vec(P.b_o), k.x_mid);
    if (Tq == T) {
      k.x_mid += *x_in;
    } else {
      for (int b = 0; b < B; ++b)
        for (int i = 0; i < Tq; ++i) k.x_mid.row(b * Tq + i) += x_in->row(b * T + T - Tq + i);
    }
    layers::layernorm_forward<S>(k.x_mid, store_.vec(P.ln2_g), store_.vec(P.ln2_b), k.h2, k.ln2_xhat, k.ln2_rstd.data());
    layers::dense_forward<S>(k.h2, store_.value(P.w_1), store_.vec(P.b_1), k.pre);
    layers::gelu_forward<S>(k.pre, k.tanh, k.act);
    layers::dense_forward<S>(k.act, store_.value(P.w_2), store_.vec(P.b_2), k.x_out);
    k.x_out += k.x_mid;
    x_in = &k.x_out;
  }
  // The last block has one query per sequence, so x_in is (B, E): the query tokens.
  layers::layernorm_forward<S>(*x_in, store_.vec(lnf_g_), store_.vec(lnf_b_), ws.hf, ws.lnf_xhat, ws.lnf_rstd.data());
  layers::dense_forward<S>(ws.hf, store_.value(out_w_), store_.vec(out_b_), ws.logits);
}

template <class S>
void TransformerT<S>::backward(const Batch& batch, Workspace& ws) {
  const int B = batch.size, L = batch.num_contexts, T = 2 * L + 1, E = config_.embed_dim, N = B * T;
  // d_logits was filled by the loss.
  layers::dense_backward_params<S>(ws.hf, ws.d_logits, store_.grad(out_w_), store_.dvec(out_b_));
  layers::dense_backward_input<S>(ws.d_logits, store_.value(out_w_), ws.d_hf);
  ws.d_top.setZero();
  layers::layernorm_backward<S>(ws.d_hf, ws.lnf_xhat, ws.lnf_rstd.data(), store_.vec(lnf_g_), store_.dvec(lnf_g_), store_.dvec(lnf_b_),
                                ws.d_top);

  RowMat<S>* d_out = &ws.d_top;  // gradient wrt the current block's output (Nq, E)
  for (int l = config_.num_blocks - 1; l >= 0; --l) {
    const BlockParams& P = blocks_[l];
    auto& k = ws.blocks[l];
    const int Tq = k.queries, Nq = B * Tq;
    RowMat<S>* d_in = (d_out == &ws.d_a) ? &ws.d_b : &ws.d_a;  // (N, E)
    auto d_xmid = ws.d_xmid.topRows(Nq);
    auto d_act = ws.d_act.topRows(Nq);
    auto d_pre = ws.d_pre.topRows(Nq);
    auto d_h2 = ws.d_h2.topRows(Nq);
    auto d_attn = ws.d_attn.topRows(Nq);
    const auto dout = d_out->topRows(Nq);

    // MLP branch: x_out = x_mid + W2·GELU(W1·LN2(x_mid) + b1) + b2
    d_xmid = dout;
    layers::dense_backward_params<S>(k.act, dout, store_.grad(P.w_2), store_.dvec(P.b_2));
    layers::dense_backward_input<S>(dout, store_.value(P.w_2), d_act);
    layers::gelu_backward<S>(k.pre, k.tanh, d_act, d_pre);
    layers::dense_backward_params<S>(k.h2, d_pre, store_.grad(P.w_1), store_.dvec(P.b_1));
    layers::dense_backward_input<S>(d_pre, store_.value(P.w_1), d_h2);
    layers::layernorm_backward<S>(d_h2, k.ln2_xhat, k.ln2_rstd.data(), store_.vec(P.ln2_g), store_.dvec(P.ln2_g), store_.dvec(P.ln2_b),
                                  d_xmid);
    // Attention branch: x_mid = x_in + Wo·Attn(LN1(x_in)) + bo
    layers::dense_backward_params<S>(k.attn, d_xmid, store_.grad(P.w_o), store_.dvec(P.b_o));
    layers::dense_backward_input<S>(d_xmid, store_.value(P.w_o), d_attn);
    const layers::AttentionShape shape{B, T, Tq, config_.num_heads, config_.head_dim()};
    auto dWqkv = store_.grad(P.w_qkv);
    auto dbqkv = store_.dvec(P.b_qkv);
    const auto Wqkv = store_.value(P.w_qkv);
    if (Tq == T) {
      layers::attention_backward<S>(shape, k.qkv.data(), 3 * E, k.qkv.data() + E, k.qkv.data() + 2 * E, 3 * E, k.probs.data(),
                                    ws.d_attn.data(), E, ws.d_qkv.data(), 3 * E, ws.d_qkv.data() + E, ws.d_qkv.data() + 2 * E, 3 * E);
      layers::dense_backward_params<S>(k.h1, ws.d_qkv, dWqkv, dbqkv);
      layers::dense_backward_input<S>(ws.d_qkv, Wqkv, ws.d_h);
      *d_in = d_xmid;
    } else {
      layers::attention_backward<S>(shape, k.q.data(), E, k.qkv.data() + E, k.qkv.data() + 2 * E, 3 * E, k.probs.data(),
                                    ws.d_attn.data(), E, ws.d_q.data(), E, ws.d_qkv.data() + E, ws.d_qkv.data() + 2 * E, 3 * E);
      const auto d_kv = ws.d_qkv.rightCols(2 * E);
      layers::dense_backward_params<S>(k.h1, d_kv, dWqkv.rightCols(2 * E), dbqkv.tail(2 * E));
      layers::dense_backward_input<S>(d_kv, Wqkv.rightCols(2 * E), ws.d_h);
      const auto d_q = ws.d_q.topRows(Nq);
      layers::dense_backward_params<S>(k.hq.topRows(Nq), d_q, dWqkv.leftCols(E), dbqkv.head(E));
      layers::dense_backward_input<S>(d_q, Wqkv.leftCols(E), ws.d_hq.topRows(Nq));
      d_in->setZero();
      for (int b = 0; b < B; ++b)
        for (int i = 0; i < Tq; ++i) {
          ws.d_h.row(b * T + T - Tq + i) += ws.d_hq.row(b * Tq + i);
          d_in->row(b * T + T - Tq + i) = d_xmid.row(b * Tq + i);
        }
    }
    layers::layernorm_backward<S>(ws.d_h, k.ln1_xhat, k.ln1_rstd.data(), store_.vec(P.ln1_g), store_.dvec(P.ln1_g), store_.dvec(P.ln1_b),
                                  *d_in);
    d_out = d_in;
  }

  // ---- tokens ----
  auto dWl = store_.grad(label_w_);
  auto dbl = store_.dvec(label_b_);
  for (int b = 0; b < B; ++b)
    for (int i = 0; i < L; ++i) {
      const auto g = d_out->row(b * T + 2 * i + 1);
      dWl.row(batch.label(b, i)) += g;
      dbl += g;
    }
  if (tokenizer_->trainable()) {
    for (int b = 0; b < B; ++b)
      for (int i = 0; i <= L; ++i) ws.d_input_tokens.row(b * (L + 1) + i) = d_out->row(b * T + 2 * i);
    tokenizer_->backward(store_, ws.d_input_tokens);
  }
  (void)N;
}

template <class S>
double TransformerT<S>::loss_and_gradient(const Batch& batch) {
  Workspace& ws = *train_ws_;
  forward(batch, ws, true);
  const double loss = layers::softmax_cross_entropy<S>(ws.logits, batch.labels.data() + batch.num_contexts, batch.num_contexts + 1, ws.d_logits);
  store_.zero_grad();
  if (std::isfinite(loss)) backward(batch, ws);
  return loss;
}

template <class S>
double TransformerT<S>::loss(const Batch& batch) {
  Workspace& ws = *infer_ws_;
  forward(batch, ws, false);
  return layers::softmax_cross_entropy<S>(ws.logits, batch.labels.data() + batch.num_contexts, batch.num_contexts + 1, ws.d_logits);
}

template <class S>
float TransformerT<S>::train_step(const Batch& batch) {
  const double loss = loss_and_gradient(batch);
  if (!std::isfinite(loss)) return static_cast<float>(loss);
  // A finite loss with a non-finite gradient still means divergence: report it through the loss.
  // Σ 0·g is NaN iff some g is not finite; Eigen's packet reduction keeps this cheap.
  const S check = (Eigen::Map<const Eigen::Array<S, Eigen::Dynamic, 1>>(store_.grads.data(), store_.grads.size()) * S(0)).sum();
  if (!std::isfinite(check)) return std::numeric_limits<float>::quiet_NaN();
  const double lr = config_.learning_rate_at(adam_.steps());  // steps() = t of this update, from 0
  apply_weight_decay(config_.weight_decay, lr, store_.values, store_.grads, decay_ranges_);
  adam_.set_learning_rate(lr);
  adam_.step(store_.values, store_.grads);
  return static_cast<float>(loss);
}

template <class S>
void TransformerT<S>::logits(const Batch& batch, Eigen::MatrixXf& out) {
  Workspace& ws = *infer_ws_;
  forward(batch, ws, false);
  out = ws.logits.template cast<float>();
}

template <class S>
std::vector<float> TransformerT<S>::parameter_values() const {
  std::vector<float> v(store_.values.size());
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(store_.values[i]);
  return v;
}

template <class S>
void TransformerT<S>::set_parameter_values(const std::vector<float>& values) {
  if (values.size() != store_.values.size())
    throw InputError("transformer: " + std::to_string(values.size()) + " parameter values given, the model has " +
                     std::to_string(store_.values.size()));
  for (std::size_t i = 0; i < values.size(); ++i) store_.values[i] = static_cast<S>(values[i]);
}

template <class S>
double TransformerT<S>::train_step_flops(int B, int L) const {
  return transformer_train_step_flops(config_, num_classes_, B, L);
}

double transformer_train_step_flops(const ModelConfig& config, int num_classes, int B, int L) {
  const double E = config.embed_dim, F = config.hidden_dim(), C = num_classes, T = 2.0 * L + 1, N = B * T;
  double fwd = 0;
  for (int l = 0; l < config.num_blocks; ++l) {
    const bool last = l + 1 == config.num_blocks;
    const double Tq = last ? 1 : T, Nq = B * Tq;
    fwd += 2 * N * E * (last ? 2 * E : 3 * E) + (last ? 2 * Nq * E * E : 0);  // QKV (or KV + Q)
    double pairs = 0;                                                         // (query, key) pairs with key <= query
    for (int i = 0; i < Tq; ++i) pairs += T - Tq + i + 1;
    fwd += 2 * 2 * B * pairs * E;                      // QKᵀ and PV over all heads
    fwd += 2 * Nq * E * E + 2 * 2 * Nq * E * F;        // out projection, MLP
  }
  fwd += 2.0 * B * E * C;  // readout
  return 3 * fwd;          // backward: two GEMMs (input and weight gradient) per forward GEMM
}

template class TransformerT<float>;
template class TransformerT<double>;

}  // namespace icl
