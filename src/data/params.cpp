#include "iclsweep/data/params.hpp"

#include <cmath>
#include <sstream>

#include "iclsweep/core/error.hpp"

namespace icl {

std::vector<ParamSpec> data_param_specs() {
  using T = ParamType;
  return {
      {"data.dataset_size", T::Int, "1024", "N: sequences in the fixed training pool (N >= C)", {}, 1, std::int64_t{1} << 31},
      {"data.num_contexts", T::Int, "1", "L: context (input, label) pairs before the query (L >= 1)", {}, 1, 1024},
      {"data.num_high_prob_classes", T::Int, "5", "H: high-frequency classes 0..H-1", {}, 1, 65534},
      {"data.num_low_prob_classes", T::Int, "5", "Lo: low-frequency classes H..H+Lo-1", {}, 1, 65534},
      {"data.p_high", T::Real, "0.9", "total probability of the H frequent classes; 0 < p_high < 1 and p_high/H >= (1-p_high)/Lo", {}},
      {"data.p_relevant_context", T::Real, "0.9", "p_rel in [0,1]: probability a sequence (or slot, per_slot) is relevant", {}},
      {"data.num_dims", T::Int, "64", "D: input dimension (must equal model.embed_dim with the identity tokenizer)", {}, 1, 65536},
      {"data.input_noise_std", T::Real, "0", "sigma >= 0: input = prototype + sigma * N(0, I)", {}},
      {"data.label_noise", T::Real, "0", "eps_lab in [0,1): probability a label is replaced by (label+1) mod C", {}},
      {"data.num_relevant_contexts", T::Int, "", "L_rel (unset, or 1 <= L_rel <= L): exact number of relevant contexts", {}, 1, 1024},
      {"data.conditioning", T::String, "none", "restrict the query class to a group", {"none", "high_prob", "low_prob"}},
      {"data.flip_label", T::Bool, "0", "1 = OOBD within-group label shift", {}},
      {"data.seed", T::Int, "0", "run seed: data seed = model-init seed = run seed (PAPER-SPEC §1.1)", {}, 0, (std::int64_t{1} << 32) - 1},
      {"data.relevance_mode", T::String, "per_sequence", "per_sequence (V-paper, default) or per_slot (V-final)", {"per_sequence", "per_slot"}},
      {"data.vfinal_bug_compat", T::Bool, "0", "per_slot only: reproduce the authors' quirks Q1-Q3", {}},
      {"data.vpaper_bug_compat", T::Bool, "0", "per_sequence with L_rel < L only: reproduce quirk Q4", {}},
  };
}

const char* to_string(RelevanceMode m) { return m == RelevanceMode::PerSequence ? "per_sequence" : "per_slot"; }
const char* to_string(Conditioning c) {
  switch (c) {
    case Conditioning::None: return "none";
    case Conditioning::HighProb: return "high_prob";
    case Conditioning::LowProb: return "low_prob";
  }
  return "none";
}

DataParams DataParams::from(const ParamMap& p) {
  DataParams d = read(p);
  d.validate();
  return d;
}

DataParams DataParams::read(const ParamMap& p) {
  DataParams d;
  d.dataset_size = p.get_int("data.dataset_size");
  d.num_contexts = p.get_int32("data.num_contexts");
  d.num_high_prob_classes = p.get_int32("data.num_high_prob_classes");
  d.num_low_prob_classes = p.get_int32("data.num_low_prob_classes");
  d.p_high = p.get_real("data.p_high");
  d.p_relevant_context = p.get_real("data.p_relevant_context");
  d.num_dims = p.get_int32("data.num_dims");
  d.input_noise_std = p.get_real("data.input_noise_std");
  d.label_noise = p.get_real("data.label_noise");
  if (auto v = p.get_optional_int("data.num_relevant_contexts")) d.num_relevant_contexts = p.get_int32("data.num_relevant_contexts");
  // Values may arrive without passing canonical_value (set_raw, HDF5 attributes): reject unknown names
  // here rather than silently falling back to a default.
  const auto& cond = p.get_string("data.conditioning");
  if (cond != "none" && cond != "high_prob" && cond != "low_prob")
    throw ParamError("data.conditioning", cond, "must be one of none | high_prob | low_prob");
  d.conditioning = cond == "high_prob" ? Conditioning::HighProb : cond == "low_prob" ? Conditioning::LowProb : Conditioning::None;
  d.flip_label = p.get_bool("data.flip_label");
  const auto& mode = p.get_string("data.relevance_mode");
  if (mode != "per_sequence" && mode != "per_slot")
    throw ParamError("data.relevance_mode", mode, "must be one of per_sequence | per_slot");
  d.relevance_mode = mode == "per_slot" ? RelevanceMode::PerSlot : RelevanceMode::PerSequence;
  d.vfinal_bug_compat = p.get_bool("data.vfinal_bug_compat");
  d.vpaper_bug_compat = p.get_bool("data.vpaper_bug_compat");
  const std::int64_t seed = p.get_int("data.seed");
  if (seed < 0) throw ParamError("data.seed", std::to_string(seed), "must be >= 0");
  d.seed = static_cast<std::uint64_t>(seed);
  if (p.values().count("model.input_tokenizer")) d.input_tokenizer = p.get_string("model.input_tokenizer");
  if (p.values().count("model.embed_dim")) d.embed_dim = p.get_int32("model.embed_dim");
  return d;
}

static std::string num(double v) { return format_real(v); }

std::vector<ParamError> DataParams::collect_errors() const {
  std::vector<ParamError> e;
  const int C = num_classes();
  if (num_contexts < 1) e.emplace_back("data.num_contexts", std::to_string(num_contexts), "must be >= 1");
  if (num_high_prob_classes < 1) e.emplace_back("data.num_high_prob_classes", std::to_string(num_high_prob_classes), "must be >= 1");
  if (num_low_prob_classes < 1) e.emplace_back("data.num_low_prob_classes", std::to_string(num_low_prob_classes), "must be >= 1");
  if (C > 65535) e.emplace_back("data.num_low_prob_classes", std::to_string(num_low_prob_classes), "H + Lo must be at most 65535");
  if (!(p_high > 0.0 && p_high < 1.0)) {
    e.emplace_back("data.p_high", num(p_high), "must lie strictly between 0 and 1");
  } else if (num_high_prob_classes >= 1 && num_low_prob_classes >= 1 &&
             p_high / num_high_prob_classes < (1.0 - p_high) / num_low_prob_classes - 1e-12) {
    e.emplace_back("data.p_high", num(p_high),
                   "each high-frequency class must be at least as likely as each low-frequency one: p_high/H = " +
                       num(p_high / num_high_prob_classes) + " < (1-p_high)/Lo = " +
                       num((1.0 - p_high) / num_low_prob_classes) + " (raise p_high or Lo)");
  }
  if (!(p_relevant_context >= 0.0 && p_relevant_context <= 1.0))
    e.emplace_back("data.p_relevant_context", num(p_relevant_context), "must lie in [0, 1]");
  if (num_dims < 1) e.emplace_back("data.num_dims", std::to_string(num_dims), "must be >= 1");
  if (input_tokenizer == "identity" && num_dims != embed_dim)
    e.emplace_back("data.num_dims", std::to_string(num_dims),
                   "must equal model.embed_dim = " + std::to_string(embed_dim) +
                       " with the identity input tokenizer (the embedding is the input itself)");
  if (!(input_noise_std >= 0.0)) e.emplace_back("data.input_noise_std", num(input_noise_std), "must be >= 0");
  if (!(label_noise >= 0.0 && label_noise < 1.0)) e.emplace_back("data.label_noise", num(label_noise), "must lie in [0, 1)");
  if (num_relevant_contexts && (*num_relevant_contexts < 1 || *num_relevant_contexts > num_contexts))
    e.emplace_back("data.num_relevant_contexts", std::to_string(*num_relevant_contexts),
                   "must be unset or between 1 and data.num_contexts = " + std::to_string(num_contexts));
  if (dataset_size < C)
    e.emplace_back("data.dataset_size", std::to_string(dataset_size),
                   "must be >= C = H + Lo = " + std::to_string(C) + " so every class is queried at least once");
  if (dataset_size > (std::int64_t{1} << 31))
    e.emplace_back("data.dataset_size", std::to_string(dataset_size), "must be at most 2^31");
  if (vfinal_bug_compat && relevance_mode != RelevanceMode::PerSlot)
    e.emplace_back("data.vfinal_bug_compat", "1", "only applies with data.relevance_mode = per_slot");
  if (vpaper_bug_compat && relevance_mode != RelevanceMode::PerSequence)
    e.emplace_back("data.vpaper_bug_compat", "1", "only applies with data.relevance_mode = per_sequence");
  return e;
}

void DataParams::validate() const {
  const auto errors = collect_errors();
  if (!errors.empty()) throw errors.front();
}

void DataParams::write_to(ParamMap& p) const {
  p.set_raw("data.dataset_size", std::to_string(dataset_size));
  p.set_raw("data.num_contexts", std::to_string(num_contexts));
  p.set_raw("data.num_high_prob_classes", std::to_string(num_high_prob_classes));
  p.set_raw("data.num_low_prob_classes", std::to_string(num_low_prob_classes));
  p.set_raw("data.p_high", num(p_high));
  p.set_raw("data.p_relevant_context", num(p_relevant_context));
  p.set_raw("data.num_dims", std::to_string(num_dims));
  p.set_raw("data.input_noise_std", num(input_noise_std));
  p.set_raw("data.label_noise", num(label_noise));
  p.set_raw("data.num_relevant_contexts", num_relevant_contexts ? std::to_string(*num_relevant_contexts) : "");
  p.set_raw("data.conditioning", to_string(conditioning));
  p.set_raw("data.flip_label", flip_label ? "1" : "0");
  p.set_raw("data.seed", std::to_string(seed));
  p.set_raw("data.relevance_mode", to_string(relevance_mode));
  p.set_raw("data.vfinal_bug_compat", vfinal_bug_compat ? "1" : "0");
  p.set_raw("data.vpaper_bug_compat", vpaper_bug_compat ? "1" : "0");
}

}  // namespace icl
