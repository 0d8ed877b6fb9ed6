#pragma once
// Weight decay for the transformer (and so the Omniglot transformer with its ResNet tokenizer): the
// L2 intervention of Singh et al. 2023 (PEERS-SPEC §2.5). Which form and which parameters the paper
// decayed is UNKNOWN, so both are keys with documented defaults (train.weight_decay_form,
// train.weight_decay_params); at train.weight_decay = 0 nothing here runs and training is bit-identical
// to a build without it.
#include <string>
#include <utility>
#include <vector>

#include "iclsweep/core/aligned.hpp"
#include "iclsweep/core/params.hpp"
#include "iclsweep/model/param_store.hpp"

namespace icl {

enum class DecayForm {
  L2,         // coupled: loss + (λ/2)·Σθ², so the gradient gains λ·θ and Adam rescales it
  Decoupled,  // AdamW: θ ← θ − lr_t·λ·θ beside the Adam step, not through the moments
  Norm,       // icl-dynamics' --weight_decay: loss + λ·Σ_tensors ‖θ‖_F (not squared); gradient λ·θ/‖θ‖_F
};

struct WeightDecay {
  double lambda = 0;
  DecayForm form = DecayForm::L2;
  std::string params = "all";  // all | mlp | attention | embed_readout | tokenizer
  bool active() const { return lambda > 0; }
  // Reads train.weight_decay, train.weight_decay_form and train.weight_decay_params.
  static WeightDecay from(const ParamMap& p);
};

std::vector<ParamSpec> weight_decay_param_specs();

// Whether the tensor named `name` (ParamStore names: block0/attn/w_qkv, block1/mlp/b2, label_embed/w,
// readout/b, tokenizer/..., final_ln/scale) is in the group `params`.
bool decays(const std::string& params, const std::string& name);

// The decayed tensors of a store: (offset, size) into its flat buffers.
template <class S>
std::vector<std::pair<std::size_t, std::size_t>> decayed_ranges(const ParamStore<S>& store, const std::string& params);

// The penalty of the coupled forms (0 for Decoupled), for reports and the finite-difference check.
template <class S>
double decay_penalty(const WeightDecay& wd, const AlignedVector<S>& values, const std::vector<std::pair<std::size_t, std::size_t>>& ranges);

// One step's decay, before the Adam step: the coupled forms add the penalty's gradient to `grads`;
// Decoupled shrinks `values` by lr·λ (the learning rate of this update).
template <class S>
void apply_weight_decay(const WeightDecay& wd, double learning_rate, AlignedVector<S>& values, AlignedVector<S>& grads,
                        const std::vector<std::pair<std::size_t, std::size_t>>& ranges);

}  // namespace icl
