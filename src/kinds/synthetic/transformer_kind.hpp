#pragma once
// The transformer model kind (run.model_kind = transformer, PAPER-SPEC §2): the §2 transformer trained on
// the stylized distribution by the shared loop of the train room (train_and_evaluate).
#include <string>
#include <utility>
#include <vector>

#include "iclsweep/core/model_kind.hpp"

namespace icl {

// The transformer model kind (run.model_kind = transformer).
class TransformerKind final : public ModelKind {
 public:
  std::string name() const override { return "transformer"; }
  std::vector<std::string> validate(const ParamMap& point) const override;
  ResultSchema schema(const ParamMap& point) const override;
  std::vector<CostConstant> cost_constants() const override;
  std::vector<CostTerm> cost_terms(const ParamMap& point) const override;
  std::vector<std::vector<std::string>> calibration_points() const override;
  double memory_bytes(const ParamMap& point) const override;
  PointRecord run(const ParamMap& point, const ProgressFn& progress) const override;
  std::vector<std::pair<std::string, std::string>> summary_fields() const override;
  std::vector<std::string> size_keys() const override;
  bool reads_stylized_sequences() const override { return true; }
  std::vector<std::string> shared_keys() const override { return {"data.", "model.", "train.", "eval."}; }
};

}  // namespace icl
