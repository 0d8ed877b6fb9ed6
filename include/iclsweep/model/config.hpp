#pragma once
// Hyperparameters of the in-context transformer (PAPER-SPEC §2) and its optimizer, under [model] and [train].
#include <cstdint>
#include <string>
#include <vector>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/params.hpp"
#include "iclsweep/model/weight_decay.hpp"

namespace icl {

struct ModelConfig {
  int num_blocks = 2;                  // pre-LN transformer blocks
  int num_heads = 1;                   // attention heads; head_dim = embed_dim / num_heads
  int embed_dim = 64;                  // E
  int widening_factor = 4;             // MLP hidden = widening_factor * E
  std::string input_tokenizer = "identity";  // identity (D = E, frozen); resnet_v1 (Omniglot images, §5.3)
  double learning_rate = 3e-4;         // Adam base rate (§2: constant; §5.3 Omniglot: the peak of warmup_rsqrt)
  std::string lr_schedule = "constant";  // constant | warmup_rsqrt (§5.3)
  std::int64_t warmup_steps = 4000;    // warmup_rsqrt only
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_eps = 1e-8;              // added outside the sqrt (optax)
  WeightDecay weight_decay;            // train.weight_decay*: none by default

  int head_dim() const { return embed_dim / num_heads; }
  int hidden_dim() const { return embed_dim * widening_factor; }
  // The learning rate of optimizer step t = 0, 1, …: learning_rate (constant) or, for warmup_rsqrt (§5.3),
  // min(lr·(t+1)/W, lr·√(W/(t+1))) with W = warmup_steps: linear warmup to lr at t = W−1, then 1/√t decay.
  double learning_rate_at(std::int64_t step) const;
  // Trainable parameters of the transformer body and head (tokenizer excluded), without building it.
  double num_body_parameters(int num_classes, int input_dim) const;

  // Reads model.*, train.learning_rate, train.lr_schedule and train.warmup_steps; throws ParamError naming key, value and rule.
  static ModelConfig from(const ParamMap& params);
  void validate() const;
};

std::vector<ParamSpec> model_param_specs();

// Peak training memory of a transformer of `config`: float32 weights, gradients and two Adam moments
// (16 bytes per parameter) plus one batch of `batch` sequences of `tokens` tokens through every block
// (residual stream, attention scores, MLP hidden; forward values kept for the backward pass).
double transformer_memory_bytes(const ModelConfig& config, int batch, int tokens, int num_classes, int input_dim);
// Peak memory of one training step: the transformer (E = 64, T = 2L+1) plus the ResNet tokenizer's
// activations, about a dozen S x S x 64 float maps kept per image for the backward pass.
double omniglot_train_memory_bytes(const ModelConfig& config, int batch_size, int num_contexts, int image_size, int num_classes);

}  // namespace icl
