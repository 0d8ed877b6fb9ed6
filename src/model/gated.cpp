#include "iclsweep/model/gated.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "iclsweep/core/error.hpp"
#include "iclsweep/model/layers.hpp"

namespace icl {
namespace gated {

template <class S>
void relu_forward(MatRef<S> Y) {
  Y = Y.cwiseMax(S(0));
}
template <class S>
void relu_backward(const CMatRef<S>& Y, MatRef<S> dY) {
  dY.array() = (Y.array() > S(0)).select(dY.array(), S(0));
}

template <class S>
S temperature(S theta, IcTemperature kind, S offset) {
  return (kind == IcTemperature::DoubleExp ? std::exp(std::exp(theta)) : std::exp(theta)) + offset;
}
template <class S>
S temperature_derivative(S theta, IcTemperature kind) {
  // d/dθ exp(exp θ) = exp(exp θ)·exp θ
  return kind == IcTemperature::DoubleExp ? std::exp(std::exp(theta)) * std::exp(theta) : std::exp(theta);
}

template <class S>
void ic_forward(const CMatRef<S>& X, const std::int32_t* labels, int L, int D, S T, MatRef<S> s, MatRef<S> w, MatRef<S> h) {
  const Eigen::Index B = X.rows();
  const int C = static_cast<int>(h.cols());
  h.setZero();
  for (Eigen::Index b = 0; b < B; ++b) {
    const auto xq = X.row(b).segment(static_cast<Eigen::Index>(L) * D, D);
    S mx = -std::numeric_limits<S>::infinity();
    for (int i = 0; i < L; ++i) {
      s(b, i) = -(X.row(b).segment(static_cast<Eigen::Index>(i) * D, D) - xq).squaredNorm();
      mx = std::max(mx, s(b, i) / T);
    }
    S sum = 0;
    for (int i = 0; i < L; ++i) sum += (w(b, i) = std::exp(s(b, i) / T - mx));
    const std::int32_t* y = labels + b * (L + 1);
    for (int i = 0; i < L; ++i) {
      w(b, i) /= sum;
      if (y[i] < 0 || y[i] >= C)
        throw InputError("gated model: context label " + std::to_string(y[i]) + " outside [0, " + std::to_string(C) + ")");
      h(b, y[i]) += w(b, i);
    }
  }
}

template <class S>
S ic_backward_theta(const CMatRef<S>& dh, const std::int32_t* labels, int L, const CMatRef<S>& s, const CMatRef<S>& w, S T,
                    S dT_dtheta) {
  // z_i = s_i / T, so dz_i/dT = −s_i / T². With L = 1, w = 1 and dz = w(dw − w·dw) is exactly 0.
  S dT = 0;
  for (Eigen::Index b = 0; b < dh.rows(); ++b) {
    const std::int32_t* y = labels + b * (L + 1);
    S dot = 0;
    for (int i = 0; i < L; ++i) dot += w(b, i) * dh(b, y[i]);
    for (int i = 0; i < L; ++i) {
      const S dz = w(b, i) * (dh(b, y[i]) - dot);
      dT += dz * (-s(b, i) / (T * T));
    }
  }
  return dT * dT_dtheta;
}

template <class S>
void log_floor_forward(const CMatRef<S>& x, S floor, MatRef<S> o) {
  o = x.cwiseMax(floor).array().log().matrix();
}
template <class S>
void log_floor_backward(const CMatRef<S>& x, S floor, const CMatRef<S>& d_o, MatRef<S> dx) {
  dx.array() = (x.array() > floor).select(d_o.array() / x.array(), S(0));
}

template <class S>
void mixture_forward(const CMatRef<S>& h, const CMatRef<S>& p, const S* a, S floor, MatRef<S> f) {
  for (Eigen::Index b = 0; b < h.rows(); ++b)
    f.row(b) = ((S(1) - a[b]) * h.row(b) + a[b] * p.row(b)).cwiseMax(floor);
}
template <class S>
void mixture_backward(const CMatRef<S>& h, const CMatRef<S>& p, const S* a, const CMatRef<S>& df, MatRef<S> dh, MatRef<S> dp,
                      S* da) {
  for (Eigen::Index b = 0; b < h.rows(); ++b) {
    dh.row(b) = (S(1) - a[b]) * df.row(b);
    dp.row(b) = a[b] * df.row(b);
    da[b] = df.row(b).dot(p.row(b) - h.row(b));
  }
}

#define ICL_GATED_INSTANTIATE(S)                                                                                         \
  template void relu_forward<S>(MatRef<S>);                                                                             \
  template void relu_backward<S>(const CMatRef<S>&, MatRef<S>);                                                         \
  template S temperature<S>(S, IcTemperature, S);                                                                       \
  template S temperature_derivative<S>(S, IcTemperature);                                                               \
  template void ic_forward<S>(const CMatRef<S>&, const std::int32_t*, int, int, S, MatRef<S>, MatRef<S>, MatRef<S>);    \
  template S ic_backward_theta<S>(const CMatRef<S>&, const std::int32_t*, int, const CMatRef<S>&, const CMatRef<S>&, S, \
                                  S);                                                                                   \
  template void log_floor_forward<S>(const CMatRef<S>&, S, MatRef<S>);                                                  \
  template void log_floor_backward<S>(const CMatRef<S>&, S, const CMatRef<S>&, MatRef<S>);                              \
  template void mixture_forward<S>(const CMatRef<S>&, const CMatRef<S>&, const S*, S, MatRef<S>);                       \
  template void mixture_backward<S>(const CMatRef<S>&, const CMatRef<S>&, const S*, const CMatRef<S>&, MatRef<S>,       \
                                    MatRef<S>, S*);
ICL_GATED_INSTANTIATE(float)
ICL_GATED_INSTANTIATE(double)
#undef ICL_GATED_INSTANTIATE

}  // namespace gated

// Activations of one forward pass and the backward scratch, sized for one batch size B.
template <class S>
struct GatedModelT<S>::Workspace {
  int batch = -1;
  RowMat<S> X;                            // (B, (L+1)·D) the batch's inputs; the query is the last D columns
  RowMat<S> g1, g2, g_logits, p_g;        // (B, F), (B, F), (B, C), (B, C)
  RowMat<S> s, w, h, o_h;                 // (B, L), (B, L), (B, C), (B, C)
  RowMat<S> a1, a2, u;                    // (B, F), (B, F), (B, 1)
  std::vector<S> alpha;                   // (B)
  RowMat<S> f, o;                         // (B, C) clipped mixture and its log
  RowMat<S> d_o, d_f, d_h, d_p, d_glogits; // (B, C)
  RowMat<S> d_1, d_2, d_u;                // (B, F), (B, F), (B, 1)
  std::vector<S> d_alpha;                 // (B)

