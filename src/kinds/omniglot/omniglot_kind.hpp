#pragma once
// The Omniglot model kind (run.model_kind = omniglot, PAPER-SPEC §5.3): the §2 transformer with the
// trainable ResNet-v1 input tokenizer (model.input_tokenizer = resnet_v1) on Omniglot sequences
// (data/omniglot_pool.hpp), trained and evaluated by the same loop as the synthetic transformer
// (train_and_evaluate). The results carry the transformer's fields over 28 splits (pretraining, the 18
// of §1.7, the 9 heldout ones) plus:
//   omniglot/num_classes, omniglot/num_low_prob_classes   C and Lo = C - H of the dataset read
//   omniglot/image_size, omniglot/paper_deviation          the side fed to the tokenizer; 1 when != 105
//   train/low_prob_queries      per checkpoint: training queries from C_L so far (the minibatch stream)
//   train/low_prob_classes_seen per checkpoint: distinct C_L classes queried so far
#include <string>
#include <utility>
#include <vector>

#include "iclsweep/core/model_kind.hpp"
#include "iclsweep/model/config.hpp"

namespace icl {

class OmniglotKind final : public ModelKind {
 public:
  std::string name() const override { return "omniglot"; }
  std::vector<std::string> validate(const ParamMap& point) const override;
  // The dataset itself (loaded once per process): a missing or broken folder or file, too few
  // drawings, N < C; `iclsweep run` reports these before any results file exists.
  std::vector<std::string> check_inputs(const ParamMap& point) const override;
  std::vector<std::pair<std::string, std::string>> input_fingerprints(const ParamMap& point) const override;
  ResultSchema schema(const ParamMap& point) const override;
  std::vector<CostConstant> cost_constants() const override;
  std::vector<CostTerm> cost_terms(const ParamMap& point) const override;
  std::vector<std::vector<std::string>> calibration_points() const override;
  double memory_bytes(const ParamMap& point) const override;
  PointRecord run(const ParamMap& point, const ProgressFn& progress) const override;
  std::vector<std::pair<std::string, std::string>> summary_fields() const override;
  std::vector<std::string> size_keys() const override;
  // C and Lo = C - H come from the dataset: validate() checks the data keys against it.
  bool follows_stylized_data_rules() const override { return false; }
  std::vector<std::string> shared_keys() const override { return {"data.", "model.", "train.", "eval."}; }
};

}  // namespace icl
