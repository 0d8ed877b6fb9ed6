#include "iclsweep/sweep/model_kinds.hpp"

#include <cstdio>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/family.hpp"
#include "iclsweep/sweep/job.hpp"

namespace icl {

const ModelKind& model_kind(const std::string& name) {
  if (const ModelKind* kind = families().find_kind(name)) return *kind;
  std::string known;
  for (const auto& k : model_kind_names()) known += (known.empty() ? "" : " | ") + k;
  throw InputError("parameter 'run.model_kind' = " + name + ": unknown model kind; known: " + known);
}

std::vector<std::string> model_kind_names() {
  std::vector<std::string> out;
  for (const auto& f : families().all())
    for (const auto& k : f.kinds) out.push_back(k->name());
  return out;
}

void register_model_kind_validators() {
  add_point_validator("model_kind", [](const ParamMap& point) -> std::vector<std::string> {
    try {
      const ModelKind& kind = model_kind(point.get_string("run.model_kind"));
      auto errors = kind.validate(point);
      if (!errors.empty()) return errors;
      const double need = kind.memory_bytes(point);
      if (need > kMaxPointMemoryBytes) {
        // The message names the kind's size keys first (the job's loader points at the line of the first key a
        // message names, so the refusal is shown at the size that is too large, not at run.model_kind).
        std::string sizes;
        for (const auto& key : kind.size_keys())
          if (point.has(key)) sizes += (sizes.empty() ? "" : ", ") + key + " = " + point.get_string(key);
        char msg[1024];
        std::snprintf(msg, sizeof msg,
                      "%s: one point needs ~%.3g GB of memory (weights, gradients, optimizer state and one batch's "
                      "activations), more than the %.0f GB one rank may use (run.model_kind = %s): make the model "
                      "smaller (embed_dim/width, blocks/layers) or lower the batch size or the number of contexts",
                      sizes.empty() ? "the model's size" : sizes.c_str(), need / 1e9,
                      kMaxPointMemoryBytes / (1024.0 * 1024 * 1024), kind.name().c_str());
        return {msg};
      }
      return errors;
    } catch (const std::exception& e) {
      return {e.what()};
    }
  });
}

}  // namespace icl
