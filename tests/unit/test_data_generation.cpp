#define BOOST_TEST_MODULE data_generation
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <set>

#include "iclsweep/data/pool.hpp"
#include "iclsweep/data/sampler.hpp"

using namespace icl;

// |observed - expected| within `k` binomial standard errors (fixed seeds: these never flake).
static bool within_se(double count, double n, double p, double k = 6.0) {
  const double se = std::sqrt(n * p * (1.0 - p));
  return std::fabs(count - n * p) <= k * se + 1e-9;
}

static int matches(const Pool& pool, std::int64_t n) {
  const int L = pool.params().num_contexts;
  int m = 0;
  for (int j = 0; j < L; ++j) m += pool.cls(n, j) == pool.cls(n, L);
  return m;
}

static std::shared_ptr<const Prototypes> protos_for(const DataParams& p) {
  return std::make_shared<const Prototypes>(p.seed, p.num_classes(), p.num_dims);
}

static Pool eval_pool(const DataParams& p, Relevance r, Conditioning c, std::int64_t size) {
  return Pool::evaluation(p, r, c, size, std::nullopt, protos_for(p));
}

BOOST_AUTO_TEST_CASE(class_sampler_follows_w_and_w_excluding_q) {
  DataParams p;  // H = Lo = 5, p_high = 0.9
  const ClassSampler s(p);
  const int n = 200000;
  for (int q : {-1, 2, 7}) {
    std::vector<int> counts(10, 0);
    Philox rng(stream_key(11, Purpose::Sampling, 1 + q), 0);
    for (int i = 0; i < n; ++i) ++counts[s.draw_excluding(rng, q)];
    const double mass = q < 0 ? 1.0 : 1.0 - s.weight(q);
    for (int c = 0; c < 10; ++c) {
      if (c == q) {
        BOOST_TEST(counts[c] == 0);
        continue;
      }
      BOOST_TEST(within_se(counts[c], n, s.weight(c) / mass), "q=" << q << " c=" << c << " count=" << counts[c]);
    }
  }
}

BOOST_AUTO_TEST_CASE(training_query_classes_follow_w) {
  DataParams p;
  p.dataset_size = 1 << 16;
  const Pool pool = Pool::training(p);
  std::vector<int> counts(10, 0);
  for (std::int64_t n = 0; n < pool.size(); ++n) ++counts[pool.cls(n, 1)];
  for (int c = 0; c < 10; ++c)
    // +1: the coverage step may move one row per class.
    BOOST_TEST(std::fabs(counts[c] - pool.size() * p.class_weight(c)) <= 6.0 * std::sqrt(pool.size() * p.class_weight(c)) + 10,
               "class " << c << ": " << counts[c]);
}

BOOST_AUTO_TEST_CASE(class_coverage_queries_every_class_once_when_N_equals_C) {
  for (int Lo : {5, 495}) {
    DataParams p;
    p.num_low_prob_classes = Lo;
    p.p_high = 0.5;
    p.dataset_size = p.num_classes();
    for (std::uint64_t seed : {0, 1, 2}) {
      p.seed = seed;
      const Pool pool = Pool::training(p);
      std::set<int> queried;
      for (std::int64_t n = 0; n < pool.size(); ++n) queried.insert(pool.cls(n, p.num_contexts));
      BOOST_TEST(static_cast<int>(queried.size()) == p.num_classes());
    }
  }
}

BOOST_AUTO_TEST_CASE(per_sequence_relevant_fraction_follows_p_rel) {
  DataParams p;
  p.num_contexts = 4;
  p.p_relevant_context = 0.3;
  p.dataset_size = 1 << 15;
  const Pool pool = Pool::training(p);
  int relevant = 0;
  for (std::int64_t n = 0; n < pool.size(); ++n) relevant += matches(pool, n) > 0;
  BOOST_TEST(within_se(relevant, pool.size(), 0.3), relevant);
}

