#pragma once
// Omniglot sequence pools, minibatch streams and evaluation splits (PAPER-SPEC §5.3, Q12-Q15).
//
// The same pipeline as the stylized data (pool.hpp): a pool stores only the clean class table
// T[n][0..L]; what a position shows is regenerated at batch assembly from the shared 1-bit images
// (data/omniglot_images.hpp) and counter-based streams, so it is fixed per pool element and
// bit-identical whatever batch it lands in:
//   image   drawing 0 of class T[n][j] ("single" exemplar), or in a heldout split drawing
//           e[n][j] ~ U{1..19} from (seed, HeldoutExemplar, pool) cell (n, j) (Q13; U{0..19} as compat)
//   noise   sigma * N(0,1) per pixel from (seed, InputNoise, pool) cell n*(L+1)+j (Q15 fixed)
//   labels  OOBD within-group shift on a copy (Q5), then label noise from (seed, LabelNoise, pool)
//
// Relevance (per sequence, §5.3): relevant rows draw their contexts i.i.d. from w; if none is the
// query, slot 0 := query; then the contexts of every relevant row are permuted. With L_rel set,
// exactly L_rel contexts are the query at uniform slots, the rest w|!=q (§1.2). Irrelevant rows draw
// every context from w|!=q exactly (no rejection with Lo = 1603). Class coverage and conditioning as §1.2.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "iclsweep/core/batch.hpp"
#include "iclsweep/core/error.hpp"
#include "iclsweep/core/params.hpp"
#include "iclsweep/core/rng.hpp"
#include "iclsweep/data/omniglot_images.hpp"
#include "iclsweep/data/params.hpp"
#include "iclsweep/data/pool.hpp"
#include "iclsweep/data/sampler.hpp"
#include "iclsweep/data/splits.hpp"

namespace icl {

enum class OmniglotSampling { EpochShuffle, WithReplacement };

// The omniglot.* keys and the data.* keys the Omniglot data uses.
struct OmniglotParams {
  std::string path;                 // omniglot.path ("" = omniglot_default_folder())
  int image_size = 105;             // omniglot.image_size: 105 (paper) or smaller (area downsampling)
  OmniglotSampling sampling = OmniglotSampling::EpochShuffle;  // omniglot.sampling (Q12)
  bool heldout_includes_first = false;  // omniglot.heldout_includes_first: Q13 compat, exemplar U{0..19}
  // data.* with Lo = C - H taken from the dataset and D = image_size^2 (data.num_low_prob_classes and
  // data.num_dims are not used).
  DataParams data;

  static constexpr int kHeldoutDrawings = 20;  // heldout exemplars are drawings 1..19 (or 0..19)

  // Reads the keys; throws ParamError only for values that do not parse.
  static OmniglotParams read(const ParamMap& point);
  // Rules that need no dataset, as messages naming key, value and rule.
  std::vector<std::string> parameter_errors() const;
  // Rules against the dataset (classes, drawings, N >= C); `batch_size` for epoch shuffling; each
  // evaluation pool holds 5 * `num_eval_samples` sequences and must cover every class (0: not checked).
  std::vector<std::string> dataset_errors(const OmniglotImages& images, int batch_size, std::int64_t num_eval_samples = 0) const;
  // The data parameters of pools over `images`: Lo = C - H, D = image_size^2.
  DataParams pool_params(const OmniglotImages& images) const;
  int input_dim() const { return image_size * image_size; }
};

std::vector<ParamSpec> omniglot_param_specs();

// Where a position's drawing comes from.
enum class Exemplar { First, Heldout };

class OmniglotPool {
 public:
  // `params` are the pool's effective parameters (N, p_rel, conditioning set; Lo = C - H).
  OmniglotPool(const DataParams& params, StreamKey label_key, std::uint64_t pool_id,
               std::shared_ptr<const OmniglotImages> images, int image_size, bool heldout_includes_first);
  static OmniglotPool training(const OmniglotParams& op, std::shared_ptr<const OmniglotImages> images);
  // §1.7: N := size, p_rel forced by `relevance` (Default: the training p_rel), the given conditioning;
  // stream (seed, EvalPool, relevance, conditioning), pool id 1 + 3*relevance + conditioning.
  static OmniglotPool evaluation(const OmniglotParams& op, std::shared_ptr<const OmniglotImages> images, Relevance relevance,
                                 Conditioning conditioning, std::int64_t size, std::optional<double> default_p_relevant);

