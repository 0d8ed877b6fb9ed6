#pragma once
// The in-context supervised transformer of PAPER-SPEC §2.
//
// Tokens: 2L+1 per sequence, [x_1+PE0, y_1+PE0, …, x_L+PE(L−1), y_L+PE(L−1), x_q+PE(L)], held as one
// row-major (B·T, E) matrix so every Dense is one GEMM over the whole batch. Pre-LN blocks, causal
// attention, final LN, readout Dense(E→C) at the query token, softmax CE, Adam.
//
// Speed: the readout looks at the query token only, so the LAST block computes K and V for every
// token but Q, attention, output projection and MLP for the query row alone (exactly the same
// numbers as the full computation, about 40% fewer FLOPs for 2 blocks).
//
// TransformerT<double> exists for finite-difference gradient checks; training uses Transformer (float).
#include <cstdint>
#include <memory>
#include <vector>

#include "iclsweep/core/batch.hpp"
#include "iclsweep/model/config.hpp"
#include "iclsweep/model/model.hpp"
#include "iclsweep/model/param_store.hpp"
#include "iclsweep/model/tokenizer.hpp"

namespace icl {

template <class S>
class TransformerT final : public Model {
 public:
  // num_contexts: the largest L a batch may have (sizes the positional table). seed: the run seed;
  // tensor i is drawn from Philox(stream_key(seed, Purpose::ModelInit, i), 0).
  TransformerT(const ModelConfig& config, int num_classes, int num_contexts, int input_dim, std::uint64_t seed);
  ~TransformerT() override;

  float train_step(const Batch& batch) override;
  void logits(const Batch& batch, Eigen::MatrixXf& out) override;
  std::size_t num_parameters() const override { return num_trainable_; }
  std::vector<float> parameter_values() const override;
  void set_parameter_values(const std::vector<float>& values) override;

  // Forward + backward without an optimizer step: store().grads holds dLoss/dparams afterwards
  // (zeroed first). Returns the loss. Used by train_step and by the gradient checks.
  double loss_and_gradient(const Batch& batch);
  // Forward only, training loss (no gradients).
  double loss(const Batch& batch);

  ParamStore<S>& store() { return store_; }
  const ParamStore<S>& store() const { return store_; }
  Adam<S>& optimizer() { return adam_; }
  const ModelConfig& config() const { return config_; }
  int num_classes() const { return num_classes_; }

  // Multiply-add FLOPs (2 per MAC) of the matmuls one train_step performs (dense GEMMs forward and
  // backward, attention QKᵀ and PV with the causal half counted), for GFLOP/s reports.
  double train_step_flops(int batch_size, int num_contexts) const;

 private:
  struct Workspace;
  struct BlockParams {
    int ln1_g, ln1_b, w_qkv, b_qkv, w_o, b_o, ln2_g, ln2_b, w_1, b_1, w_2, b_2;
  };

  void forward(const Batch& batch, Workspace& ws, bool keep_for_backward);
  void backward(const Batch& batch, Workspace& ws);

  ModelConfig config_;
  int num_classes_, max_contexts_, input_dim_;
  ParamStore<S> store_;
  Adam<S> adam_;
  std::vector<std::pair<std::size_t, std::size_t>> decay_ranges_;  // tensors train.weight_decay applies to
  std::unique_ptr<InputTokenizer<S>> tokenizer_;
  int label_w_ = -1, label_b_ = -1, lnf_g_ = -1, lnf_b_ = -1, out_w_ = -1, out_b_ = -1;
  std::vector<BlockParams> blocks_;
  RowMat<S> positional_;  // (max_contexts+1, E)
  std::size_t num_trainable_ = 0;
  std::unique_ptr<Workspace> train_ws_, infer_ws_;
};

using Transformer = TransformerT<float>;

// sin/cos positional table of §2: PE[p][j] = sin(p·30^(−2j/E)), PE[p][E/2+j] = cos(p·30^(−2j/E)).
// (positions, E); computed in double, rounded once.
RowMat<double> positional_encoding(int positions, int embed_dim);

// The same count from the configuration alone (the cost model prices points without building them).
double transformer_train_step_flops(const ModelConfig& config, int num_classes, int batch_size, int num_contexts);

}  // namespace icl
