#pragma once
// What the training loop needs from a model kind (the transformer of §2, the gated model of §3).
#include <cstddef>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "iclsweep/core/batch.hpp"

namespace icl {

class Model {
 public:
  virtual ~Model() = default;
  // Forward + backward + one optimizer step on the batch. Returns the mean training loss (softmax CE
  // on the observed query label) of the forward pass BEFORE the update. When the loss or any gradient
  // is non-finite the parameters are left unchanged and the non-finite loss is returned: the caller
  // throws NumericError.
  virtual float train_step(const Batch& batch) = 0;
  // Inference only (no gradients, parameters unchanged): out (B, C) logits at the query token. Any B.
  virtual void logits(const Batch& batch, Eigen::MatrixXf& out) = 0;
  // Trainable scalars (frozen ones, e.g. the identity tokenizer, are not counted).
  virtual std::size_t num_parameters() const = 0;
  // Snapshot / restore of every trainable value (flat, the model's own layout), for checkpoints and
  // determinism tests. Optimizer state is not included.
  virtual std::vector<float> parameter_values() const = 0;
  virtual void set_parameter_values(const std::vector<float>& values) = 0;
};

}  // namespace icl
