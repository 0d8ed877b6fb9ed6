#include "iclsweep/data/omniglot_pool.hpp"

#include <algorithm>
#include <numeric>
#include <unordered_map>

#include "iclsweep/core/quote.hpp"
#include "iclsweep/data/sampler.hpp"

namespace icl {

// ---- parameters ------------------------------------------------------------------------------------

std::vector<ParamSpec> omniglot_param_specs() {
  using T = ParamType;
  return {
      {"omniglot.path", T::String, "",
       "folder holding images_background.zip and images_evaluation.zip (or the small subsets, or their extracted folders); "
       "empty = $XDG_DATA_HOME/iclsweep/omniglot, else ~/.local/share/iclsweep/omniglot (scripts/get-omniglot fills it)",
       {}},
      {"omniglot.image_size", T::Int, "105",
       "image side fed to the tokenizer: 105 = the paper; smaller (e.g. 28) = area downsampling before noise, a cheaper "
       "deviation recorded in the results and marked in figures (8..105)",
       {}, 8, 105},
      {"omniglot.sampling", T::String, "epoch_shuffle",
       "training minibatches: epoch_shuffle (seeded, without replacement, last partial batch dropped; Q12) or with_replacement",
       {"epoch_shuffle", "with_replacement"}},
      {"omniglot.heldout_includes_first", T::Bool, "0",
       "heldout splits: 0 = exemplar uniform over drawings 1..19 (Q13 fixed); 1 = over 0..19 as in the reference code", {}},
  };
}

OmniglotParams OmniglotParams::read(const ParamMap& p) {
  OmniglotParams o;
  o.path = p.get_string("omniglot.path");
  o.image_size = static_cast<int>(p.get_int("omniglot.image_size"));
  const auto& sampling = p.get_string("omniglot.sampling");
  if (sampling != "epoch_shuffle" && sampling != "with_replacement")
    throw ParamError("omniglot.sampling", sampling, "must be one of epoch_shuffle | with_replacement");
  o.sampling = sampling == "with_replacement" ? OmniglotSampling::WithReplacement : OmniglotSampling::EpochShuffle;
  o.heldout_includes_first = p.get_bool("omniglot.heldout_includes_first");
  o.data = DataParams::read(p);
  o.data.input_tokenizer = "image";  // the identity tokenizer's D = E rule does not apply to images
  o.data.num_dims = o.input_dim();
  return o;
}

std::vector<std::string> OmniglotParams::parameter_errors() const {
  std::vector<std::string> e;
  auto rule = [&](const std::string& key, const std::string& value, const std::string& text) {
    e.push_back(ParamError(key, value, text).what());
  };
  if (image_size < 8 || image_size > OmniglotImages::kSide)
    rule("omniglot.image_size", std::to_string(image_size), "must lie in 8..105 (105 = the paper's images)");
  if (data.relevance_mode != RelevanceMode::PerSequence)
    rule("data.relevance_mode", to_string(data.relevance_mode), "Omniglot uses per_sequence relevance (PAPER-SPEC §5.3)");
  if (data.vfinal_bug_compat) rule("data.vfinal_bug_compat", "1", "does not apply to Omniglot");
  if (data.vpaper_bug_compat) rule("data.vpaper_bug_compat", "1", "does not apply to Omniglot");
  // The data rules that do not depend on the dataset (p_rel, sigma, L, L_rel, ...), with Lo as large as
  // allowed so the rules involving C are left to dataset_errors().
  if (data.num_high_prob_classes >= 1 && data.num_high_prob_classes < 65535) {
    DataParams d = data;
    d.num_low_prob_classes = 65535 - d.num_high_prob_classes;
    for (const auto& err : d.collect_errors())
      if (err.key != "data.num_low_prob_classes" && err.rule.find("C = ") == std::string::npos) e.push_back(err.what());
  } else {
    rule("data.num_high_prob_classes", std::to_string(data.num_high_prob_classes), "must be >= 1 (and below the number of classes)");
  }
  return e;
}

DataParams OmniglotParams::pool_params(const OmniglotImages& images) const {
  DataParams d = data;
  d.num_low_prob_classes = images.num_classes() - d.num_high_prob_classes;
  d.num_dims = input_dim();
  return d;
}

std::vector<std::string> OmniglotParams::dataset_errors(const OmniglotImages& images, int batch_size,
                                                        std::int64_t num_eval_samples) const {
  std::vector<std::string> e;
  const int C = images.num_classes();
  if (data.num_high_prob_classes >= C) {
    e.push_back(ParamError("data.num_high_prob_classes", std::to_string(data.num_high_prob_classes),
                           "must be below the " + std::to_string(C) + " classes found in " + printable(images.folder(), 200) +
                               " (the rest are the low-frequency classes)")
                    .what());
    return e;
  }
  for (const auto& err : pool_params(images).collect_errors()) {
    if (err.key == "data.dataset_size" && pool_params(images).dataset_size < C)
      e.push_back(ParamError("data.dataset_size", std::to_string(data.dataset_size),
                             "must be >= the number of classes C = " + std::to_string(C) + " found in " + printable(images.folder(), 200) +
                                 ", so every class is queried at least once (raise data.dataset_size)")
                      .what());
    else
      e.push_back(err.what());
  }
  for (int c = 0; c < C; ++c)
    if (images.num_drawings(c) < kHeldoutDrawings) {
      const auto& k = images.info(c);
      e.push_back("omniglot: class " + std::to_string(c) + " (" + printable(k.set + "/" + k.alphabet + "/" + k.character, 200) +
                  ", first drawing " + printable(k.first_file, 200) + ") has " + std::to_string(k.num_drawings) + " drawings; the heldout splits show drawings 1..19, so " +
                  "every class needs " + std::to_string(kHeldoutDrawings) +
                  ": restore the missing files (download the zips again with `scripts/get-omniglot DIR`)");
      break;
    }
  if (sampling == OmniglotSampling::EpochShuffle && data.dataset_size < batch_size)
    e.push_back(ParamError("data.dataset_size", std::to_string(data.dataset_size),
                           "must be >= train.batch_size = " + std::to_string(batch_size) +
                               " with omniglot.sampling = epoch_shuffle (an epoch holds N / B whole batches)")
                    .what());
  if (num_eval_samples > 0 && 5 * num_eval_samples < C) e.push_back(eval_pool_too_small(5 * num_eval_samples, C, "Omniglot classes").what());
  return e;
}

// ---- sequences -------------------------------------------------------------------------------------

void generate_omniglot_sequence(const DataParams& p, const ClassSampler& sampler, Philox& rng, int forced_query,
                                std::uint16_t* out) {
  const int L = p.num_contexts;
  const int q = p.conditioning != Conditioning::None ? sampler.draw_in_group(rng, p.conditioning)
                : forced_query >= 0                  ? forced_query
                                                     : sampler.draw(rng);
  out[L] = static_cast<std::uint16_t>(q);
  const bool relevant = rng.uniform() < p.p_relevant_context;
  if (!relevant) {
    for (int j = 0; j < L; ++j) out[j] = static_cast<std::uint16_t>(sampler.draw_excluding(rng, q));
    return;
  }
  if (p.num_relevant_contexts) {
    // Exactly L_rel matches at uniformly chosen slots (selection sampling), the rest from w|!=q.
    int needed = *p.num_relevant_contexts;
    for (int j = 0; j < L; ++j) {
      if (needed > 0 && static_cast<int>(rng.below(static_cast<std::uint64_t>(L - j))) < needed) {
        out[j] = static_cast<std::uint16_t>(q);
        --needed;
      } else {
        out[j] = static_cast<std::uint16_t>(sampler.draw_excluding(rng, q));
      }
    }
    return;
  }
  bool any = false;
  for (int j = 0; j < L; ++j) {
    out[j] = static_cast<std::uint16_t>(sampler.draw(rng));
    any = any || out[j] == q;
  }
  if (!any) out[0] = static_cast<std::uint16_t>(q);
  for (int j = L - 1; j > 0; --j) std::swap(out[j], out[rng.below(static_cast<std::uint64_t>(j + 1))]);
}

// ---- pools -----------------------------------------------------------------------------------------

namespace {
constexpr std::uint64_t kCoverageCell = std::uint64_t{1} << 62;  // beyond every sequence index
std::uint64_t eval_pool_id(Relevance r, Conditioning c) { return 1 + 3 * static_cast<std::uint64_t>(r) + static_cast<std::uint64_t>(c); }
std::uint64_t position_cell(std::int64_t n, int j, int seq_len) {
  return static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(seq_len) + static_cast<std::uint64_t>(j);
}
}  // namespace

OmniglotPool::OmniglotPool(const DataParams& params, StreamKey label_key, std::uint64_t pool_id,
                           std::shared_ptr<const OmniglotImages> images, int image_size, bool heldout_includes_first)
    : params_(params),
      pool_id_(pool_id),
      input_noise_key_(stream_key(params.seed, Purpose::InputNoise, pool_id)),
      label_noise_key_(stream_key(params.seed, Purpose::LabelNoise, pool_id)),
      exemplar_key_(stream_key(params.seed, Purpose::HeldoutExemplar, pool_id)),
      images_(std::move(images)),
      image_size_(image_size),
      heldout_includes_first_(heldout_includes_first) {
  params_.validate();
  const int C = params_.num_classes();
  if (!images_ || images_->num_classes() != C)
    throw Error("internal: omniglot pool with C = " + std::to_string(C) + " over a dataset of other size");
  const std::int64_t N = params_.dataset_size;
  const int S = seq_len();
  classes_.resize(static_cast<std::size_t>(N) * S);

  // Class coverage (§1.2 step 2): a uniform C-subset of rows (Floyd), assigned classes uniformly.
  std::unordered_map<std::int64_t, int> coverage;
  {
    Philox rng(label_key, kCoverageCell);
    coverage = class_coverage_rows(rng, N, C);
  }
  const ClassSampler sampler(params_);
  for (std::int64_t n = 0; n < N; ++n) {
    Philox rng(label_key, static_cast<std::uint64_t>(n));
    const auto it = coverage.find(n);
    generate_omniglot_sequence(params_, sampler, rng, it == coverage.end() ? -1 : it->second, classes_.data() + n * S);
  }
}

OmniglotPool OmniglotPool::training(const OmniglotParams& op, std::shared_ptr<const OmniglotImages> images) {
  const DataParams p = op.pool_params(*images);
  return OmniglotPool(p, stream_key(p.seed, Purpose::TrainPool), 0, std::move(images), op.image_size, op.heldout_includes_first);
}

OmniglotPool OmniglotPool::evaluation(const OmniglotParams& op, std::shared_ptr<const OmniglotImages> images, Relevance relevance,
                                      Conditioning conditioning, std::int64_t size, std::optional<double> default_p_relevant) {
  DataParams p = op.pool_params(*images);
  p.dataset_size = size;
  p.conditioning = conditioning;
  switch (relevance) {
    case Relevance::Default: p.p_relevant_context = default_p_relevant.value_or(op.data.p_relevant_context); break;
    case Relevance::Relevant: p.p_relevant_context = 1.0; break;
    case Relevance::Irrelevant: p.p_relevant_context = 0.0; break;
  }
  if (size < p.num_classes()) throw eval_pool_too_small(size, p.num_classes(), "Omniglot classes");
  return OmniglotPool(p,
                      stream_key(p.seed, Purpose::EvalPool, static_cast<std::uint64_t>(relevance), static_cast<std::uint64_t>(conditioning)),
                      eval_pool_id(relevance, conditioning), std::move(images), op.image_size, op.heldout_includes_first);
}

int OmniglotPool::heldout_exemplar(std::int64_t n, int j) const {
  Philox rng(exemplar_key_, position_cell(n, j, seq_len()));
  return heldout_includes_first_ ? static_cast<int>(rng.below(20)) : 1 + static_cast<int>(rng.below(19));
}

void OmniglotPool::assemble(const std::int64_t* positions, int count, bool flip, Exemplar exemplar, Batch& out) const {
  const int L = params_.num_contexts, S = L + 1, D = image_size_ * image_size_;
  const int H = params_.num_high_prob_classes, Lo = params_.num_low_prob_classes, C = H + Lo;
  const double eps = params_.label_noise;
  const float sigma = static_cast<float>(params_.input_noise_std);
  out.resize(count, L, D, C);
  std::fill(out.label_dist.begin(), out.label_dist.end(), 0.0f);
  thread_local std::vector<float> noise;
  noise.resize(static_cast<std::size_t>(D));
  for (int b = 0; b < count; ++b) {
    const std::int64_t n = positions[b];
    if (n < 0 || n >= size()) throw Error("internal: pool position " + std::to_string(n) + " outside [0, " + std::to_string(size()) + ")");
    const std::uint16_t* T = sequence(n);
    std::int32_t* cls = out.classes.data() + static_cast<std::size_t>(b) * S;
    std::int32_t* lab = out.labels.data() + static_cast<std::size_t>(b) * S;
    for (int j = 0; j < S; ++j) cls[j] = flip ? shift_within_group(T[j], H, Lo) : T[j];  // on a copy (Q5)
    out.unshifted_query[static_cast<std::size_t>(b)] = T[L];
    float* dist = out.label_dist.data() + static_cast<std::size_t>(b) * C;
    dist[cls[L]] = static_cast<float>(1.0 - eps);
    dist[(cls[L] + 1) % C] += static_cast<float>(eps);
    if (eps > 0.0) {
      Philox rng(label_noise_key_, static_cast<std::uint64_t>(n));
      for (int j = 0; j < S; ++j) lab[j] = rng.uniform() < eps ? (cls[j] + 1) % C : cls[j];
    } else {
      std::copy(cls, cls + S, lab);
    }
    // The image of the unshifted class: the shift relabels, it does not change what is shown.
    for (int j = 0; j < S; ++j) {
      float* x = out.input(b, j);
      if (exemplar == Exemplar::First) {
        const float* drawing = images_->first_drawing(T[j], image_size_, x);
        if (drawing != x) std::copy(drawing, drawing + D, x);
      } else {
        images_->decode(T[j], heldout_exemplar(n, j), image_size_, x);
      }
      if (sigma > 0.0f) {
        fill_standard_normals(input_noise_key_, position_cell(n, j, S), D, noise.data());
        for (int k = 0; k < D; ++k) x[k] += sigma * noise[static_cast<std::size_t>(k)];
      }
    }
  }
}

// ---- minibatch streams -----------------------------------------------------------------------------

EpochShuffle::EpochShuffle(std::uint64_t seed, std::int64_t pool_size, int batch_size)
    : seed_(seed), pool_size_(pool_size), steps_per_epoch_(batch_size > 0 ? pool_size / batch_size : 0), batch_size_(batch_size) {}

void EpochShuffle::positions(std::int64_t step, std::vector<std::int64_t>& out) {
  if (steps_per_epoch_ < 1)
    throw ParamError("data.dataset_size", std::to_string(pool_size_),
                     "must be >= train.batch_size = " + std::to_string(batch_size_) + " for epoch shuffling");
  const std::int64_t epoch = step / steps_per_epoch_;
  if (epoch != epoch_) {
    order_.resize(static_cast<std::size_t>(pool_size_));
    std::iota(order_.begin(), order_.end(), 0u);
    Philox rng(stream_key(seed_, Purpose::EpochShuffle), static_cast<std::uint64_t>(epoch));
    for (std::int64_t i = pool_size_ - 1; i > 0; --i)
      std::swap(order_[static_cast<std::size_t>(i)], order_[rng.below(static_cast<std::uint64_t>(i + 1))]);
    epoch_ = epoch;
  }
  const std::int64_t begin = (step % steps_per_epoch_) * batch_size_;
  out.resize(static_cast<std::size_t>(batch_size_));
  for (int b = 0; b < batch_size_; ++b) out[static_cast<std::size_t>(b)] = order_[static_cast<std::size_t>(begin + b)];
}

OmniglotBatchStream::OmniglotBatchStream(const OmniglotParams& op, std::int64_t pool_size, int batch_size)
    : sampling_(op.sampling), seed_(op.data.seed), pool_size_(pool_size), batch_size_(batch_size), shuffle_(op.data.seed, pool_size, batch_size) {}

void OmniglotBatchStream::positions(std::int64_t step, std::vector<std::int64_t>& out) {
  if (sampling_ == OmniglotSampling::EpochShuffle)
    shuffle_.positions(step, out);
  else
    training_positions(seed_, pool_size_, step, batch_size_, out);
}

// ---- evaluation splits -----------------------------------------------------------------------------

std::string heldout_split_name(Relevance r, Conditioning c) {
  return std::string("eval-") + to_string(r) + "-" + to_string(c) + "-heldout_input-flipped_label";
}

static constexpr Relevance kRelevances[] = {Relevance::Default, Relevance::Relevant, Relevance::Irrelevant};
static constexpr Conditioning kConditionings[] = {Conditioning::None, Conditioning::HighProb, Conditioning::LowProb};

std::vector<SplitSpec> omniglot_evaluation_splits() {
  auto splits = evaluation_splits();
  for (auto r : kRelevances)
    for (auto c : kConditionings) splits.push_back(SplitSpec{heldout_split_name(r, c), false, r, c, true});
  return splits;
}

OmniglotEvalSet::OmniglotEvalSet(const OmniglotParams& op, std::shared_ptr<const OmniglotImages> images,
                                 std::shared_ptr<const OmniglotPool> train_pool, EvalOptions options)
    : options_(options), splits_(omniglot_evaluation_splits()), train_pool_(std::move(train_pool)) {
  if (options_.num_eval_samples < 1) throw ParamError("eval.num_eval_samples", std::to_string(options_.num_eval_samples), "must be >= 1");
  if (options_.pretraining_samples < 1)
    throw ParamError("eval.num_pretraining_samples", std::to_string(options_.pretraining_samples), "must be >= 1");
  if (options_.batch_size < 1) throw ParamError("eval.batch_size", std::to_string(options_.batch_size), "must be >= 1");
  for (const auto& s : splits_) heldout_.push_back(s.name.find("-heldout_input") != std::string::npos);
  const std::int64_t eval_size = 5 * static_cast<std::int64_t>(options_.num_eval_samples);
  const std::uint64_t seed = op.data.seed;
  auto draw = [](StreamKey key, std::int64_t pool_size, int count) {
    Philox rng(key, 0);
    std::vector<std::int64_t> out(static_cast<std::size_t>(count));
    for (auto& n : out) n = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(pool_size)));
    return out;
  };
  for (auto r : kRelevances)
    for (auto c : kConditionings) {
      eval_pools_.push_back(OmniglotPool::evaluation(op, images, r, c, eval_size, options_.default_p_relevant));
      eval_positions_.push_back(draw(stream_key(seed, Purpose::EvalDraws, static_cast<std::uint64_t>(r), static_cast<std::uint64_t>(c)),
                                     eval_size, options_.num_eval_samples));
    }
  pretraining_positions_ = draw(stream_key(seed, Purpose::PretrainDraws), train_pool_->size(), options_.pretraining_samples);
}