  std::int64_t size() const { return params_.dataset_size; }
  int seq_len() const { return params_.num_contexts + 1; }
  const DataParams& params() const { return params_; }
  const std::uint16_t* sequence(std::int64_t n) const { return classes_.data() + n * seq_len(); }
  std::uint16_t cls(std::int64_t n, int j) const { return sequence(n)[j]; }
  // The drawing a heldout split shows at (n, j): uniform over 1..19 (0..19 with the compat option).
  int heldout_exemplar(std::int64_t n, int j) const;
  std::size_t memory_bytes() const { return sizeof(*this) + classes_.capacity() * sizeof(std::uint16_t); }

  // Batch for `positions` (§1.5 label pipeline, images and noise as above). Never mutates the pool.
  void assemble(const std::int64_t* positions, int count, bool flip, Exemplar exemplar, Batch& out) const;
  void assemble(const std::vector<std::int64_t>& positions, bool flip, Exemplar exemplar, Batch& out) const {
    assemble(positions.data(), static_cast<int>(positions.size()), flip, exemplar, out);
  }

 private:
  DataParams params_;
  std::uint64_t pool_id_;
  StreamKey input_noise_key_, label_noise_key_, exemplar_key_;
  std::shared_ptr<const OmniglotImages> images_;
  int image_size_;
  bool heldout_includes_first_;
  std::vector<std::uint16_t> classes_;  // (N, L+1)
};

// One sequence's clean classes under the §5.3 relevance rule (exposed for the sampler tests).
void generate_omniglot_sequence(const DataParams& p, const ClassSampler& sampler, Philox& rng, int forced_query,
                                std::uint16_t* out);

// Q12: epoch shuffling without replacement, last partial batch dropped, seeded. Epoch e is a uniform
// permutation of [0, N) drawn from (seed, EpochShuffle) cell e; step t reads batch t mod (N / B) of
// epoch t / (N / B). Caches the current epoch's permutation (not thread-safe).
class EpochShuffle {
 public:
  EpochShuffle(std::uint64_t seed, std::int64_t pool_size, int batch_size);
  void positions(std::int64_t step, std::vector<std::int64_t>& out);
  std::int64_t steps_per_epoch() const { return steps_per_epoch_; }

 private:
  std::uint64_t seed_;
  std::int64_t pool_size_, steps_per_epoch_;
  int batch_size_;
  std::int64_t epoch_ = -1;
  std::vector<std::uint32_t> order_;
};

// Step t's training positions by omniglot.sampling: EpochShuffle, or with replacement (pool.hpp).
class OmniglotBatchStream {
 public:
  OmniglotBatchStream(const OmniglotParams& op, std::int64_t pool_size, int batch_size);
  void positions(std::int64_t step, std::vector<std::int64_t>& out);

 private:
  OmniglotSampling sampling_;
  std::uint64_t seed_;
  std::int64_t pool_size_;
  int batch_size_;
  EpochShuffle shuffle_;
};

// Heldout split names: eval-<relevance>-<conditioning>-heldout_input-flipped_label.
std::string heldout_split_name(Relevance r, Conditioning c);

// The split list of OmniglotEvalSet (for schemas): pretraining, the 18 of §1.7, the 9 heldout ones.
std::vector<SplitSpec> omniglot_evaluation_splits();

// "pretraining", the 18 splits of §1.7 with the first drawing, then the 9 heldout splits (flipped
// labels, heldout drawings, the same pools and positions as their eval-<r>-<c> twins).
class OmniglotEvalSet final : public SplitSet {
 public:
  OmniglotEvalSet(const OmniglotParams& op, std::shared_ptr<const OmniglotImages> images,
                  std::shared_ptr<const OmniglotPool> train_pool, EvalOptions options);

  const std::vector<SplitSpec>& splits() const override { return splits_; }
  bool valid(std::size_t) const override { return true; }
  int num_batches(std::size_t split) const override;
  void assemble(std::size_t split, int k, Batch& out) const override;
  bool heldout(std::size_t split) const { return heldout_[split]; }
  const std::vector<std::int64_t>& positions(std::size_t split) const;
  const OmniglotPool& pool(std::size_t split) const;
  std::size_t memory_bytes() const;

 private:
  static std::size_t pool_index(Relevance r, Conditioning c) { return 3 * static_cast<std::size_t>(r) + static_cast<std::size_t>(c); }
  EvalOptions options_;
  std::vector<SplitSpec> splits_;
  std::vector<bool> heldout_;
  std::shared_ptr<const OmniglotPool> train_pool_;
  std::vector<OmniglotPool> eval_pools_;
  std::vector<std::vector<std::int64_t>> eval_positions_;
  std::vector<std::int64_t> pretraining_positions_;
};

}  // namespace icl
