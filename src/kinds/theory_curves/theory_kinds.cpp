#include "kinds/theory_curves/theory_kinds.hpp"

#include <string>
#include <vector>

#include "iclsweep/theory/bounds.hpp"
#include "iclsweep/theory/online.hpp"

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
  std::vector<std::string> shared_keys() const override { return {"data."}; }

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
  std::vector<std::string> shared_keys() const override { return {"data."}; }
  PointRecord run(const ParamMap& point, const ProgressFn& progress) const override {
    return run_online(point, [&](double f) {
      if (progress) progress(f, "");
    });
  }
};

}  // namespace

std::shared_ptr<const ModelKind> make_theory_kind() { return std::make_shared<TheoryKind>(); }
std::shared_ptr<const ModelKind> make_online_kind() { return std::make_shared<OnlineKind>(); }

}  // namespace icl
