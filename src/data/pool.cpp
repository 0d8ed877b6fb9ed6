#include "iclsweep/data/pool.hpp"

#include "iclsweep/core/aligned.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <unordered_map>

#include "iclsweep/core/error.hpp"
#include "iclsweep/data/sampler.hpp"

namespace icl {

const char* to_string(Relevance r) {
  switch (r) {
    case Relevance::Default: return "default";
    case Relevance::Relevant: return "relevant_context";
    case Relevance::Irrelevant: return "irrelevant_context";
  }
  return "default";
}

Prototypes::Prototypes(std::uint64_t seed, int num_classes, int num_dims)
    : num_classes_(num_classes), num_dims_(num_dims), values_(static_cast<std::size_t>(num_classes) * num_dims) {
  const StreamKey key = stream_key(seed, Purpose::Prototypes);
  std::vector<double> v(num_dims);
  for (int c = 0; c < num_classes; ++c) {
    Philox rng(key, static_cast<std::uint64_t>(c));
    double norm2 = 0.0;
    for (auto& x : v) {
      x = rng.normal();
      norm2 += x * x;
    }
    const double inv = 1.0 / std::sqrt(norm2);
    for (int d = 0; d < num_dims; ++d) values_[static_cast<std::size_t>(c) * num_dims + d] = static_cast<float>(v[d] * inv);
  }
}

// ---- streams ---------------------------------------------------------------------------------------

// Pool ids (sub-ids of the InputNoise / LabelNoise streams): 0 = training pool, 1 + 3*relevance +
// conditioning = evaluation pools. Part of the reproducibility contract.
static std::uint64_t eval_pool_id(Relevance r, Conditioning c) {
  return 1 + 3 * static_cast<std::uint64_t>(r) + static_cast<std::uint64_t>(c);
}

// The cell of the class-coverage draw: beyond every sequence index (N <= 2^31).
constexpr std::uint64_t kCoverageCell = std::uint64_t{1} << 62;

static std::uint64_t position_cell(std::int64_t n, int j, int seq_len) {
  return static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(seq_len) + static_cast<std::uint64_t>(j);
}

// Raw Philox words of one cell, with the same counter layout as core Philox (cell in words 0-1,
// block index in word 2), so fill_standard_normals(key, cell) consumes exactly Philox(key, cell)'s words.
static inline void philox_words(const Philox::Engine::key_type& k, std::uint64_t cell, int num_blocks, std::uint32_t* out) {
  Philox::Engine engine;
  Philox::Engine::ctr_type ctr{{static_cast<std::uint32_t>(cell), static_cast<std::uint32_t>(cell >> 32), 0u, 0u}};
  for (int b = 0; b < num_blocks; ++b) {
    ctr.v[2] = static_cast<std::uint32_t>(b);
    const auto r = engine(ctr, k);
    out[4 * b + 0] = r.v[0];
    out[4 * b + 1] = r.v[1];
    out[4 * b + 2] = r.v[2];
    out[4 * b + 3] = r.v[3];
  }
}

static Philox::Engine::key_type engine_key(StreamKey key) {
  return Philox::Engine::key_type{{static_cast<std::uint32_t>(key.value), static_cast<std::uint32_t>(key.value >> 32)}};
}

namespace {
// Box-Muller over many cells at once: gather the uniform words of every cell, then one vectorised
// Eigen pass for log/sqrt/sin/cos in float.
struct NormalScratch {
  std::vector<std::uint32_t> words;
  Eigen::ArrayXf radius_u, angle_u, cos_part, sin_part;
  int half = 0, stride = 0;

