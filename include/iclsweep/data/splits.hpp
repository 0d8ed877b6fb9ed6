#pragma once
// Evaluation splits (PAPER-SPEC §1.7, §1.8): 18 named splits eval-<relevance>-<conditioning>[-flip_label]
// plus `pretraining`, each a fixed list of pool positions evaluated in fixed batches at every checkpoint.
//
//   EvalSet eval(params, train_pool);                 // 9 evaluation pools + fixed positions
//   for (std::size_t s = 0; s < eval.splits().size(); ++s)
//     for (int k = 0; k < eval.num_batches(s); ++k) { eval.assemble(s, k, batch); ... }
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "iclsweep/data/pool.hpp"

namespace icl {

struct SplitSpec {
  std::string name;           // "pretraining", "eval-default-none", "eval-relevant_context-low_prob-flip_label", ...
  bool pretraining = false;   // draws from the training pool (and ignores the fields below)
  Relevance relevance = Relevance::Default;
  Conditioning conditioning = Conditioning::None;
  bool flip = false;          // OOBD within-group shift
};

// "pretraining" first, then the 18 evaluation splits in the order relevance {default, relevant_context,
// irrelevant_context} x conditioning {none, high_prob, low_prob} x flip {0, 1}.
std::vector<SplitSpec> evaluation_splits();
std::string split_name(Relevance r, Conditioning c, bool flip);

// Q6: in per_slot mode with L_rel set, p_rel is ignored, so the relevant_context / irrelevant_context
// splits do not force what their names say. Returns "" when the split is meaningful, else why not
// (the train room should record such splits as invalid / NaN).
std::string split_invalid_reason(const SplitSpec& split, const DataParams& params);

struct EvalOptions {
  int num_eval_samples = 1000;          // per split; the pool holds 5x this many sequences
  int pretraining_samples = 10000;      // draws from the training pool for the `pretraining` split
  int batch_size = 100;                 // evaluation batch size
  std::optional<double> default_p_relevant;  // p' of §1.8 for the default splits (baselines)
};

// What the trainer evaluates at every checkpoint: named splits, each a fixed sequence of batches.
// EvalSet (the stylized distribution) and OmniglotEvalSet (data/omniglot_pool.hpp) implement it.
class SplitSet {
 public:
  virtual ~SplitSet() = default;
  virtual const std::vector<SplitSpec>& splits() const = 0;
  // False: the split is recorded as NaN (see split_invalid_reason).
  virtual bool valid(std::size_t split) const = 0;
  virtual int num_batches(std::size_t split) const = 0;
  // Batch k of split `split` (size batch_size, the last one possibly shorter).
  virtual void assemble(std::size_t split, int k, Batch& out) const = 0;
  std::size_t find(const std::string& name) const;  // index of a split; InputError listing the names if unknown
};

class EvalSet final : public SplitSet {
 public:
  EvalSet(const DataParams& train_params, std::shared_ptr<const Pool> train_pool, EvalOptions options = {});

  const std::vector<SplitSpec>& splits() const override { return splits_; }
  int num_batches(std::size_t split) const override;
  void assemble(std::size_t split, int k, Batch& out) const override;
  // The split's fixed positions into its pool, and the pool itself.
  const std::vector<std::int64_t>& positions(std::size_t split) const;
  const Pool& pool(std::size_t split) const;
  const Pool& eval_pool(Relevance r, Conditioning c) const;
  bool valid(std::size_t split) const override { return invalid_reason_[split].empty(); }
  const std::string& invalid_reason(std::size_t split) const { return invalid_reason_[split]; }
  const EvalOptions& options() const { return options_; }
  std::size_t memory_bytes() const;

 private:
  static std::size_t pool_index(Relevance r, Conditioning c) { return 3 * static_cast<std::size_t>(r) + static_cast<std::size_t>(c); }
  EvalOptions options_;
  std::vector<SplitSpec> splits_;
  std::vector<std::string> invalid_reason_;
  std::shared_ptr<const Pool> train_pool_;
  std::vector<Pool> eval_pools_;                          // 9, by pool_index
  std::vector<std::vector<std::int64_t>> eval_positions_; // 9, shared by flip twins
  std::vector<std::int64_t> pretraining_positions_;
};

}  // namespace icl