  void ensure(int B, int L, int D, int C, int F) {
    if (B == batch) return;
    batch = B;
    X.resize(B, (L + 1) * D);
    g1.resize(B, F);
    g2.resize(B, F);
    g_logits.resize(B, C);
    p_g.resize(B, C);
    s.resize(B, std::max(L, 1));
    w.resize(B, std::max(L, 1));
    h.resize(B, C);
    o_h.resize(B, C);
    a1.resize(B, F);
    a2.resize(B, F);
    u.resize(B, 1);
    alpha.resize(B);
    f.resize(B, C);
    o.resize(B, C);
    d_o.resize(B, C);
    d_f.resize(B, C);
    d_h.resize(B, C);
    d_p.resize(B, C);
    d_glogits.resize(B, C);
    d_1.resize(B, F);
    d_2.resize(B, F);
    d_u.resize(B, 1);
    d_alpha.resize(B);
  }
};

namespace {

template <class S>
void mlp_forward(ParamStore<S>& st, int w1, const CMatRef<S>& X, RowMat<S>& y1, RowMat<S>& y2, MatRef<S> out) {
  // w1, b1, w2, b2, w3, b3 are consecutive tensor indices.
  layers::dense_forward<S>(X, st.value(w1), st.vec(w1 + 1), y1);
  gated::relu_forward<S>(y1);
  layers::dense_forward<S>(y1, st.value(w1 + 2), st.vec(w1 + 3), y2);
  gated::relu_forward<S>(y2);
  layers::dense_forward<S>(y2, st.value(w1 + 4), st.vec(w1 + 5), out);
}

// d_out (B, out) -> parameter gradients (accumulated). d1, d2 are scratch; X gets no gradient (inputs).
template <class S>
void mlp_backward(ParamStore<S>& st, int w1, const CMatRef<S>& X, const RowMat<S>& y1, const RowMat<S>& y2, const CMatRef<S>& d_out,
                  RowMat<S>& d1, RowMat<S>& d2) {
  layers::dense_backward_params<S>(y2, d_out, st.grad(w1 + 4), st.dvec(w1 + 5));
  layers::dense_backward_input<S>(d_out, st.value(w1 + 4), d2);
  gated::relu_backward<S>(y2, d2);
  layers::dense_backward_params<S>(y1, d2, st.grad(w1 + 2), st.dvec(w1 + 3));
  layers::dense_backward_input<S>(d2, st.value(w1 + 2), d1);
  gated::relu_backward<S>(y1, d1);
  layers::dense_backward_params<S>(X, d1, st.grad(w1), st.dvec(w1 + 1));
}

}  // namespace

template <class S>
GatedModelT<S>::GatedModelT(const GatedConfig& config, int num_classes, int num_contexts, int input_dim, std::uint64_t seed)
    : config_(config), num_classes_(num_classes), num_contexts_(num_contexts), input_dim_(input_dim), adam_(3e-4) {
  if (num_classes < 2) throw InputError("gated model: num_classes = " + std::to_string(num_classes) + " must be >= 2");
  if (num_contexts < 1) throw InputError("gated model: num_contexts = " + std::to_string(num_contexts) + " must be >= 1");
  if (input_dim < 1) throw InputError("gated model: input_dim = " + std::to_string(input_dim) + " must be >= 1");
  if (config.hidden < 1) throw InputError("gated model: hidden width " + std::to_string(config.hidden) + " must be >= 1");
  const int D = input_dim, F = config.hidden, C = num_classes, A = (num_contexts + 1) * input_dim;
  // Tensor order fixes the ModelInit sub-ids (g 0..5, θ 6, α 7..12): never reorder.
  auto mlp = [&](const std::string& p, int in, int out) {
    Mlp m;
    m.w1 = store_.add(p + "/w1", in, F, Init::LecunNormal, in);
    m.b1 = store_.add(p + "/b1", 1, F, Init::Zeros);
    m.w2 = store_.add(p + "/w2", F, F, Init::LecunNormal, F);
    m.b2 = store_.add(p + "/b2", 1, F, Init::Zeros);
    m.w3 = store_.add(p + "/w3", F, out, Init::LecunNormal, F);
    m.b3 = store_.add(p + "/b3", 1, out, Init::Zeros);
    return m;
  };
  g_ = mlp("g", D, C);
  theta_ = store_.add("h/theta", 1, 1, Init::Zeros);
  a_ = mlp("alpha", A, 1);
  store_.finalize();
  store_.initialize(seed);
  adam_.reset(store_.values.size());
  train_ws_ = std::make_unique<Workspace>();
  infer_ws_ = std::make_unique<Workspace>();
}

template <class S>
GatedModelT<S>::~GatedModelT() = default;

template <class S>
S GatedModelT<S>::temperature() const {
  return gated::temperature<S>(theta(), config_.temperature, static_cast<S>(config_.temperature_offset));
}

template <class S>
void GatedModelT<S>::set_stage(GatedOutput output, GatedTrainable trainable, GatedOptimizer optimizer, double learning_rate) {
  if (!(learning_rate > 0)) throw InputError("gated model: learning rate " + std::to_string(learning_rate) + " must be > 0");
  output_ = output;
  trainable_ = trainable;
  optimizer_ = optimizer;
  learning_rate_ = learning_rate;
  adam_.set_learning_rate(learning_rate);
  adam_.reset(store_.values.size());
}

template <class S>
void GatedModelT<S>::check_batch(const Batch& batch) const {
  if (batch.size < 1) throw InputError("gated model: empty batch");
  if (batch.num_contexts != num_contexts_)
    throw InputError("gated model: batch has L = " + std::to_string(batch.num_contexts) + " contexts, the model was built for L = " +
                     std::to_string(num_contexts_) + " (the gate reads all L+1 inputs)");
  if (batch.input_dim != input_dim_)
    throw InputError("gated model: batch input_dim = " + std::to_string(batch.input_dim) + ", model expects " + std::to_string(input_dim_));
  if (batch.num_classes != num_classes_)
    throw InputError("gated model: batch has C = " + std::to_string(batch.num_classes) + " classes, model has " +
                     std::to_string(num_classes_));
}

template <class S>
void GatedModelT<S>::forward(const Batch& batch, Workspace& ws, bool need_g, bool need_h, bool need_alpha) {
  check_batch(batch);
  const int B = batch.size, L = num_contexts_, D = input_dim_, C = num_classes_;
  ws.ensure(B, L, D, C, config_.hidden);
  ws.X = CMatMap<float>(batch.inputs.data(), B, (L + 1) * D).template cast<S>();
  if (need_g) {
    mlp_forward<S>(store_, g_.w1, ws.X.rightCols(D), ws.g1, ws.g2, ws.g_logits);
    for (int b = 0; b < B; ++b) {  // p_g = softmax(g logits)  (B, C)
      const S mx = ws.g_logits.row(b).maxCoeff();
      ws.p_g.row(b) = (ws.g_logits.row(b).array() - mx).exp().matrix();
      ws.p_g.row(b) /= ws.p_g.row(b).sum();
    }
  }
  if (need_h) {
    gated::ic_forward<S>(ws.X, batch.labels.data(), L, D, temperature(), ws.s, ws.w, ws.h);
    gated::log_floor_forward<S>(ws.h, static_cast<S>(config_.h_floor), ws.o_h);
  }
  if (need_alpha) {
    mlp_forward<S>(store_, a_.w1, ws.X, ws.a1, ws.a2, ws.u);
    for (int b = 0; b < B; ++b) ws.alpha[b] = S(1) / (S(1) + std::exp(-ws.u(b, 0)));
    const S floor = static_cast<S>(config_.mixture_floor);
    gated::mixture_forward<S>(ws.h, ws.p_g, ws.alpha.data(), floor, ws.f);
    gated::log_floor_forward<S>(ws.f, floor, ws.o);
  }
}

template <class S>
double GatedModelT<S>::loss_and_backward(const Batch& batch, Workspace& ws, bool backward) {
  const int L = num_contexts_, D = input_dim_;
  const std::int32_t* targets = batch.labels.data() + L;
  const int stride = L + 1;
  if (backward) store_.zero_grad();  // loss() leaves the gradients alone (the gradient checker relies on it)
  switch (output_) {
    case GatedOutput::InWeight: {
      forward(batch, ws, true, false, false);
      const double loss = layers::softmax_cross_entropy<S>(ws.g_logits, targets, stride, ws.d_glogits);
      if (backward && trainable_.g && std::isfinite(loss))
        mlp_backward<S>(store_, g_.w1, ws.X.rightCols(D), ws.g1, ws.g2, ws.d_glogits, ws.d_1, ws.d_2);
      return loss;
    }
    case GatedOutput::InContext: {
      forward(batch, ws, false, true, false);
      const double loss = layers::softmax_cross_entropy<S>(ws.o_h, targets, stride, ws.d_o);
      if (backward && trainable_.h && std::isfinite(loss)) {
        gated::log_floor_backward<S>(ws.h, static_cast<S>(config_.h_floor), ws.d_o, ws.d_h);
        store_.grads[store_.tensors[theta_].offset] = gated::ic_backward_theta<S>(
            ws.d_h, batch.labels.data(), L, ws.s, ws.w, temperature(), gated::temperature_derivative<S>(theta(), config_.temperature));
      }
      return loss;
    }
    case GatedOutput::Mixture: {
      forward(batch, ws, true, true, true);
      const double loss = layers::softmax_cross_entropy<S>(ws.o, targets, stride, ws.d_o);
      if (!backward || !std::isfinite(loss)) return loss;
      gated::log_floor_backward<S>(ws.f, static_cast<S>(config_.mixture_floor), ws.d_o, ws.d_f);
      gated::mixture_backward<S>(ws.h, ws.p_g, ws.alpha.data(), ws.d_f, ws.d_h, ws.d_p, ws.d_alpha.data());
      if (trainable_.g) {
        for (int b = 0; b < batch.size; ++b) {  // softmax backward: dlogits = p ⊙ (dp − p·dp)
          const S dot = ws.p_g.row(b).dot(ws.d_p.row(b));
          ws.d_glogits.row(b) = ws.p_g.row(b).cwiseProduct((ws.d_p.row(b).array() - dot).matrix());
        }
        mlp_backward<S>(store_, g_.w1, ws.X.rightCols(D), ws.g1, ws.g2, ws.d_glogits, ws.d_1, ws.d_2);
      }
      if (trainable_.h)
        store_.grads[store_.tensors[theta_].offset] = gated::ic_backward_theta<S>(
            ws.d_h, batch.labels.data(), L, ws.s, ws.w, temperature(), gated::temperature_derivative<S>(theta(), config_.temperature));
      if (trainable_.alpha) {
        for (int b = 0; b < batch.size; ++b) ws.d_u(b, 0) = ws.d_alpha[b] * ws.alpha[b] * (S(1) - ws.alpha[b]);
        mlp_backward<S>(store_, a_.w1, ws.X, ws.a1, ws.a2, ws.d_u, ws.d_1, ws.d_2);
      }
      return loss;
    }
  }
  return std::numeric_limits<double>::quiet_NaN();
}

template <class S>
double GatedModelT<S>::loss_and_gradient(const Batch& batch) {
  return loss_and_backward(batch, *train_ws_, true);
}

template <class S>
double GatedModelT<S>::loss(const Batch& batch) {
  return loss_and_backward(batch, *infer_ws_, false);
}

template <class S>
float GatedModelT<S>::train_step(const Batch& batch) {
  const double loss = loss_and_gradient(batch);
  if (!std::isfinite(loss)) return static_cast<float>(loss);
  // Σ 0·g is NaN iff some gradient is not finite.
  const S check = (Eigen::Map<const Eigen::Array<S, Eigen::Dynamic, 1>>(store_.grads.data(), static_cast<Eigen::Index>(store_.grads.size())) * S(0)).sum();
  if (!std::isfinite(check)) return std::numeric_limits<float>::quiet_NaN();
  if (optimizer_ == GatedOptimizer::Adam) {
    // Frozen parts have zero gradient and (after set_stage) zero moments, so Adam moves them by exactly 0.
    adam_.step(store_.values, store_.grads);
  } else {
    const Eigen::Index n = static_cast<Eigen::Index>(store_.values.size());
    Eigen::Map<Eigen::Array<S, Eigen::Dynamic, 1>>(store_.values.data(), n) -=
        static_cast<S>(learning_rate_) * Eigen::Map<const Eigen::Array<S, Eigen::Dynamic, 1>>(store_.grads.data(), n);
  }
  return static_cast<float>(loss);
}

template <class S>
void GatedModelT<S>::logits(const Batch& batch, Eigen::MatrixXf& out) {
  Workspace& ws = *infer_ws_;
  switch (output_) {
    case GatedOutput::InWeight:
      forward(batch, ws, true, false, false);
      out = ws.g_logits.template cast<float>();
      return;
    case GatedOutput::InContext:
      forward(batch, ws, false, true, false);
      out = ws.o_h.template cast<float>();
      return;
    case GatedOutput::Mixture:
      forward(batch, ws, true, true, true);
      out = ws.o.template cast<float>();
      return;
  }
}

template <class S>
void GatedModelT<S>::outputs(const Batch& batch, Outputs& out) {
  Workspace& ws = *infer_ws_;
  forward(batch, ws, true, true, true);
  out.g_logits = ws.g_logits.template cast<float>();
  out.p_g = ws.p_g.template cast<float>();
  out.h = ws.h.template cast<float>();
  out.ic_logits = ws.o_h.template cast<float>();
  out.f_logits = ws.o.template cast<float>();
  out.alpha = Eigen::Map<const ColVec<S>>(ws.alpha.data(), batch.size).template cast<float>();
}

template <class S>
std::vector<float> GatedModelT<S>::parameter_values() const {
  std::vector<float> v(store_.values.size());
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(store_.values[i]);
  return v;
}

template <class S>
void GatedModelT<S>::set_parameter_values(const std::vector<float>& values) {
  if (values.size() != store_.values.size())
    throw InputError("gated model: " + std::to_string(values.size()) + " parameter values given, the model has " +
                     std::to_string(store_.values.size()));
  for (std::size_t i = 0; i < values.size(); ++i) store_.values[i] = static_cast<S>(values[i]);
}

template <class S>
double GatedModelT<S>::train_step_flops(int B) const {
  const double D = input_dim_, F = config_.hidden, C = num_classes_, L = num_contexts_, A = (L + 1) * D;
  const double g = 2.0 * B * (D * F + F * F + F * C);
  const double a = 2.0 * B * (A * F + F * F + F);
  const double h = 3.0 * B * L * D;
  switch (output_) {
    case GatedOutput::InWeight: return 3 * g;
    case GatedOutput::InContext: return 2 * h;
    case GatedOutput::Mixture: return (trainable_.g ? 3 : 1) * g + 2 * h + (trainable_.alpha ? 2.5 : 1) * a;  // α: no input grad
  }
  return 0;
}

template class GatedModelT<float>;
template class GatedModelT<double>;

}  // namespace icl