  // Generates ceil(count/2) pairs per cell for `cells`; pairs of cell i start at i*stride. Each cell's
  // segment is padded to whole SIMD packets, so every value goes through the same (vectorised) log,
  // sin and cos whatever batch it is assembled in: a pool element's noise is bitwise fixed.
  void generate(StreamKey key, const std::uint64_t* cells, int num_cells, int count) {
    half = (count + 1) / 2;
    stride = static_cast<int>((static_cast<std::size_t>(half) + kAlignElements<float> - 1) / kAlignElements<float> *
                              kAlignElements<float>);
    const int blocks = (half + 1) / 2;  // one block = 4 words = 2 pairs
    const auto k = engine_key(key);
    const Eigen::Index total = static_cast<Eigen::Index>(num_cells) * stride;
    words.resize(static_cast<std::size_t>(blocks) * 4);
    radius_u.setOnes(total);
    angle_u.setZero(total);
    for (int i = 0; i < num_cells; ++i) {
      philox_words(k, cells[i], blocks, words.data());
      float* ru = radius_u.data() + static_cast<std::size_t>(i) * stride;
      float* au = angle_u.data() + static_cast<std::size_t>(i) * stride;
      for (int p = 0; p < half; ++p) {
        ru[p] = static_cast<float>((words[2 * p] >> 8) + 1u) * 0x1.0p-24f;  // (0, 1]: safe for log
        au[p] = static_cast<float>(words[2 * p + 1] >> 8) * 0x1.0p-24f;     // [0, 1)
      }
    }
    const Eigen::ArrayXf r = (-2.0f * radius_u.log()).sqrt();             // (cells*stride)
    const Eigen::ArrayXf theta = angle_u * 6.28318530717958647692f;       // (cells*stride)
    cos_part = r * theta.cos();
    sin_part = r * theta.sin();
  }
  // Normal k of cell i (layout of fill_standard_normals).
  float at(int i, int k) const {
    const std::size_t base = static_cast<std::size_t>(i) * stride;
    return k < half ? cos_part[base + k] : sin_part[base + k - half];
  }
};
}  // namespace

void fill_standard_normals(StreamKey key, std::uint64_t cell, int count, float* out) {
  NormalScratch s;
  s.generate(key, &cell, 1, count);
  for (int k = 0; k < count; ++k) out[k] = s.at(0, k);
}

// ---- pools -----------------------------------------------------------------------------------------

Pool::Pool(const DataParams& params, StreamKey label_key, std::uint64_t pool_id, std::shared_ptr<const Prototypes> prototypes)
    : params_(params),
      pool_id_(pool_id),
      input_noise_key_(stream_key(params.seed, Purpose::InputNoise, pool_id)),
      label_noise_key_(stream_key(params.seed, Purpose::LabelNoise, pool_id)),
      prototypes_(std::move(prototypes)) {
  params_.validate();
  const int C = params_.num_classes();
  if (!prototypes_ || prototypes_->num_classes() != C || prototypes_->num_dims() != params_.num_dims)
    throw Error("internal: pool prototypes do not match C = " + std::to_string(C) + ", D = " + std::to_string(params_.num_dims));
  const std::int64_t N = params_.dataset_size;
  const int S = seq_len();
  classes_.resize(static_cast<std::size_t>(N) * S);

  // §1.2 step 2 (per_sequence only): C distinct rows, uniformly, each assigned one class.
  std::unordered_map<std::int64_t, int> coverage;
  if (params_.relevance_mode == RelevanceMode::PerSequence) {
    Philox rng(label_key, kCoverageCell);
    coverage = class_coverage_rows(rng, N, C);
  }

  const SequenceGenerator generator(params_);
  for (std::int64_t n = 0; n < N; ++n) {
    Philox rng(label_key, static_cast<std::uint64_t>(n));
    int forced = -1;
    if (!coverage.empty()) {
      const auto it = coverage.find(n);
      if (it != coverage.end()) forced = it->second;
    }
    generator.generate(rng, forced, classes_.data() + n * S);
  }
}

Pool Pool::training(const DataParams& params, std::shared_ptr<const Prototypes> prototypes) {
  return Pool(params, stream_key(params.seed, Purpose::TrainPool), 0, std::move(prototypes));
}

Pool Pool::training(const DataParams& params) {
  return training(params, std::make_shared<const Prototypes>(params.seed, params.num_classes(), params.num_dims));
}

ParamError eval_pool_too_small(std::int64_t pool_size, int num_classes, const std::string& classes) {
  return ParamError("eval.num_eval_samples", std::to_string(pool_size / 5),
                    "the evaluation pools hold 5 * num_eval_samples = " + std::to_string(pool_size) +
                        " sequences each, which must be >= C = " + std::to_string(num_classes) + " " + classes +
                        " (raise eval.num_eval_samples to at least " + std::to_string((num_classes + 4) / 5) + ")");
}

Pool Pool::evaluation(const DataParams& train_params, Relevance relevance, Conditioning conditioning, std::int64_t size,
                      std::optional<double> default_p_relevant, std::shared_ptr<const Prototypes> prototypes) {
  DataParams p = train_params;
  p.dataset_size = size;
  p.conditioning = conditioning;
  switch (relevance) {
    case Relevance::Default: p.p_relevant_context = default_p_relevant.value_or(train_params.p_relevant_context); break;
    case Relevance::Relevant: p.p_relevant_context = 1.0; break;
    case Relevance::Irrelevant: p.p_relevant_context = 0.0; break;
  }
  if (size < p.num_classes()) throw eval_pool_too_small(size, p.num_classes());
  if (!(p.p_relevant_context >= 0.0 && p.p_relevant_context <= 1.0))
    throw ParamError("eval.default_p_relevant_context", format_real(p.p_relevant_context), "must lie in [0, 1]");
  return Pool(p, stream_key(p.seed, Purpose::EvalPool, static_cast<std::uint64_t>(relevance), static_cast<std::uint64_t>(conditioning)),
              eval_pool_id(relevance, conditioning), std::move(prototypes));
}

bool Pool::label_flipped(std::int64_t n, int j) const {
  if (params_.label_noise <= 0.0) return false;
  Philox rng(label_noise_key_, static_cast<std::uint64_t>(n));
  bool flipped = false;
  for (int k = 0; k <= j; ++k) flipped = rng.uniform() < params_.label_noise;
  return flipped;
}

void Pool::input_noise(std::int64_t n, int j, float* out) const {
  fill_standard_normals(input_noise_key_, position_cell(n, j, seq_len()), params_.num_dims, out);
}

std::size_t Pool::memory_bytes() const {
  const std::size_t protos = static_cast<std::size_t>(prototypes_->num_classes()) * prototypes_->num_dims() * sizeof(float);
  return sizeof(*this) + classes_.capacity() * sizeof(std::uint16_t) + protos;
}

void Pool::assemble(const std::int64_t* positions, int count, bool flip, Batch& out) const {
  const int L = params_.num_contexts, S = L + 1, D = params_.num_dims;
  const int H = params_.num_high_prob_classes, Lo = params_.num_low_prob_classes, C = H + Lo;
  const double eps = params_.label_noise;
  out.resize(count, L, D, C);
  std::fill(out.label_dist.begin(), out.label_dist.end(), 0.0f);

  for (int b = 0; b < count; ++b) {
    const std::int64_t n = positions[b];
    if (n < 0 || n >= size()) throw Error("internal: pool position " + std::to_string(n) + " outside [0, " + std::to_string(size()) + ")");
    const std::uint16_t* T = sequence(n);
    std::int32_t* cls = out.classes.data() + static_cast<std::size_t>(b) * S;
    std::int32_t* lab = out.labels.data() + static_cast<std::size_t>(b) * S;
    for (int j = 0; j < S; ++j) cls[j] = flip ? shift_within_group(T[j], H, Lo) : T[j];  // on a copy (Q5)
    out.unshifted_query[static_cast<std::size_t>(b)] = T[L];
    // label_dist from the clean shifted query; Q3 (compat) used the unshifted one.
    const int q = params_.vfinal_bug_compat ? T[L] : cls[L];
    float* dist = out.label_dist.data() + static_cast<std::size_t>(b) * C;
    dist[q] = static_cast<float>(1.0 - eps);
    dist[(q + 1) % C] += static_cast<float>(eps);
    if (eps > 0.0) {
      Philox rng(label_noise_key_, static_cast<std::uint64_t>(n));
      for (int j = 0; j < S; ++j) lab[j] = rng.uniform() < eps ? (cls[j] + 1) % C : cls[j];
    } else {
      std::copy(cls, cls + S, lab);
    }
  }

  // Inputs: x = mu_{T[n][j]} (the unshifted class: the shift relabels, it does not move inputs).
  for (int b = 0; b < count; ++b) {
    const std::uint16_t* T = sequence(positions[b]);
    for (int j = 0; j < S; ++j) std::copy_n((*prototypes_)[T[j]], D, out.input(b, j));
  }
  const float sigma = static_cast<float>(params_.input_noise_std);
  if (sigma > 0.0f) {
    thread_local NormalScratch scratch;
    thread_local std::vector<std::uint64_t> cells;
    cells.resize(static_cast<std::size_t>(count) * S);
    for (int b = 0; b < count; ++b)
      for (int j = 0; j < S; ++j) cells[static_cast<std::size_t>(b) * S + j] = position_cell(positions[b], j, S);
    scratch.generate(input_noise_key_, cells.data(), count * S, D);
    const int half = scratch.half;
    for (int i = 0; i < count * S; ++i) {
      float* x = out.inputs.data() + static_cast<std::size_t>(i) * D;
      const float* c = scratch.cos_part.data() + static_cast<std::size_t>(i) * scratch.stride;
      const float* s = scratch.sin_part.data() + static_cast<std::size_t>(i) * scratch.stride;
      for (int k = 0; k < half; ++k) x[k] += sigma * c[k];
      for (int k = half; k < D; ++k) x[k] += sigma * s[k - half];
    }
  }
}

// ---- minibatches -----------------------------------------------------------------------------------

void training_positions(std::uint64_t seed, std::int64_t pool_size, std::int64_t step, int batch_size,
                        std::vector<std::int64_t>& out) {
  Philox rng(stream_key(seed, Purpose::TrainBatches), static_cast<std::uint64_t>(step));
  out.resize(batch_size);
  for (auto& n : out) n = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(pool_size)));
}

std::vector<std::int64_t> training_positions(std::uint64_t seed, std::int64_t pool_size, std::int64_t step, int batch_size) {
  std::vector<std::int64_t> out;
  training_positions(seed, pool_size, step, batch_size, out);
  return out;
}

double time_batch_assembly_ms(int num_contexts, int reps, int batch_size, double input_noise_std) {
  DataParams p;
  p.dataset_size = 4096;
  p.num_contexts = num_contexts;
  p.input_noise_std = input_noise_std;
  const Pool pool = Pool::training(p);
  Batch batch;
  std::vector<std::int64_t> positions;
  training_positions(p.seed, pool.size(), 0, batch_size, positions);
  pool.assemble(positions, false, batch);  // warm up allocations
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) {
    training_positions(p.seed, pool.size(), r + 1, batch_size, positions);
    pool.assemble(positions, false, batch);
  }
  const std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - start;
  return elapsed.count() / std::max(1, reps);
}

}  // namespace icl
