#include "iclsweep/data/sampler.hpp"

#include <algorithm>
#include <cmath>

namespace icl {

ClassSampler::ClassSampler(const DataParams& p)
    : H_(p.num_high_prob_classes),
      Lo_(p.num_low_prob_classes),
      w_high_(p.p_high / p.num_high_prob_classes),
      w_low_((1.0 - p.p_high) / p.num_low_prob_classes) {}

int ClassSampler::draw_excluding(Philox& rng, int q) const {
  const int high_count = H_ - (q >= 0 && q < H_ ? 1 : 0);
  const int low_count = Lo_ - (q >= H_ ? 1 : 0);
  const double high_mass = high_count * w_high_;
  const double u = rng.uniform() * (high_mass + low_count * w_low_);
  if (u < high_mass) {
    const int k = std::min(static_cast<int>(u / w_high_), high_count - 1);
    return (q >= 0 && q < H_ && k >= q) ? k + 1 : k;  // skip q inside C_H
  }
  const int k = std::min(static_cast<int>((u - high_mass) / w_low_), low_count - 1);
  const int c = H_ + k;
  return (q >= H_ && c >= q) ? c + 1 : c;  // skip q inside C_L
}

int ClassSampler::draw_in_group(Philox& rng, Conditioning conditioning) const {
  if (conditioning == Conditioning::HighProb) return static_cast<int>(rng.below(H_));
  return H_ + static_cast<int>(rng.below(Lo_));
}

static std::vector<double> truncated_binomial_cdf(int L, double w) {
  // P(m) = C(L,m) w^m (1-w)^(L-m) / (1 - (1-w)^L), m = 1..L; built in log space so large L is safe.
  std::vector<double> pmf(L);
  double total = 0.0;
  for (int m = 1; m <= L; ++m) {
    const double log_p = std::lgamma(L + 1.0) - std::lgamma(m + 1.0) - std::lgamma(L - m + 1.0) + m * std::log(w) +
                         (L - m) * std::log1p(-w);
    pmf[m - 1] = std::exp(log_p);
    total += pmf[m - 1];
  }
  std::vector<double> cdf(L);
  double acc = 0.0;
  for (int m = 0; m < L; ++m) cdf[m] = (acc += pmf[m] / total);
  cdf[L - 1] = 1.0;
  return cdf;
}

SequenceGenerator::SequenceGenerator(const DataParams& p) : p_(p), classes_(p) {
  cdf_high_ = truncated_binomial_cdf(p.num_contexts, classes_.weight(0));
  cdf_low_ = truncated_binomial_cdf(p.num_contexts, classes_.weight(p.num_high_prob_classes));
  // Q4 lives in the reference's L_rel < L branch: after its relevant-row loop ran, the match count it
  // leaves behind covers only columns L_rel..L-1, and the irrelevant rows are first checked against it.
  // That loop runs only when the pool has relevant rows needing a fix, which (for any realistic N)
  // means 0 < p_rel < 1; with p_rel = 0 (irrelevant_context splits) the bug does not occur.
  q4_active_ = p.vpaper_bug_compat && p.relevance_mode == RelevanceMode::PerSequence && p.num_relevant_contexts &&
               *p.num_relevant_contexts < p.num_contexts && p.p_relevant_context > 0.0 && p.p_relevant_context < 1.0;
}

void SequenceGenerator::generate(Philox& rng, int forced_query, std::uint16_t* out) const {
  if (p_.relevance_mode == RelevanceMode::PerSequence)
    per_sequence(rng, forced_query, out);
  else
    per_slot(rng, out);
}

int SequenceGenerator::draw_query(Philox& rng, int forced_query) const {
  if (p_.conditioning != Conditioning::None) return classes_.draw_in_group(rng, p_.conditioning);
  return forced_query >= 0 ? forced_query : classes_.draw(rng);
}

int SequenceGenerator::draw_truncated_binomial(Philox& rng, int q) const {
  const auto& cdf = q < p_.num_high_prob_classes ? cdf_high_ : cdf_low_;
  const double u = rng.uniform();
  const auto it = std::upper_bound(cdf.begin(), cdf.end(), u);
  return 1 + static_cast<int>(std::min<std::ptrdiff_t>(it - cdf.begin(), p_.num_contexts - 1));
}

void SequenceGenerator::place_query_in_random_slots(Philox& rng, int q, int count, std::uint16_t* out) const {
  const int L = p_.num_contexts;
  int needed = count;
  for (int j = 0; j < L; ++j) {
    // Selection sampling: slot j is chosen with probability needed / (slots left), which makes every
    // `count`-subset of slots equally likely.
    if (needed > 0 && static_cast<int>(rng.below(static_cast<std::uint64_t>(L - j))) < needed) {
      out[j] = static_cast<std::uint16_t>(q);
      --needed;
    } else {
      out[j] = static_cast<std::uint16_t>(classes_.draw_excluding(rng, q));
    }
  }
}

// §1.2. The reference draws the table column-wise with rejection; we draw each row exactly from the
// same conditional distributions: contexts ~ w^L | (>=1 match), w^L | (no match), or the L_rel rules.
void SequenceGenerator::per_sequence(Philox& rng, int forced_query, std::uint16_t* out) const {
  const int L = p_.num_contexts;
  const int q = draw_query(rng, forced_query);
  out[L] = static_cast<std::uint16_t>(q);
  const bool relevant = rng.uniform() < p_.p_relevant_context;
  if (relevant) {
    if (!p_.num_relevant_contexts) {
      place_query_in_random_slots(rng, q, draw_truncated_binomial(rng, q), out);
    } else {
      place_query_in_random_slots(rng, q, *p_.num_relevant_contexts, out);
    }
    return;
  }
  if (q4_active_) {
    // The reference keeps an initial i.i.d. row whenever columns L_rel..L-1 hold no q (probability
    // (1-w_q)^(L-L_rel)); columns 0..L_rel-1 of such a row are unconstrained draws from w.
    const int k = *p_.num_relevant_contexts;
    if (rng.uniform() < std::pow(1.0 - classes_.weight(q), L - k)) {
      for (int j = 0; j < k; ++j) out[j] = static_cast<std::uint16_t>(classes_.draw(rng));
      for (int j = k; j < L; ++j) out[j] = static_cast<std::uint16_t>(classes_.draw_excluding(rng, q));
      return;
    }
  }
  for (int j = 0; j < L; ++j) out[j] = static_cast<std::uint16_t>(classes_.draw_excluding(rng, q));
}

// §1.3 (V-final): per-slot relevance, with Q1/Q2 reproduced under vfinal_bug_compat.
void SequenceGenerator::per_slot(Philox& rng, std::uint16_t* out) const {
  const int L = p_.num_contexts;
  const int q = draw_query(rng, -1);
  out[L] = static_cast<std::uint16_t>(q);
  int matches = 0;
  for (int j = 0; j < L; ++j) {
    out[j] = static_cast<std::uint16_t>(classes_.draw(rng));
    matches += out[j] == q;
  }
  int n_rel = 0;
  if (p_.num_relevant_contexts) {
    n_rel = *p_.num_relevant_contexts;  // Q6: p_rel is ignored whenever L_rel is set
  } else {
    for (int j = 0; j < L; ++j) n_rel += rng.uniform() < p_.p_relevant_context;
  }

  if (n_rel == 0) {
    // Fixed: matching slots come from w|!=q. Q2 (compat): one redraw from w, so a match may remain.
    for (int j = 0; j < L; ++j)
      if (out[j] == q)
        out[j] = static_cast<std::uint16_t>(p_.vfinal_bug_compat ? classes_.draw(rng) : classes_.draw_excluding(rng, q));
    return;
  }
  int to_overwrite = 0;
  if (matches < n_rel) {
    to_overwrite = n_rel - matches;
  } else if (matches > n_rel && p_.vfinal_bug_compat) {
    // Q1: candidates[:need] with need = n_rel - m < 0 overwrites all but the last |need| of the L - m
    // shuffled non-matching slots.
    to_overwrite = std::max(0, L - 2 * matches + n_rel);
  }
  int candidates_left = L - matches;
  for (int j = 0; j < L && to_overwrite > 0; ++j) {
    if (out[j] == q) continue;
    if (static_cast<int>(rng.below(static_cast<std::uint64_t>(candidates_left))) < to_overwrite) {
      out[j] = static_cast<std::uint16_t>(q);
      --to_overwrite;
    }
    --candidates_left;
  }
}

std::unordered_map<std::int64_t, int> class_coverage_rows(Philox& rng, std::int64_t N, int C) {
  std::vector<std::int64_t> rows;
  rows.reserve(static_cast<std::size_t>(C));
  std::unordered_map<std::int64_t, bool> chosen;
  for (std::int64_t j = N - C; j < N; ++j) {
    const auto t = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(j + 1)));
    const std::int64_t pick = chosen.count(t) ? j : t;
    chosen[pick] = true;
    rows.push_back(pick);
  }
  std::sort(rows.begin(), rows.end());
  for (int i = C - 1; i > 0; --i)
    std::swap(rows[static_cast<std::size_t>(i)], rows[rng.below(static_cast<std::uint64_t>(i + 1))]);
  std::unordered_map<std::int64_t, int> coverage;
  for (int c = 0; c < C; ++c) coverage[rows[static_cast<std::size_t>(c)]] = c;
  return coverage;
}

}  // namespace icl
