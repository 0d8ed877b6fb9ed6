#include "iclsweep/model/config.hpp"

#include <algorithm>
#include <cmath>

namespace icl {

std::vector<ParamSpec> model_param_specs() {
  using T = ParamType;
  std::vector<ParamSpec> specs = {
      {"model.num_blocks", T::Int, "2", "pre-LN transformer blocks (>= 1)", {}, 1, 64},
      {"model.num_heads", T::Int, "1", "attention heads (>= 1, must divide model.embed_dim)", {}, 1, 65536},
      {"model.embed_dim", T::Int, "64", "E: token width (even, >= 2; equals data.num_dims with the identity tokenizer)", {}, 2, 65536},
      {"model.widening_factor", T::Int, "4", "MLP hidden width = widening_factor * E (>= 1)", {}, 1, 64},
      {"model.input_tokenizer", T::String, "identity", "how inputs become tokens: identity (frozen, D = E); resnet_v1 (trainable ResNet over S x S images, §5.3; E = 64)", {"identity", "resnet_v1"}},
      {"train.learning_rate", T::Real, "0.0003", "Adam learning rate (> 0); with warmup_rsqrt, the peak rate", {}},
      {"train.lr_schedule", T::String, "constant",
       "transformer learning-rate schedule: constant (§2) or warmup_rsqrt (Omniglot §5.3: min(lr*(t+1)/W, lr*sqrt(W/(t+1))), W = train.warmup_steps)",
       {"constant", "warmup_rsqrt"}},
      {"train.warmup_steps", T::Int, "4000", "W of train.lr_schedule = warmup_rsqrt: steps of linear warmup to train.learning_rate (>= 1)", {}, 1, 1000000000},
  };
  for (auto& s : weight_decay_param_specs()) specs.push_back(std::move(s));
  return specs;
}

ModelConfig ModelConfig::from(const ParamMap& p) {
  ModelConfig c;
  c.num_blocks = p.get_int32("model.num_blocks");
  c.num_heads = p.get_int32("model.num_heads");
  c.embed_dim = p.get_int32("model.embed_dim");
  c.widening_factor = p.get_int32("model.widening_factor");
  c.input_tokenizer = p.get_string("model.input_tokenizer");
  c.learning_rate = p.get_real("train.learning_rate");
  c.lr_schedule = p.get_string("train.lr_schedule");
  c.warmup_steps = p.get_int("train.warmup_steps");
  c.weight_decay = WeightDecay::from(p);
  c.validate();
  return c;
}

void ModelConfig::validate() const {
  auto s = [](auto v) { return std::to_string(v); };
  if (num_blocks < 1) throw ParamError("model.num_blocks", s(num_blocks), "must be >= 1");
  if (num_blocks > 64) throw ParamError("model.num_blocks", s(num_blocks), "must be <= 64");
  if (embed_dim < 2 || embed_dim % 2 != 0)
    throw ParamError("model.embed_dim", s(embed_dim), "must be even and >= 2 (the positional encoding splits it into sin/cos halves)");
  if (num_heads < 1) throw ParamError("model.num_heads", s(num_heads), "must be >= 1");
  if (embed_dim % num_heads != 0)
    throw ParamError("model.num_heads", s(num_heads), "must divide model.embed_dim = " + s(embed_dim));
  if (widening_factor < 1) throw ParamError("model.widening_factor", s(widening_factor), "must be >= 1");
  if (input_tokenizer != "identity" && input_tokenizer != "resnet_v1")
    throw ParamError("model.input_tokenizer", input_tokenizer, "must be identity or resnet_v1");
  if (input_tokenizer == "resnet_v1" && embed_dim != 64)
    throw ParamError("model.embed_dim", s(embed_dim), "must be 64 with model.input_tokenizer = resnet_v1 (its tokens are 64 channels, §5.3)");
  if (!(learning_rate > 0.0)) throw ParamError("train.learning_rate", format_real(learning_rate), "must be > 0");
  if (lr_schedule != "constant" && lr_schedule != "warmup_rsqrt")
    throw ParamError("train.lr_schedule", lr_schedule, "must be constant or warmup_rsqrt");
  if (warmup_steps < 1) throw ParamError("train.warmup_steps", s(warmup_steps), "must be >= 1");
}

double ModelConfig::num_body_parameters(int num_classes, int input_dim) const {
  const double E = embed_dim, H = E * widening_factor;
  const double per_block = 4.0 * E * E + 2.0 * E * H + 4.0 * E + H + E;  // Q, K, V, O; MLP in/out; norms, biases
  const double input = input_tokenizer == "identity" ? 0.0 : static_cast<double>(input_dim) * E;
  return num_blocks * per_block + input + static_cast<double>(num_classes) * E;
}

double transformer_memory_bytes(const ModelConfig& c, int batch, int tokens, int num_classes, int input_dim) {
  const double weights = 16.0 * c.num_body_parameters(num_classes, input_dim);
  const double B = batch, T = tokens, E = c.embed_dim;
  const double per_block = B * T * (10.0 * E + 2.0 * E * c.widening_factor) + 2.0 * B * c.num_heads * T * T;
  const double inputs = B * T * static_cast<double>(input_dim);
  return weights + 4.0 * (c.num_blocks * per_block + inputs + B * num_classes);
}

double ModelConfig::learning_rate_at(std::int64_t step) const {
  if (lr_schedule == "constant") return learning_rate;
  const double t1 = static_cast<double>(step) + 1.0, W = warmup_steps;
  return std::min(learning_rate * t1 / W, learning_rate * std::sqrt(W / t1));
}

double omniglot_train_memory_bytes(const ModelConfig& config, int batch_size, int num_contexts, int image_size, int num_classes) {
  const double images = (num_contexts + 1.0) * batch_size;
  return transformer_memory_bytes(config, batch_size, 2 * num_contexts + 1, num_classes, 64) +
         images * image_size * image_size * 64.0 * 12.0 * 4.0;
}

}  // namespace icl
