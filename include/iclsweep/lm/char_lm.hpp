#pragma once
// The character-level causal transformer LM of the language-model analog (issue 13): the blocks of
// PAPER-SPEC §2 (pre-LN, tanh GELU, causal attention, PE base 30, final LN) with several heads, a
// trainable token embedding instead of the identity tokenizer, and a next-token readout Dense(E→V) at
// every position. Built from model/layers.hpp; CharLmT<double> exists for gradient checks.
//
// Activations are one row-major (B·T, E) matrix per layer, T = the batch's longest sequence (shorter
// ones are right-padded with PAD: causal attention never lets a pad token influence an earlier one, and
// pad targets carry weight 0). Buffers grow to the largest (B, T) seen and are never shrunk.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "iclsweep/lm/corpus.hpp"
#include "iclsweep/model/param_store.hpp"

namespace icl::lm {

struct LmConfig {
  int num_layers = 4;
  int embed_dim = 64;
  int num_heads = 4;
  int widening_factor = 4;
  int max_len = 160;  // longest sequence (sizes the positional table)
  int head_dim() const { return embed_dim / num_heads; }
  int hidden_dim() const { return embed_dim * widening_factor; }
  void validate() const;  // InputError naming the rule
};

// Sequences packed for the model: ids, next-token targets and per-position loss weights, all (B·T).
struct LmBatch {
  int batch = 0, seq = 0;
  std::vector<TokenId> ids, targets;
  std::vector<float> weights;
};

enum class LossOn { AllTokens, Answer };
// Packs sequences (each ≤ max_len tokens) right-padded to the longest. Position r predicts ids[r+1];
// AllTokens weighs every real next token, Answer only the answer's tokens (city and EOS).
void pack(const std::vector<const Sequence*>& sequences, LossOn loss_on, LmBatch& out);

// Which parameters fine-tuning updates (lm.finetune_params).
enum class ParamGroup { All, Mlp, AttentionV, Embedding };
ParamGroup param_group_from(const std::string& name);  // all | mlp | attn_v | embed; ParamError otherwise

enum class OptimizerKind { Adam, Sgd };

// Multiply-add FLOPs ×2 of one training step's matmuls at (B, T), causal attention counted as half.
double lm_train_step_flops(const LmConfig& config, int batch, int seq);
// Peak training memory: 16 bytes per parameter (weights, gradients, Adam moments) plus one batch of
// `batch` sequences of `seq` tokens through every layer (residual stream, MLP hidden, attention scores).
double lm_train_memory_bytes(const LmConfig& config, int batch, int seq);

template <class S>
class CharLmT {
 public:
  CharLmT(const LmConfig& config, std::uint64_t seed);
  ~CharLmT();

  // Forward + weighted CE + backward: store().grads = dLoss/dθ (zeroed first). Returns the loss.
  double loss_and_gradient(const LmBatch& batch);
  // Forward only: the weighted loss, and the logits (B·T, V) of the batch (valid until the next call).
  double loss(const LmBatch& batch);
  CMatMap<S> logits(const LmBatch& batch);
  // One optimizer step on the trainable group: returns the loss before the step, or a non-finite value
  // (parameters unchanged) when the loss or a gradient is not finite.
  double train_step(const LmBatch& batch);

  void set_optimizer(OptimizerKind kind, double learning_rate);  // resets Adam's moments
  void set_trainable(ParamGroup group);
  std::size_t num_trainable() const;  // entries the current group updates

  ParamStore<S>& store() { return store_; }
  const ParamStore<S>& store() const { return store_; }
  const LmConfig& config() const { return config_; }
  std::size_t num_parameters() const { return num_parameters_; }
  double train_step_flops(int batch, int seq) const { return lm_train_step_flops(config_, batch, seq); }

 private:
  struct Workspace;
  struct BlockParams {
    int ln1_g, ln1_b, w_qkv, b_qkv, w_o, b_o, ln2_g, ln2_b, w_1, b_1, w_2, b_2;
  };
  void forward(const LmBatch& batch, Workspace& ws, bool keep_for_backward);
  void backward(const LmBatch& batch, Workspace& ws);

  LmConfig config_;
  int vocab_;
  ParamStore<S> store_;
  Adam<S> adam_;
  OptimizerKind optimizer_ = OptimizerKind::Adam;
  double learning_rate_ = 1e-3;
  AlignedVector<S> mask_;  // 1 where the trainable group updates, else 0 (same layout as the parameters)
  int embed_ = -1, lnf_g_ = -1, lnf_b_ = -1, out_w_ = -1, out_b_ = -1;
  std::vector<BlockParams> blocks_;
  RowMat<S> positional_;  // (max_len, E)
  std::size_t num_parameters_ = 0;
  std::unique_ptr<Workspace> train_ws_, infer_ws_;
};

using CharLm = CharLmT<float>;

}  // namespace icl::lm
