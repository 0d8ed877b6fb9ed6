#pragma once
// The stylized gated model of PAPER-SPEC §3 (`SimpleICL`):
//
//   f(x̃) = α(x̃)·p_g(x_q) + (1 − α(x̃))·h(x̃)
//
//   g  (in-weight):   MLP on the query input only, Dense(64)-ReLU-Dense(64)-ReLU-Dense(C); p_g = softmax.
//   h  (in-context):  s_i = −‖x_i − x_q‖², w = softmax_i(s_i / T) over the L contexts,
//                     h = Σ_i w_i·onehot(y_i) with the OBSERVED context labels (no ε).
//                     T = exp(exp(θ)) + 1e-8 (double_exp, quirk Q8, default) or exp(θ) + 1e-8 (exp); θ init 0.
//   α  (gate, p_iwl): MLP Dense(64)-ReLU-Dense(64)-ReLU-Dense(1) on the flattened L+1 inputs; sigmoid.
//   mixture:          f = max((1−α)·h + α·p_g, 1e-8), o = log f, loss = softmax CE(o, noisy query label).
//
// One parameter store holds all three parts, in the order g (tensors 0..5), h (θ, tensor 6), α (7..12):
// the store's tensor index is the ModelInit sub-stream, so g, h and α initialisations are independent
// of each other and of the transformer's streams only through the seed. The *output* (which part the
// loss and logits() see) and the *trainable* set (whose gradients reach the optimizer) are switchable,
// so one object runs the whole protocol chain of §3: P0-g (output g, train g), P0-h (output h, train θ),
// then the mixture (P1: α; P2: α, g, θ; P3: α with SGD), with g and θ carried over from P0.
//
// Every part is a forward/backward pair templated on the scalar: GatedModelT<double> exists for
// finite-difference gradient checks; training uses GatedModel (float). Batched: each Dense is one GEMM
// over the batch; the α gate's first layer reads the batch's (B, (L+1)·D) inputs in place.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "iclsweep/core/batch.hpp"
#include "iclsweep/model/model.hpp"
#include "iclsweep/model/param_store.hpp"

namespace icl {

enum class IcTemperature { DoubleExp, Exp };
enum class GatedOutput { Mixture, InWeight, InContext };  // f, g alone, h alone
enum class GatedOptimizer { Adam, Sgd };

struct GatedTrainable {
  bool g = true, h = true, alpha = true;
};

struct GatedConfig {
  int hidden = 64;                                      // width of the g and α MLPs (§3)
  IcTemperature temperature = IcTemperature::DoubleExp; // model.ic_temperature
  double h_floor = 1e-7;                                // o_h = log(max(h, h_floor))
  double mixture_floor = 1e-8;                          // f = max(mixture, mixture_floor)
  double temperature_offset = 1e-8;                     // T = exp(exp θ) + offset
};

// Reusable pieces, exposed for the per-part gradient tests. All shapes are row-major, rows = sequences.
namespace gated {

// Y = ReLU(X) (N, F), in place allowed.  dX = dY ⊙ [Y > 0] (overwrites).
template <class S>
void relu_forward(MatRef<S> Y);
template <class S>
void relu_backward(const CMatRef<S>& Y, MatRef<S> dY);

// T(θ) and dT/dθ for the chosen parameterisation.
template <class S>
S temperature(S theta, IcTemperature kind, S offset);
template <class S>
S temperature_derivative(S theta, IcTemperature kind);

// h of §3 for B sequences of L contexts: inputs (B, (L+1)·D) [x_1 .. x_L, x_q]; labels (B, L+1) row
// stride L+1 (observed); out h (B, C); caches s (B, L) raw scores and w (B, L) softmax weights.
template <class S>
void ic_forward(const CMatRef<S>& inputs, const std::int32_t* labels, int L, int D, S T, MatRef<S> s, MatRef<S> w,
                MatRef<S> h);
// dL/dθ given dh (B, C): dw_i = dh[y_i]; dz = w ⊙ (dw − Σ w dw); dT = Σ dz·(−s/T²); returns dT·dT/dθ.
template <class S>
S ic_backward_theta(const CMatRef<S>& dh, const std::int32_t* labels, int L, const CMatRef<S>& s, const CMatRef<S>& w,
                    S T, S dT_dtheta);

// o = log(max(x, floor)) elementwise (B, C); backward dx = d_o / x where x > floor, else 0 (the clamp
// has zero slope; overwrites dx).
template <class S>
void log_floor_forward(const CMatRef<S>& x, S floor, MatRef<S> o);
template <class S>
void log_floor_backward(const CMatRef<S>& x, S floor, const CMatRef<S>& d_o, MatRef<S> dx);

// Mixture: f = max((1−a)·h + a·p, floor) (B, C), a (B). Its loss is the softmax CE of o = log f, i.e.
// −log f_y + log Σ_c f_c; with d_o from layers::softmax_cross_entropy, df = log_floor_backward(f, floor, d_o).
template <class S>
void mixture_forward(const CMatRef<S>& h, const CMatRef<S>& p, const S* a, S floor, MatRef<S> f);
// Given df (B, C): dh = (1−a)·df, dp = a·df (overwrite), da (B) = Σ_c df·(p − h).
template <class S>
void mixture_backward(const CMatRef<S>& h, const CMatRef<S>& p, const S* a, const CMatRef<S>& df, MatRef<S> dh,
                      MatRef<S> dp, S* da);

}  // namespace gated

template <class S>
class GatedModelT final : public Model {
 public:
  // input_dim = D; num_contexts = L (fixes the gate's input width (L+1)·D); seed = the run seed.
  GatedModelT(const GatedConfig& config, int num_classes, int num_contexts, int input_dim, std::uint64_t seed);
  ~GatedModelT() override;

