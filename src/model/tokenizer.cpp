#include "iclsweep/model/tokenizer.hpp"

#include "iclsweep/core/error.hpp"

namespace icl {

template <class S>
std::unique_ptr<InputTokenizer<S>> make_input_tokenizer(const std::string& name, int input_dim, int embed_dim) {
  if (name == "identity") {
    if (input_dim != embed_dim)
      throw InputError("the identity input tokenizer needs input_dim == model.embed_dim, got input_dim = " + std::to_string(input_dim) +
                       " and model.embed_dim = " + std::to_string(embed_dim) + ": set data.num_dims = model.embed_dim");
    return std::make_unique<IdentityTokenizer<S>>(embed_dim);
  }
  throw ParamError("model.input_tokenizer", name, "unknown tokenizer; implemented: identity");
}

template std::unique_ptr<InputTokenizer<float>> make_input_tokenizer<float>(const std::string&, int, int);
template std::unique_ptr<InputTokenizer<double>> make_input_tokenizer<double>(const std::string&, int, int);

}  // namespace icl
