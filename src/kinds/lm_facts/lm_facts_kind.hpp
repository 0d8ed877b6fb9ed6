#pragma once
// The `lm_facts` model kind (run.model_kind = lm_facts): the language-model analog of the paper's
// fine-tuning experiment (PAPER-SPEC §5.5, H10; issue 13). One grid point runs, for its parameters
// and seed:
//   1. pretraining of a character LM (char_lm.hpp) on the generated corpus (corpus.hpp), Adam, until
//      the gate (ICL on fresh names ≥ lm.gate_icl and recall of frequent known people ≥ lm.gate_iwl,
//      checked every lm.pretrain_eval_interval steps) or lm.pretrain_steps; a point that misses the gate
//      fails with the numbers in its message;
//   2. fine-tuning on lm.num_facts name→city facts with the paper's protocol: the question alone, loss on
//      the answer tokens only, batch 1, SGD (or Adam), lm.finetune_params updated, optionally a fraction
//      lm.remedy_fraction of context-bearing (fresh-name) pretraining examples mixed in;
//   3. probes at step 0 and every checkpoint (lm_probes.hpp).
// Pretraining depends only on the pretraining keys and the seed, so a per-process cache keyed by them
// shares one pretrained model between the fine-tuning arms of a seed that land in the same process;
// the cached model is bit-identical to a recomputed one, so points stay deterministic.
#include <cstdint>
#include <string>
#include <vector>

#include "iclsweep/core/model_kind.hpp"
#include "iclsweep/lm/char_lm.hpp"
#include "iclsweep/lm/corpus.hpp"

namespace icl::lm {

struct LmFactsParams {
  LmConfig model;
  CorpusParams corpus;
  std::int64_t pretrain_steps = 20000;
  int pretrain_batch_size = 32;
  double pretrain_learning_rate = 1e-3;
  std::int64_t pretrain_eval_interval = 1000;
  int pretrain_log_interval = 100;
  int eval_samples = 256;
  double gate_icl = 0.9, gate_iwl = 0.9;
  int num_facts = 8;
  std::int64_t finetune_steps = 10000;
  std::int64_t checkpoint_interval = 500;
  int finetune_log_interval = 100;
  OptimizerKind finetune_optimizer = OptimizerKind::Sgd;
  double finetune_learning_rate = 1e-3;
  ParamGroup finetune_params = ParamGroup::All;
  std::string finetune_params_name = "all";
  double remedy_fraction = 0;

  std::vector<std::int64_t> checkpoint_steps() const;  // 0, interval, ..., finetune_steps
  std::int64_t num_pretrain_evals() const;             // gate checks: every interval and at the last step
  static LmFactsParams from(const ParamMap& point);    // ParamError naming key, value and rule
  // The canonical text of every key pretraining depends on (the cache key).
  static std::string pretraining_key(const ParamMap& point);
};

std::vector<ParamSpec> lm_param_specs();

// Empties this process's pretraining cache (tests compare cached and recomputed points).
void clear_pretraining_cache();

class LmFactsKind final : public ModelKind {
 public:
  std::string name() const override { return "lm_facts"; }
  std::vector<std::string> validate(const ParamMap& point) const override;
  ResultSchema schema(const ParamMap& point) const override;
  std::vector<CostConstant> cost_constants() const override;
  std::vector<CostTerm> cost_terms(const ParamMap& point) const override;
  std::pair<std::string, std::vector<CostTerm>> shared_cost_terms(const ParamMap& point) const override;
  std::vector<std::vector<std::string>> calibration_points() const override;
  double memory_bytes(const ParamMap& point) const override;
  std::vector<std::pair<std::string, std::string>> input_fingerprints(const ParamMap& point) const override;
  PointRecord run(const ParamMap& point, const ProgressFn& progress) const override;
  std::vector<std::pair<std::string, std::string>> summary_fields() const override;
  std::vector<std::string> size_keys() const override { return {"lm.width", "lm.layers", "lm.heads", "lm.pretrain_batch_size"}; }
};

}  // namespace icl::lm