BOOST_AUTO_TEST_CASE(per_slot_rows_without_match_follow_binomial_zero) {
  // Fixed per_slot: a row has no match iff n_rel = 0, probability (1-p_rel)^L.
  DataParams p;
  p.relevance_mode = RelevanceMode::PerSlot;
  p.num_contexts = 4;
  p.p_relevant_context = 0.5;
  p.dataset_size = 1 << 15;
  const Pool pool = Pool::training(p);
  int none = 0;
  for (std::int64_t n = 0; n < pool.size(); ++n) none += matches(pool, n) == 0;
  BOOST_TEST(within_se(none, pool.size(), 1.0 / 16), none);
  // L = 1: the relevant fraction is p_rel itself.
  p.num_contexts = 1;
  p.p_relevant_context = 0.7;
  const Pool one = Pool::training(p);
  int relevant = 0;
  for (std::int64_t n = 0; n < one.size(); ++n) relevant += matches(one, n) == 1;
  BOOST_TEST(within_se(relevant, one.size(), 0.7), relevant);
}

BOOST_AUTO_TEST_CASE(irrelevant_rows_never_contain_the_query) {
  for (auto mode : {RelevanceMode::PerSequence, RelevanceMode::PerSlot})
    for (int Lo : {5, 495}) {
      DataParams p;
      p.relevance_mode = mode;
      p.num_contexts = 8;
      p.num_low_prob_classes = Lo;
      p.p_high = 0.5;
      for (auto c : {Conditioning::None, Conditioning::LowProb}) {
        const Pool pool = eval_pool(p, Relevance::Irrelevant, c, 5000);
        int bad = 0;
        for (std::int64_t n = 0; n < pool.size(); ++n) bad += matches(pool, n) > 0;
        BOOST_TEST(bad == 0);
      }
    }
}

BOOST_AUTO_TEST_CASE(relevant_rows_match_truncated_binomial) {
  // L_rel unset: m ~ Binomial(L, w_q) | m >= 1. Check the mean for C_H and C_L queries.
  DataParams p;
  p.num_contexts = 8;
  const Pool high = eval_pool(p, Relevance::Relevant, Conditioning::HighProb, 20000);
  const Pool low = eval_pool(p, Relevance::Relevant, Conditioning::LowProb, 20000);
  for (const Pool* pool : {&high, &low}) {
    const double w = pool == &high ? 0.18 : 0.02;
    const int L = 8;
    double mean = 0, second = 0;
    for (int m = 1; m <= L; ++m) {
      const double pm = std::exp(std::lgamma(L + 1.0) - std::lgamma(m + 1.0) - std::lgamma(L - m + 1.0)) * std::pow(w, m) *
                        std::pow(1 - w, L - m) / (1 - std::pow(1 - w, L));
      mean += m * pm;
      second += m * m * pm;
    }
    double sum = 0;
    int min_m = L;
    for (std::int64_t n = 0; n < pool->size(); ++n) {
      sum += matches(*pool, n);
      min_m = std::min(min_m, matches(*pool, n));
    }
    const double sd = std::sqrt(second - mean * mean);
    BOOST_TEST(min_m >= 1);
    BOOST_TEST(std::fabs(sum / pool->size() - mean) <= 6 * sd / std::sqrt(pool->size()), sum / pool->size() << " vs " << mean);
  }
}

