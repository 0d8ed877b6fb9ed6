#pragma once
// Exact class samplers and the per-sequence generators of PAPER-SPEC §1.2 (per_sequence) and §1.3
// (per_slot). No rejection loops: every conditional distribution the reference gets by redrawing
// ("contexts conditioned on none being q", "on at least one being q") is sampled directly, so
// Lo = 495 costs the same as Lo = 5.
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "iclsweep/core/rng.hpp"
#include "iclsweep/data/params.hpp"

namespace icl {

// §1.2 step 2 (class coverage): C distinct rows of an N-row pool, uniformly (Floyd's algorithm, no N-sized
// buffer), each assigned one class, the class->row assignment uniform too (a shuffle). Returns row -> class.
// Shared by the synthetic and the Omniglot pools; `rng` is the pool's coverage stream.
std::unordered_map<std::int64_t, int> class_coverage_rows(Philox& rng, std::int64_t N, int C);

// Draws classes from w (§1.1): w_c = p_high/H on C_H = {0..H-1}, (1-p_high)/Lo on C_L = {H..C-1}.
// Only two distinct weights exist, so w and w|c!=q are sampled in O(1) by picking the group, then a
// uniform member of it.
class ClassSampler {
 public:
  explicit ClassSampler(const DataParams& p);
  int draw(Philox& rng) const { return draw_excluding(rng, -1); }
  // c ~ w conditioned on c != q (q = -1: no exclusion).
  int draw_excluding(Philox& rng, int q) const;
  // Uniform within the group that `conditioning` names (§1.4); must not be None.
  int draw_in_group(Philox& rng, Conditioning conditioning) const;
  double weight(int c) const { return c < H_ ? w_high_ : w_low_; }
  int num_classes() const { return H_ + Lo_; }

 private:
  int H_, Lo_;
  double w_high_, w_low_;
};

// Generates one sequence's clean classes T[n][0..L] (column L = query) from its own sub-stream, so
// any sequence can be produced independently of the others.
class SequenceGenerator {
 public:
  explicit SequenceGenerator(const DataParams& p);
  // `forced_query` >= 0: the class-coverage step (§1.2 step 2) assigned this row that query class
  // (conditioning still overwrites it, as in the reference). `out` has L+1 entries.
  void generate(Philox& rng, int forced_query, std::uint16_t* out) const;
  const ClassSampler& classes() const { return classes_; }

 private:
  void per_sequence(Philox& rng, int forced_query, std::uint16_t* out) const;
  void per_slot(Philox& rng, std::uint16_t* out) const;
  int draw_query(Philox& rng, int forced_query) const;
  // m ~ Binomial(L, w_q) conditioned on m >= 1, by inverse CDF over a table per weight group.
  int draw_truncated_binomial(Philox& rng, int q) const;
  // Writes q into `count` of the L context slots chosen uniformly (selection sampling) and fills the
  // rest from w|!=q.
  void place_query_in_random_slots(Philox& rng, int q, int count, std::uint16_t* out) const;

  DataParams p_;
  ClassSampler classes_;
  std::vector<double> cdf_high_, cdf_low_;  // (L) cumulative P(m = 1..L | m >= 1) for w_q = w_high, w_low
  bool q4_active_ = false;                  // vpaper_bug_compat applies to this pool (see .cpp)
};

}  // namespace icl
