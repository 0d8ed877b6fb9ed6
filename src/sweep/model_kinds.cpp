#include "iclsweep/sweep/model_kinds.hpp"

#include <cstdio>
#include <set>

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

namespace {
bool kind_reads(const ModelKind& kind, const Family* owner, const std::string& key) {
  if (key.rfind("run.", 0) == 0 || key == "data.seed") return true;
  if (owner) {
    for (const auto& k : owner->kinds)
      if (k.get() == &kind) return true;
    return false;
  }
  for (const auto& entry : kind.shared_keys())
    if (key == entry || (!entry.empty() && entry.back() == '.' && key.rfind(entry, 0) == 0)) return true;
  return false;
}
}  // namespace

std::vector<std::string> ignored_key_warnings(const Job& job, const ParamRegistry& registry) {
  // The kinds the job's points run: a grid axis of run.model_kind, else its fixed value.
  std::vector<std::string> kind_names = {job.base_params().get_string("run.model_kind")};
  for (const auto& axis : job.grid().axes())
    if (axis.key == "run.model_kind") kind_names = axis.values;
  std::vector<const ModelKind*> kinds;
  for (const auto& name : kind_names)
    if (const ModelKind* k = families().find_kind(name)) kinds.push_back(k);
  if (kinds.empty()) return {};
  // The keys the job sets: its grid axes and the fixed values that differ from the defaults.
  std::set<std::string> set_keys;
  for (const auto& axis : job.grid().axes()) set_keys.insert(axis.key);
  const ParamMap defaults = ParamMap::defaults(registry);
  for (const auto& [key, value] : job.base_params().values()) {
    const auto d = defaults.values().find(key);
    if (d == defaults.values().end() || d->second != value) set_keys.insert(key);
  }
  std::vector<std::string> out;
  for (const auto& key : set_keys) {
    const Family* owner = nullptr;
    for (const auto& f : families().all())
      for (const auto& spec : f.params)
        if (spec.key == key) owner = &f;
    bool read = false;
    for (const ModelKind* k : kinds) read = read || kind_reads(*k, owner, key);
    if (read) continue;
    std::string names;
    for (const ModelKind* k : kinds) names += (names.empty() ? "" : ", ") + k->name();
    std::string msg = "key '" + key + "' is set, but run.model_kind = " + names + (kinds.size() > 1 ? " do" : " does") +
                      " not read it";
    if (owner) {
      std::string theirs;
      for (const auto& k : owner->kinds) theirs += (theirs.empty() ? "" : ", ") + k->name();
      msg += " (a key of family " + owner->name + ": " + theirs + ")";
    }
    out.push_back(msg + "; the points run as without it");
  }
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
