#pragma once
// How raw inputs become E-wide tokens. Identity for the synthetic task (frozen Dense with W = I, b = 0,
// so D must equal E); a trainable ResNet for Omniglot (§5.3) plugs in through the same interface,
// registering its kernels in the model's ParamStore and accumulating their gradients in backward().
#include <memory>
#include <string>

#include "iclsweep/model/param_store.hpp"
#include "iclsweep/model/tensor.hpp"

namespace icl {

template <class S>
class InputTokenizer {
 public:
  virtual ~InputTokenizer() = default;
  virtual int input_dim() const = 0;
  virtual int output_dim() const = 0;
  // Declares trainable tensors (before the store is finalized). Identity declares none.
  virtual void declare_parameters(ParamStore<S>& store) = 0;
  // inputs (n, input_dim) -> tokens (n, E). Caches what backward() needs for the last call.
  virtual void forward(ParamStore<S>& store, const CMatRef<S>& inputs, MatRef<S> tokens) = 0;
  // d_tokens (n, E): accumulates parameter gradients into store.grads.
  virtual void backward(ParamStore<S>& store, const CMatRef<S>& d_tokens) = 0;
  // False lets the model skip computing d_tokens at all.
  virtual bool trainable() const = 0;
};

template <class S>
class IdentityTokenizer final : public InputTokenizer<S> {
 public:
  explicit IdentityTokenizer(int dim) : dim_(dim) {}
  int input_dim() const override { return dim_; }
  int output_dim() const override { return dim_; }
  void declare_parameters(ParamStore<S>&) override {}
  void forward(ParamStore<S>&, const CMatRef<S>& inputs, MatRef<S> tokens) override { tokens = inputs; }
  void backward(ParamStore<S>&, const CMatRef<S>&) override {}
  bool trainable() const override { return false; }

 private:
  int dim_;
};

// "identity" -> IdentityTokenizer(embed_dim); "resnet_v1" -> ResNetV1Tokenizer (model/resnet_tokenizer.hpp) for
// square images of input_dim = S·S pixels, embed_dim must be 64. Throws ParamError(model.input_tokenizer) for unknown names
// and InputError when the identity tokenizer meets input_dim != embed_dim.
template <class S>
std::unique_ptr<InputTokenizer<S>> make_input_tokenizer(const std::string& name, int input_dim, int embed_dim);

}  // namespace icl