BOOST_AUTO_TEST_CASE(num_relevant_contexts_gives_exactly_that_many_matches_at_uniform_slots) {
  DataParams p;
  p.num_contexts = 4;
  p.num_relevant_contexts = 2;
  p.p_relevant_context = 0.6;
  const Pool rel = eval_pool(p, Relevance::Relevant, Conditioning::None, 20000);
  std::vector<int> per_slot(4, 0);
  for (std::int64_t n = 0; n < rel.size(); ++n) {
    BOOST_TEST_REQUIRE(matches(rel, n) == 2);
    for (int j = 0; j < 4; ++j) per_slot[j] += rel.cls(n, j) == rel.cls(n, 4);
  }
  for (int j = 0; j < 4; ++j) BOOST_TEST(within_se(per_slot[j], rel.size(), 0.5), "slot " << j << ": " << per_slot[j]);
  // Default pool: rows have 0 or exactly 2 matches, 2 with probability p_rel.
  const Pool def = eval_pool(p, Relevance::Default, Conditioning::None, 20000);
  int two = 0;
  for (std::int64_t n = 0; n < def.size(); ++n) {
    const int m = matches(def, n);
    BOOST_TEST_REQUIRE((m == 0 || m == 2));
    two += m == 2;
  }
  BOOST_TEST(within_se(two, def.size(), 0.6), two);
  // L_rel = L: every context is the query.
  p.num_relevant_contexts = 4;
  const Pool all = eval_pool(p, Relevance::Relevant, Conditioning::None, 5000);
  for (std::int64_t n = 0; n < all.size(); ++n) BOOST_TEST_REQUIRE(matches(all, n) == 4);
}

BOOST_AUTO_TEST_CASE(conditioning_restricts_the_query_group_uniformly) {
  DataParams p;
  p.num_contexts = 2;
  const Pool high = eval_pool(p, Relevance::Default, Conditioning::HighProb, 20000);
  const Pool low = eval_pool(p, Relevance::Default, Conditioning::LowProb, 20000);
  std::vector<int> counts(10, 0);
  for (std::int64_t n = 0; n < 20000; ++n) {
    BOOST_TEST_REQUIRE(high.cls(n, 2) < 5);
    BOOST_TEST_REQUIRE(low.cls(n, 2) >= 5);
    ++counts[high.cls(n, 2)];
    ++counts[low.cls(n, 2)];
  }
  for (int c = 0; c < 10; ++c) BOOST_TEST(within_se(counts[c], 20000, 0.2), "class " << c);
}

BOOST_AUTO_TEST_CASE(q2_compat_leaves_matches_in_irrelevant_rows) {
  // V-final redraws a matching slot once from w: for L = 1 a match remains with probability sum_q w_q^3.
  DataParams p;
  p.relevance_mode = RelevanceMode::PerSlot;
  p.vfinal_bug_compat = true;
  const Pool pool = eval_pool(p, Relevance::Irrelevant, Conditioning::None, 100000);
  int left = 0;
  for (std::int64_t n = 0; n < pool.size(); ++n) left += matches(pool, n);
  const double expected = 5 * std::pow(0.18, 3) + 5 * std::pow(0.02, 3);
  BOOST_TEST(within_se(left, pool.size(), expected), left << " vs " << expected * pool.size());
}

BOOST_AUTO_TEST_CASE(q1_compat_overwrites_too_many_slots) {
  // Same seed, L_rel = 1, L = 4: the two variants consume the stream identically up to the overwrite.
  // Fixed: m matches stay m (m >= 1). Q1: m + max(0, L - 2m + 1), so m = 2 becomes 3.
  DataParams p;
  p.relevance_mode = RelevanceMode::PerSlot;
  p.num_contexts = 4;
  p.num_relevant_contexts = 1;
  p.dataset_size = 20000;
  const Pool fixed = Pool::training(p);
  p.vfinal_bug_compat = true;
  const Pool compat = Pool::training(p);
  int rows_with_two = 0;
  for (std::int64_t n = 0; n < fixed.size(); ++n) {
    const int m = matches(fixed, n);
    const int expected = m + std::max(0, 4 - 2 * m + 1) * (m > 1 ? 1 : 0);
    BOOST_TEST_REQUIRE(matches(compat, n) == expected);
    rows_with_two += m == 2;
  }
  BOOST_TEST(rows_with_two > 100);
}