  // ---- Model ----
  float train_step(const Batch& batch) override;
  // Logits of the current output: g logits (InWeight), o_h = log max(h, 1e-7) (InContext), o = log f (Mixture).
  void logits(const Batch& batch, Eigen::MatrixXf& out) override;
  std::size_t num_parameters() const override {
    std::size_t n = 0;  // tensor sizes, not the flat buffer (which may hold alignment padding)
    for (const auto& t : store_.tensors) n += t.size();
    return n;
  }
  std::vector<float> parameter_values() const override;
  void set_parameter_values(const std::vector<float>& values) override;

  // ---- protocol switches ----
  // Which part the loss and logits() use, and which parts the optimizer updates. Frozen parts get
  // exactly zero gradient. Both reset the optimizer state (a new stage starts with fresh moments).
  void set_stage(GatedOutput output, GatedTrainable trainable, GatedOptimizer optimizer, double learning_rate);
  GatedOutput output() const { return output_; }

  // Forward + backward of the current output's loss without an optimizer step; store().grads holds
  // dLoss/dparams (frozen parts zero). Returns the mean loss.
  double loss_and_gradient(const Batch& batch);
  double loss(const Batch& batch);  // forward only, current output

  // Everything one evaluation forward pass yields, for the §3 per-checkpoint metrics. All (B, ·).
  struct Outputs {
    Eigen::MatrixXf g_logits;  // (B, C) logits of g (p_g = softmax)
    Eigen::MatrixXf p_g;       // (B, C)
    Eigen::MatrixXf h;         // (B, C) h (a distribution over classes)
    Eigen::MatrixXf ic_logits; // (B, C) o_h = log max(h, 1e-7)
    Eigen::MatrixXf f_logits;  // (B, C) o = log f
    Eigen::VectorXf alpha;     // (B) p_iwl
  };
  void outputs(const Batch& batch, Outputs& out);

  S theta() const { return store_.values[store_.tensors[theta_].offset]; }
  S temperature() const;
  ParamStore<S>& store() { return store_; }
  const ParamStore<S>& store() const { return store_; }
  const GatedConfig& config() const { return config_; }
  int num_classes() const { return num_classes_; }
  int num_contexts() const { return num_contexts_; }
  // Tensor index ranges [first, last) of each part in store().tensors.
  std::pair<int, int> g_tensors() const { return {g_.w1, g_.b3 + 1}; }
  std::pair<int, int> h_tensors() const { return {theta_, theta_ + 1}; }
  std::pair<int, int> alpha_tensors() const { return {a_.w1, a_.b3 + 1}; }

  // Multiply-add FLOPs (2 per MAC) of one training step of the current stage, for throughput reports.
  double train_step_flops(int batch_size) const;

 private:
  struct Mlp {
    int w1 = -1, b1 = -1, w2 = -1, b2 = -1, w3 = -1, b3 = -1;
  };
  struct Workspace;
  void forward(const Batch& batch, Workspace& ws, bool need_g, bool need_h, bool need_alpha);
  double loss_and_backward(const Batch& batch, Workspace& ws, bool backward);
  void check_batch(const Batch& batch) const;

  GatedConfig config_;
  int num_classes_, num_contexts_, input_dim_;
  ParamStore<S> store_;
  Adam<S> adam_;
  Mlp g_, a_;
  int theta_ = -1;
  GatedOutput output_ = GatedOutput::Mixture;
  GatedTrainable trainable_;
  GatedOptimizer optimizer_ = GatedOptimizer::Adam;
  double learning_rate_ = 3e-4;
  std::unique_ptr<Workspace> train_ws_, infer_ws_;
};

using GatedModel = GatedModelT<float>;

}  // namespace icl
