#include "iclsweep/model/weight_decay.hpp"

#include <Eigen/Dense>
#include <cmath>

#include "iclsweep/core/error.hpp"

namespace icl {

std::vector<ParamSpec> weight_decay_param_specs() {
  using T = ParamType;
  return {
      {"train.weight_decay", T::Real, "0",
       "lambda of weight decay on the transformer (and Omniglot tokenizer) parameters, >= 0; 0 = none (Singh 2023, PEERS-SPEC §2.5)", {}},
      {"train.weight_decay_form", T::String, "l2",
       "l2: loss + (lambda/2)*sum(theta^2), through Adam; decoupled: AdamW's theta -= lr*lambda*theta; norm: loss + lambda*sum of "
       "each tensor's Frobenius norm (the icl-dynamics code). The paper's form is unknown",
       {"l2", "decoupled", "norm"}},
      {"train.weight_decay_params", T::String, "all",
       "which parameters decay: all (every tensor: biases, layer norms, embeddings, tokenizer), mlp (block MLPs), attention "
       "(QKV and output projections), embed_readout (label embedding and readout), tokenizer (the ResNet of omniglot)",
       {"all", "mlp", "attention", "embed_readout", "tokenizer"}},
  };
}

WeightDecay WeightDecay::from(const ParamMap& p) {
  WeightDecay wd;
  wd.lambda = p.get_real("train.weight_decay");
  if (!(wd.lambda >= 0) || !std::isfinite(wd.lambda))
    throw ParamError("train.weight_decay", p.get_string("train.weight_decay"), "must be a finite number >= 0 (0 = no decay)");
  const std::string form = p.get_string("train.weight_decay_form");
  wd.form = form == "decoupled" ? DecayForm::Decoupled : form == "norm" ? DecayForm::Norm : DecayForm::L2;
  wd.params = p.get_string("train.weight_decay_params");
  return wd;
}

bool decays(const std::string& params, const std::string& name) {
  auto has = [&](const char* part) { return name.find(part) != std::string::npos; };
  if (params == "all") return true;
  if (params == "mlp") return has("/mlp/");
  if (params == "attention") return has("/attn/");
  if (params == "embed_readout") return name.rfind("label_embed/", 0) == 0 || name.rfind("readout/", 0) == 0;
  if (params == "tokenizer") return name.rfind("tokenizer/", 0) == 0;
  throw ParamError("train.weight_decay_params", params, "must be all, mlp, attention, embed_readout or tokenizer");
}

template <class S>
std::vector<std::pair<std::size_t, std::size_t>> decayed_ranges(const ParamStore<S>& store, const std::string& params) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  for (const auto& t : store.tensors)
    if (decays(params, t.name)) out.emplace_back(t.offset, t.size());
  return out;
}

template <class S>
double decay_penalty(const WeightDecay& wd, const AlignedVector<S>& values, const std::vector<std::pair<std::size_t, std::size_t>>& ranges) {
  double sum = 0;
  for (const auto& [offset, size] : ranges) {
    const Eigen::Map<const Eigen::Array<S, Eigen::Dynamic, 1>> v(values.data() + offset, static_cast<Eigen::Index>(size));
    const double squares = v.template cast<double>().square().sum();
    if (wd.form == DecayForm::L2) sum += 0.5 * wd.lambda * squares;
    if (wd.form == DecayForm::Norm) sum += wd.lambda * std::sqrt(squares);
  }
  return sum;
}

template <class S>
void apply_weight_decay(const WeightDecay& wd, double learning_rate, AlignedVector<S>& values, AlignedVector<S>& grads,
                        const std::vector<std::pair<std::size_t, std::size_t>>& ranges) {
  if (!wd.active()) return;
  using A = Eigen::Array<S, Eigen::Dynamic, 1>;
  for (const auto& [offset, size] : ranges) {
    Eigen::Map<A> v(values.data() + offset, static_cast<Eigen::Index>(size));
    Eigen::Map<A> g(grads.data() + offset, static_cast<Eigen::Index>(size));
    switch (wd.form) {
      case DecayForm::L2:
        g += static_cast<S>(wd.lambda) * v;
        break;
      case DecayForm::Decoupled:
        v *= static_cast<S>(1.0 - learning_rate * wd.lambda);
        break;
      case DecayForm::Norm: {
        const double norm = std::sqrt(v.template cast<double>().square().sum());
        if (norm > 0) g += static_cast<S>(wd.lambda / norm) * v;  // an all-zero tensor has no gradient (masked, as icl-dynamics)
        break;
      }
    }
  }
}

template std::vector<std::pair<std::size_t, std::size_t>> decayed_ranges(const ParamStore<float>&, const std::string&);
template std::vector<std::pair<std::size_t, std::size_t>> decayed_ranges(const ParamStore<double>&, const std::string&);
template double decay_penalty(const WeightDecay&, const AlignedVector<float>&, const std::vector<std::pair<std::size_t, std::size_t>>&);
template double decay_penalty(const WeightDecay&, const AlignedVector<double>&, const std::vector<std::pair<std::size_t, std::size_t>>&);
template void apply_weight_decay(const WeightDecay&, double, AlignedVector<float>&, AlignedVector<float>&,
                                 const std::vector<std::pair<std::size_t, std::size_t>>&);
template void apply_weight_decay(const WeightDecay&, double, AlignedVector<double>&, AlignedVector<double>&,
                                 const std::vector<std::pair<std::size_t, std::size_t>>&);

}  // namespace icl
