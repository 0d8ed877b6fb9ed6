#include "iclsweep/model/tokenizer.hpp"

#include <cmath>

#include "iclsweep/core/error.hpp"
#include "iclsweep/model/resnet_tokenizer.hpp"

namespace icl {

template <class S>
std::unique_ptr<InputTokenizer<S>> make_input_tokenizer(const std::string& name, int input_dim, int embed_dim) {
  if (name == "identity") {
    if (input_dim != embed_dim)
      throw InputError("the identity input tokenizer needs input_dim == model.embed_dim, got input_dim = " + std::to_string(input_dim) +
                       " and model.embed_dim = " + std::to_string(embed_dim) + ": set data.num_dims = model.embed_dim");
    return std::make_unique<IdentityTokenizer<S>>(embed_dim);
  }
  if (name == "resnet_v1") {
    const int side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(input_dim))));
    if (input_dim < 1 || side * side != input_dim)
      throw InputError("the resnet_v1 input tokenizer needs square images (input_dim = S*S), got input_dim = " + std::to_string(input_dim));
    if (embed_dim != ResNetV1Tokenizer<S>::kTokenDim)
      throw ParamError("model.embed_dim", std::to_string(embed_dim),
                       "must be 64 with model.input_tokenizer = resnet_v1 (its tokens are the 64 channels of the last group, §5.3)");
    return std::make_unique<ResNetV1Tokenizer<S>>(side);
  }
  throw ParamError("model.input_tokenizer", name, "unknown tokenizer; implemented: identity, resnet_v1");
}

template std::unique_ptr<InputTokenizer<float>> make_input_tokenizer<float>(const std::string&, int, int);
template std::unique_ptr<InputTokenizer<double>> make_input_tokenizer<double>(const std::string&, int, int);

}  // namespace icl
