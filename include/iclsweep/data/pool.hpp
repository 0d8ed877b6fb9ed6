#pragma once
// Prototypes, pools and batch assembly (PAPER-SPEC §1.1, §1.2-§1.6).
//
// A pool stores only the clean class table T (uint16, N x (L+1)); inputs x = mu_c + sigma*xi and the
// label-noise mask are regenerated from counter-based streams keyed by (pool, n, j) each time a batch
// is assembled. They are therefore fixed per pool element, exactly as if stored, while a 2^20-sequence
// L = 16 pool takes 34 MiB instead of 4.6 GiB of floats.
//
//   auto protos = std::make_shared<const Prototypes>(params.seed, params.num_classes(), params.num_dims);
//   auto train = std::make_shared<const Pool>(Pool::training(params, protos));
//   Batch batch;
//   train->assemble(training_positions(params.seed, train->size(), step), /*flip=*/false, batch);
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "iclsweep/core/batch.hpp"
#include "iclsweep/core/rng.hpp"
#include "iclsweep/data/params.hpp"

namespace icl {

// mu_c ~ N(0, I_D) / ||.||, c = 0..C-1, from stream (seed, Prototypes), cell c. Depends only on the seed
// (and C, D), so every pool of a seed shares them.
class Prototypes {
 public:
  Prototypes(std::uint64_t seed, int num_classes, int num_dims);
  const float* operator[](int c) const { return values_.data() + static_cast<std::size_t>(c) * num_dims_; }
  int num_classes() const { return num_classes_; }
  int num_dims() const { return num_dims_; }

 private:
  int num_classes_, num_dims_;
  std::vector<float> values_;  // (C, D)
};

// Which relevance an evaluation split forces (§1.7). Values are stream sub-ids: never renumber.
enum class Relevance : std::uint32_t { Default = 0, Relevant = 1, Irrelevant = 2 };
const char* to_string(Relevance r);

// Every evaluation pool holds 5 * eval.num_eval_samples sequences and must query each of the C classes:
// the ParamError for a pool of `pool_size` < C ("C = 10 classes", "C = 242 Omniglot classes").
ParamError eval_pool_too_small(std::int64_t pool_size, int num_classes, const std::string& classes = "classes");

class Pool {
 public:
  // The run's training pool: N = params.dataset_size sequences from stream (seed, TrainPool).
  static Pool training(const DataParams& params, std::shared_ptr<const Prototypes> prototypes);
  static Pool training(const DataParams& params);
  // An evaluation pool (§1.7): the training config with N := size, the split's conditioning, and p_rel
  // forced to 1 (Relevant), 0 (Irrelevant), or default_p_relevant (Default; the training p_rel when
  // unset, the baseline override p' of §1.8 otherwise). Stream (seed, EvalPool, relevance, conditioning).
  static Pool evaluation(const DataParams& train_params, Relevance relevance, Conditioning conditioning,
                         std::int64_t size, std::optional<double> default_p_relevant,
                         std::shared_ptr<const Prototypes> prototypes);

  // General form: `params` are the pool's effective parameters (N, p_rel, conditioning already set),
  // `label_key` the stream of its class table, `pool_id` the sub-id of its input- and label-noise streams.
  Pool(const DataParams& params, StreamKey label_key, std::uint64_t pool_id, std::shared_ptr<const Prototypes> prototypes);

  std::int64_t size() const { return params_.dataset_size; }
  int seq_len() const { return params_.num_contexts + 1; }
  const DataParams& params() const { return params_; }
  std::uint64_t pool_id() const { return pool_id_; }
  const Prototypes& prototypes() const { return *prototypes_; }
  // Clean classes T[n][0..L] (column L = query) before any shift or noise.
  const std::uint16_t* sequence(std::int64_t n) const { return classes_.data() + n * seq_len(); }
  std::uint16_t cls(std::int64_t n, int j) const { return sequence(n)[j]; }
  // Label-noise mask M[n][j] (§1.2 step 3), regenerated from (pool, n, j).
  bool label_flipped(std::int64_t n, int j) const;
  // Input noise xi[n][j] (D floats), regenerated from (pool, n, j); what assemble() adds times sigma.
  void input_noise(std::int64_t n, int j, float* out) const;
  // Bytes held by this pool (class table, the object, and its share of the prototypes).
  std::size_t memory_bytes() const;

  // Fills `out` (resized to B = positions.size()) for pool positions `positions` and flip f (§1.5):
  // inputs mu_T + sigma*xi, clean shifted classes, observed labels (shift, then noise), label_dist.
  // Never mutates the pool (Q5). Q3 (label_dist from the unshifted query) under vfinal_bug_compat.
  void assemble(const std::int64_t* positions, int count, bool flip, Batch& out) const;
  void assemble(const std::vector<std::int64_t>& positions, bool flip, Batch& out) const {
    assemble(positions.data(), static_cast<int>(positions.size()), flip, out);
  }

 private:
  DataParams params_;
  std::uint64_t pool_id_;
  StreamKey input_noise_key_, label_noise_key_;
  std::shared_ptr<const Prototypes> prototypes_;
  std::vector<std::uint16_t> classes_;  // (N, L+1)
};

// The within-group cyclic shift of §1.5: C_H: c -> (c+1) mod H; C_L: c -> H + ((c-H+1) mod Lo).
inline int shift_within_group(int c, int H, int Lo) { return c < H ? (c + 1) % H : H + (c - H + 1) % Lo; }

// Step t's minibatch positions (§1.6): `batch_size` draws uniform with replacement from [0, N), from
// stream (seed, TrainBatches) cell t. Depends only on (seed, N, t).
void training_positions(std::uint64_t seed, std::int64_t pool_size, std::int64_t step, int batch_size,
                        std::vector<std::int64_t>& out);
std::vector<std::int64_t> training_positions(std::uint64_t seed, std::int64_t pool_size, std::int64_t step,
                                             int batch_size = 32);

// `count` standard normals for cell `cell` of stream `key`: h = ceil(count/2) Box-Muller pairs from
// 24-bit float uniforms (tails cut at |z| ~ 5.8), out[k] = r_k cos(theta_k) for k < h and
// r_{k-h} sin(theta_{k-h}) after. The input noise xi[n][j] of a pool is this with count = D.
void fill_standard_normals(StreamKey key, std::uint64_t cell, int count, float* out);

// Mean wall time (ms) of assembling one batch of `batch_size` from a fresh 4096-sequence pool with
// the default parameters, L contexts and sigma = input_noise_std; for `iclsweep bench`.
double time_batch_assembly_ms(int num_contexts, int reps, int batch_size = 32, double input_noise_std = 0.2);

}  // namespace icl