BOOST_AUTO_TEST_CASE(q4_compat_lets_irrelevant_rows_keep_the_query_in_early_slots) {
  // L = 4, L_rel = 2, p_rel = 0.5: fixed rows have 0 or 2 matches. Under Q4 an irrelevant row keeps its
  // i.i.d. draw when slots 2,3 hold no q, so slots 0,1 match with probability w_q each.
  DataParams p;
  p.num_contexts = 4;
  p.num_relevant_contexts = 2;
  p.p_relevant_context = 0.5;
  p.dataset_size = 1 << 16;
  p.vpaper_bug_compat = true;
  const Pool pool = Pool::training(p);
  int one = 0;
  for (std::int64_t n = 0; n < pool.size(); ++n) {
    const int m = matches(pool, n);
    if (m == 1) {
      ++one;
      BOOST_TEST_REQUIRE((pool.cls(n, 2) != pool.cls(n, 4) && pool.cls(n, 3) != pool.cls(n, 4)));
    }
  }
  double expected = 0;  // P(rel = 0) * sum_q w_q (1-w_q)^2 * 2 w_q (1-w_q)
  for (int c = 0; c < 10; ++c) {
    const double w = p.class_weight(c);
    expected += 0.5 * w * std::pow(1 - w, 2) * 2 * w * (1 - w);
  }
  BOOST_TEST(within_se(one, pool.size(), expected), one << " vs " << expected * pool.size());
}

BOOST_AUTO_TEST_CASE(evaluation_pools_differ_from_the_training_pool) {
  DataParams p;
  p.num_contexts = 8;
  p.dataset_size = 5000;
  const auto protos = protos_for(p);
  const Pool train = Pool::training(p, protos);
  const Pool eval = Pool::evaluation(p, Relevance::Default, Conditioning::None, 5000, std::nullopt, protos);
  int same = 0;
  for (std::int64_t n = 0; n < 5000; ++n)
    same += std::equal(train.sequence(n), train.sequence(n) + 9, eval.sequence(n));
  BOOST_TEST(same < 50);  // Q7 would make all 5000 equal; chance agreement is rare at L = 8
  std::vector<float> a(64), b(64);
  train.input_noise(0, 0, a.data());
  eval.input_noise(0, 0, b.data());
  BOOST_TEST(a != b);
  BOOST_TEST(&train.prototypes() == &eval.prototypes());
}

BOOST_AUTO_TEST_CASE(prototypes_are_unit_vectors_fixed_by_the_seed) {
  const Prototypes a(3, 10, 64), b(3, 10, 64), c(4, 10, 64);
  for (int k = 0; k < 10; ++k) {
    double norm2 = 0;
    for (int d = 0; d < 64; ++d) norm2 += a[k][d] * a[k][d];
    BOOST_TEST(std::fabs(norm2 - 1.0) < 1e-5);
    BOOST_TEST(std::equal(a[k], a[k] + 64, b[k]));
    BOOST_TEST(!std::equal(a[k], a[k] + 64, c[k]));
  }
}

BOOST_AUTO_TEST_CASE(large_pool_fits_in_64_MiB) {
  DataParams p;
  p.dataset_size = std::int64_t{1} << 20;
  p.num_contexts = 16;
  const Pool pool = Pool::training(p);
  BOOST_TEST(pool.memory_bytes() <= std::size_t{64} << 20, pool.memory_bytes());
  BOOST_TEST(pool.memory_bytes() >= std::size_t{1 << 20} * 17 * 2);
}

BOOST_AUTO_TEST_CASE(any_sequence_regenerates_independently) {
  DataParams p;
  p.num_contexts = 4;
  p.dataset_size = 1000;
  const Pool pool = Pool::training(p);
  const SequenceGenerator gen(p);
  const StreamKey key = stream_key(p.seed, Purpose::TrainPool);
  std::vector<std::uint16_t> row(5);
  int compared = 0;
  for (std::int64_t n : {0, 17, 999}) {
    Philox rng(key, static_cast<std::uint64_t>(n));
    gen.generate(rng, -1, row.data());
    // Coverage rows have a forced query; compare contexts only when the query agrees.
    if (row[4] != pool.cls(n, 4)) continue;
    BOOST_TEST(std::equal(row.begin(), row.end(), pool.sequence(n)));
    ++compared;
  }
  BOOST_TEST(compared >= 2);
}
