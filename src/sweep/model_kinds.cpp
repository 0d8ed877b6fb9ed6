#include "iclsweep/sweep/model_kinds.hpp"

#include <cstdio>
#include <memory>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/family.hpp"
#include "iclsweep/lm/lm_facts_kind.hpp"
#include "iclsweep/sweep/job.hpp"
#include "iclsweep/theory/bounds.hpp"
#include "iclsweep/theory/online.hpp"
#include "iclsweep/train/gated_kind.hpp"
#include "iclsweep/train/omniglot_kind.hpp"
#include "iclsweep/train/trainer.hpp"

namespace icl {
namespace {

// The theory curves of §4.6: closed-form, instantaneous.
class TheoryKind final : public ModelKind {
 public:
  std::string name() const override { return "theory"; }
  std::vector<std::string> validate(const ParamMap& point) const override { return collect([&] { theory_schema(point); }); }
  ResultSchema schema(const ParamMap& point) const override { return theory_schema(point); }
  std::vector<CostConstant> cost_constants() const override {
    return {{"theory/point", "one set of closed-form curves", 7.6e-06}};
  }
  std::vector<CostTerm> cost_terms(const ParamMap&) const override { return {{"theory/point", 1}}; }
  std::vector<std::vector<std::string>> calibration_points() const override {
    return {{"run.model_kind=theory", "theory.version=v2"}, {"run.model_kind=theory", "theory.version=v1"}};
  }
  PointRecord run(const ParamMap& point, const ProgressFn&) const override { return run_theory(point); }

 private:
  template <class F>
  static std::vector<std::string> collect(F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      return {e.what()};
    }
    return {};
  }
  friend class OnlineKind;
};

// The Algorithm 1 simulation: tabular and cheap, the showcase for huge grids.
class OnlineKind final : public ModelKind {
 public:
  std::string name() const override { return "online"; }
  std::vector<std::string> validate(const ParamMap& point) const override {
    return TheoryKind::collect([&] { OnlineParams::from(point); });
  }
  ResultSchema schema(const ParamMap& point) const override { return online_schema(point); }
  std::vector<CostConstant> cost_constants() const override {
    // Tabular: about 1.9M steps (L = 1) per CPU second (iclsweep calibrate, 2026-12-07).
    return {{"online/context_step", "step of Algorithm 1 times (L + 1) sequence positions", 2.6e-07},
            {"online/point", "one point's fixed setup and records", 0.0075}};
  }
  std::vector<CostTerm> cost_terms(const ParamMap& point) const override {
    return {{"online/context_step", static_cast<double>(point.get_int("data.dataset_size")) * (point.get_int("data.num_contexts") + 1)},
            {"online/point", 1}};
  }
  std::vector<std::vector<std::string>> calibration_points() const override {
    return {{"run.model_kind=online", "data.dataset_size=2^22", "data.input_noise_std=0.4"},
            {"run.model_kind=online", "data.dataset_size=2^10"}};
  }
  PointRecord run(const ParamMap& point, const ProgressFn& progress) const override {
    return run_online(point, [&](double f) {
      if (progress) progress(f, "");
    });
  }
};

struct Entry {
  const char* name;
  std::unique_ptr<ModelKind> kind;
};

const std::vector<Entry>& kinds() {
  static const std::vector<Entry> table = [] {
    std::vector<Entry> t;
    t.push_back({"transformer", std::make_unique<TransformerKind>()});
    t.push_back({"gated", std::make_unique<GatedKind>()});
    t.push_back({"theory", std::make_unique<TheoryKind>()});
    t.push_back({"online", std::make_unique<OnlineKind>()});
    t.push_back({"omniglot", std::make_unique<OmniglotKind>()});
    t.push_back({"lm_facts", std::make_unique<lm::LmFactsKind>()});
    return t;
  }();
  return table;
}

}  // namespace

const ModelKind& model_kind(const std::string& name) {
  for (const auto& e : kinds())
    if (name == e.name) return *e.kind;
  if (const ModelKind* kind = families().find_kind(name)) return *kind;
  std::string known;
  for (const auto& k : model_kind_names()) known += (known.empty() ? "" : " | ") + k;
  throw InputError("parameter 'run.model_kind' = " + name + ": unknown model kind; known: " + known);
}

std::vector<std::string> model_kind_names() {
  std::vector<std::string> out;
  for (const auto& e : kinds()) out.emplace_back(e.name);
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
        // The message names the size keys first (the job's loader points at the line of the first key a
        // message names, so the refusal is shown at the size that is too large, not at run.model_kind).
        static const char* const kSizeKeys[] = {
            "model.embed_dim", "model.num_blocks", "model.num_heads", "model.widening_factor", "train.batch_size",
            "data.num_contexts", "data.num_dims", "data.num_high_prob_classes", "data.num_low_prob_classes",
            "omniglot.image_size", "lm.width", "lm.layers", "lm.heads", "lm.pretrain_batch_size"};
        std::string sizes;
        for (const char* key : kSizeKeys)
          if (point.has(key) && (kind.name() == "lm_facts") == (std::string(key).rfind("lm.", 0) == 0))
            sizes += (sizes.empty() ? "" : ", ") + std::string(key) + " = " + point.get_string(key);
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
