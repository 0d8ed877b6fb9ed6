#include "iclsweep/data/splits.hpp"

#include <algorithm>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/quote.hpp"

namespace icl {

static constexpr Relevance kRelevances[] = {Relevance::Default, Relevance::Relevant, Relevance::Irrelevant};
static constexpr Conditioning kConditionings[] = {Conditioning::None, Conditioning::HighProb, Conditioning::LowProb};

std::string split_name(Relevance r, Conditioning c, bool flip) {
  return std::string("eval-") + to_string(r) + "-" + to_string(c) + (flip ? "-flip_label" : "");
}

std::vector<SplitSpec> evaluation_splits() {
  std::vector<SplitSpec> out;
  SplitSpec pre;
  pre.name = "pretraining";
  pre.pretraining = true;
  out.push_back(pre);
  for (auto r : kRelevances)
    for (auto c : kConditionings)
      for (bool flip : {false, true}) out.push_back(SplitSpec{split_name(r, c, flip), false, r, c, flip});
  return out;
}

std::string split_invalid_reason(const SplitSpec& split, const DataParams& params) {
  if (split.pretraining || split.relevance == Relevance::Default) return "";
  if (params.relevance_mode == RelevanceMode::PerSlot && params.num_relevant_contexts)
    return "per_slot mode with num_relevant_contexts set ignores p_rel (quirk Q6), so this split is not " +
           std::string(to_string(split.relevance)) + "; run L_rel sweeps with relevance_mode = per_sequence";
  return "";
}

// Positions drawn uniformly with replacement from [0, pool_size), all from cell 0 of `key`.
static std::vector<std::int64_t> draw_positions(StreamKey key, std::int64_t pool_size, int count) {
  Philox rng(key, 0);
  std::vector<std::int64_t> out(count);
  for (auto& n : out) n = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(pool_size)));
  return out;
}

EvalSet::EvalSet(const DataParams& train_params, std::shared_ptr<const Pool> train_pool, EvalOptions options)
    : options_(options), splits_(evaluation_splits()), train_pool_(std::move(train_pool)) {
  if (options_.num_eval_samples < 1)
    throw ParamError("eval.num_eval_samples", std::to_string(options_.num_eval_samples), "must be >= 1");
  if (options_.pretraining_samples < 1)
    throw ParamError("eval.num_pretraining_samples", std::to_string(options_.pretraining_samples), "must be >= 1");
  if (options_.batch_size < 1) throw ParamError("eval.batch_size", std::to_string(options_.batch_size), "must be >= 1");
  if (!train_pool_) throw Error("internal: EvalSet needs the training pool");
  auto prototypes = std::shared_ptr<const Prototypes>(train_pool_, &train_pool_->prototypes());
  const std::int64_t eval_size = 5 * static_cast<std::int64_t>(options_.num_eval_samples);
  const std::uint64_t seed = train_params.seed;
  for (auto r : kRelevances)
    for (auto c : kConditionings) {
      eval_pools_.push_back(Pool::evaluation(train_params, r, c, eval_size, options_.default_p_relevant, prototypes));
      eval_positions_.push_back(draw_positions(
          stream_key(seed, Purpose::EvalDraws, static_cast<std::uint64_t>(r), static_cast<std::uint64_t>(c)), eval_size,
          options_.num_eval_samples));
    }
  pretraining_positions_ = draw_positions(stream_key(seed, Purpose::PretrainDraws), train_pool_->size(), options_.pretraining_samples);
  for (const auto& s : splits_) invalid_reason_.push_back(split_invalid_reason(s, train_params));
}

std::size_t SplitSet::find(const std::string& name) const {
  const auto& splits_ = splits();
  for (std::size_t i = 0; i < splits_.size(); ++i)
    if (splits_[i].name == name) return i;
  std::string list;
  for (const auto& s : splits_) list += (list.empty() ? "" : ", ") + s.name;
  throw InputError("unknown split " + quote(name) + "; the splits are: " + list);
}

const std::vector<std::int64_t>& EvalSet::positions(std::size_t split) const {
  const auto& s = splits_.at(split);
  return s.pretraining ? pretraining_positions_ : eval_positions_[pool_index(s.relevance, s.conditioning)];
}

const Pool& EvalSet::pool(std::size_t split) const {
  const auto& s = splits_.at(split);
  return s.pretraining ? *train_pool_ : eval_pools_[pool_index(s.relevance, s.conditioning)];
}

const Pool& EvalSet::eval_pool(Relevance r, Conditioning c) const { return eval_pools_[pool_index(r, c)]; }

int EvalSet::num_batches(std::size_t split) const {
  const auto n = static_cast<int>(positions(split).size());
  return (n + options_.batch_size - 1) / options_.batch_size;
}

void EvalSet::assemble(std::size_t split, int k, Batch& out) const {
  const auto& pos = positions(split);
  const int begin = k * options_.batch_size;
  if (k < 0 || begin >= static_cast<int>(pos.size()))
    throw Error("internal: batch " + std::to_string(k) + " of split '" + splits_.at(split).name + "' does not exist");
  const int count = std::min(options_.batch_size, static_cast<int>(pos.size()) - begin);
  pool(split).assemble(pos.data() + begin, count, splits_[split].flip, out);
}

std::size_t EvalSet::memory_bytes() const {
  std::size_t total = sizeof(*this) + pretraining_positions_.capacity() * sizeof(std::int64_t);
  for (const auto& p : eval_pools_) total += p.memory_bytes();
  for (const auto& v : eval_positions_) total += v.capacity() * sizeof(std::int64_t);
  return total;
}

}  // namespace icl
