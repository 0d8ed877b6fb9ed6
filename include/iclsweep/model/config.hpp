#pragma once
// Hyperparameters of the in-context transformer (PAPER-SPEC §2) and its optimizer, under [model] and [train].
#include <string>
#include <vector>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/params.hpp"

namespace icl {

struct ModelConfig {
  int num_blocks = 2;                  // pre-LN transformer blocks
  int num_heads = 1;                   // attention heads; head_dim = embed_dim / num_heads
  int embed_dim = 64;                  // E
  int widening_factor = 4;             // MLP hidden = widening_factor * E
  std::string input_tokenizer = "identity";  // identity (D = E, frozen); resnet_v1 (Omniglot images, §5.3)
  double learning_rate = 3e-4;         // Adam, constant (§2)
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_eps = 1e-8;              // added outside the sqrt (optax)

  int head_dim() const { return embed_dim / num_heads; }
  int hidden_dim() const { return embed_dim * widening_factor; }

  // Reads model.* and train.learning_rate; throws ParamError naming key, value and rule.
  static ModelConfig from(const ParamMap& params);
  void validate() const;
};

std::vector<ParamSpec> model_param_specs();

}  // namespace icl