const std::vector<std::int64_t>& OmniglotEvalSet::positions(std::size_t split) const {
  const auto& s = splits_.at(split);
  return s.pretraining ? pretraining_positions_ : eval_positions_[pool_index(s.relevance, s.conditioning)];
}

const OmniglotPool& OmniglotEvalSet::pool(std::size_t split) const {
  const auto& s = splits_.at(split);
  return s.pretraining ? *train_pool_ : eval_pools_[pool_index(s.relevance, s.conditioning)];
}

int OmniglotEvalSet::num_batches(std::size_t split) const {
  const auto n = static_cast<int>(positions(split).size());
  return (n + options_.batch_size - 1) / options_.batch_size;
}

void OmniglotEvalSet::assemble(std::size_t split, int k, Batch& out) const {
  const auto& pos = positions(split);
  const int begin = k * options_.batch_size;
  if (k < 0 || begin >= static_cast<int>(pos.size()))
    throw Error("internal: batch " + std::to_string(k) + " of split '" + splits_.at(split).name + "' does not exist");
  const int count = std::min(options_.batch_size, static_cast<int>(pos.size()) - begin);
  pool(split).assemble(pos.data() + begin, count, splits_[split].flip, heldout_[split] ? Exemplar::Heldout : Exemplar::First, out);
}

std::size_t OmniglotEvalSet::memory_bytes() const {
  std::size_t total = sizeof(*this) + pretraining_positions_.capacity() * sizeof(std::int64_t);
  for (const auto& p : eval_pools_) total += p.memory_bytes();
  for (const auto& v : eval_positions_) total += v.capacity() * sizeof(std::int64_t);
  return total;
}

}  // namespace icl
