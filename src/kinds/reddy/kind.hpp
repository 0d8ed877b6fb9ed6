#pragma once
// run.model_kind = reddy: Reddy 2024's bursty Gaussian-mixture classification task (PEERS-SPEC §1),
// trained online with plain SGD and the per-step shrink of §1.3, evaluated at every checkpoint on the
// four fixed sets (Test, IC, IC2, IW) with the attention progress measures of §1.4.
#include <string>
#include <vector>

#include "iclsweep/core/model_kind.hpp"
#include "kinds/reddy/data.hpp"

namespace icl::reddy {

std::vector<ParamSpec> param_specs();

struct TrainSettings {
  std::int64_t steps = 150000;
  int batch_size = 128;
  double learning_rate = 0.01, shrink = 1e-6;
  std::int64_t eval_interval = 1000;
  int eval_size = 10000;
  static TrainSettings from(const ParamMap& p);
  std::vector<std::int64_t> checkpoint_steps() const;  // 0, interval, 2*interval, ..., steps
};

class ReddyKind final : public ModelKind {
 public:
  std::string name() const override { return "reddy"; }
  std::vector<std::string> validate(const ParamMap& point) const override;
  ResultSchema schema(const ParamMap& point) const override;
  std::vector<CostConstant> cost_constants() const override;
  std::vector<CostTerm> cost_terms(const ParamMap& point) const override;
  std::vector<std::vector<std::string>> calibration_points() const override;
  double memory_bytes(const ParamMap& point) const override;
  PointRecord run(const ParamMap& point, const ProgressFn& progress) const override;
  std::vector<std::pair<std::string, std::string>> summary_fields() const override;
};

// GFLOP of one training step (forward + backward of one batch) and of one evaluation sequence (forward).
double train_step_gflop(const DataConfig& c, int batch);
double eval_sequence_gflop(const DataConfig& c);

}  // namespace icl::reddy
