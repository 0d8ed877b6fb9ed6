#pragma once
// run.model_kind = raventos: one point trains the regression transformer of Raventós et al. 2023 on a pool
// of M tasks (PEERS-SPEC §3) and records its MSE per context position on T_Pretrain and T_True, beside the
// exact Ridge and dMMSE baselines and its distance to each (§3.4).
#include "iclsweep/core/model_kind.hpp"
#include "kinds/raventos/params.hpp"

namespace icl::raventos {

// The learning rate of optimizer step t = 0..steps−1: the triangle (one-cycle) schedule of §3.3.
double triangle_learning_rate(const Params& p, std::int64_t step);

class RaventosKind final : public ModelKind {
 public:
  std::string name() const override { return "raventos"; }
  std::vector<std::string> validate(const ParamMap& point) const override;
  ResultSchema schema(const ParamMap& point) const override;
  std::vector<CostConstant> cost_constants() const override;
  std::vector<CostTerm> cost_terms(const ParamMap& point) const override;
  std::vector<std::vector<std::string>> calibration_points() const override;
  double memory_bytes(const ParamMap& point) const override;
  PointRecord run(const ParamMap& point, const ProgressFn& progress) const override;
  std::vector<std::pair<std::string, std::string>> summary_fields() const override;
};

}  // namespace icl::raventos
