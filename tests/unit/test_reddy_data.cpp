// Reddy 2024 data (PEERS-SPEC §1.1): burstiness, Zipf class frequencies, the class -> label map, the
// positional offset, and how the Test / IC / IC2 / IW sets are built; determinism from the seed.
#define BOOST_TEST_MODULE reddy_data
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <map>
#include <set>

#include "kinds/reddy/data.hpp"
#include "unit/reddy_test_util.hpp"

using namespace icl;
using namespace icl::reddy;

namespace {
DataConfig config(const std::vector<std::pair<std::string, std::string>>& o) { return DataConfig::from(test::reddy_point(o)); }

// The content part (D dims) of token t of sequence s.
Eigen::RowVectorXd content(const DataConfig& c, const SeqBatch& b, int s, int t) {
  return b.tokens.row(static_cast<Eigen::Index>(s) * b.T + t).tail(c.D).cast<double>();
}
}  // namespace

BOOST_AUTO_TEST_CASE(bursty_contexts_hold_each_class_exactly_B_times) {
  for (int B : {1, 2, 4}) {
    const DataConfig c = config({{"reddy.burstiness", std::to_string(B)}, {"reddy.num_classes", "128"}});
    const World w = World::make(c, 3);
    SeqBatch b;
    generate(c, w, training_settings(c), stream_key(3, kReddyBatches, 1), 500, b);
    for (int s = 0; s < b.size; ++s) {
      std::map<int, int> count;
      std::set<int> labels;
      for (int n = 0; n < c.N; ++n) {
        ++count[b.ctx_class[static_cast<std::size_t>(s) * c.N + n]];
        labels.insert(b.ctx_label[static_cast<std::size_t>(s) * c.N + n]);
      }
      BOOST_REQUIRE_EQUAL(static_cast<int>(count.size()), c.N / B);
      for (const auto& [cls, k] : count) BOOST_REQUIRE_EQUAL(k, B);
      BOOST_REQUIRE_EQUAL(static_cast<int>(labels.size()), c.N / B);  // no_repeats: distinct labels
      BOOST_REQUIRE_EQUAL(count[b.target_class[static_cast<std::size_t>(s)]], B);  // target has B matches
    }
  }
}

BOOST_AUTO_TEST_CASE(label_tokens_carry_the_class_label_vector_without_noise) {
  const DataConfig c = config({{"reddy.num_classes", "64"}});
  const World w = World::make(c, 5);
  SeqBatch b;
  generate(c, w, training_settings(c), stream_key(5, kReddyBatches, 1), 50, b);
  for (int s = 0; s < b.size; ++s) {
    for (int n = 0; n < c.N; ++n) {
      const int cls = b.ctx_class[static_cast<std::size_t>(s) * c.N + n];
      BOOST_REQUIRE_EQUAL(b.ctx_label[static_cast<std::size_t>(s) * c.N + n], cls % c.L);
      BOOST_REQUIRE_SMALL((content(c, b, s, 2 * n + 1) - w.labels.row(cls % c.L)).norm(), 1e-6);
      // an item is (mu + eps*eta)/sqrt(1+eps^2): close to its class mean
      const double dist = (content(c, b, s, 2 * n) - w.means.row(cls) / std::sqrt(1.01)).norm();
      BOOST_REQUIRE_LT(dist, 0.3);  // eps*|eta|/sqrt(1+eps^2) ~ 0.1
    }
    BOOST_REQUIRE_EQUAL(b.answer[static_cast<std::size_t>(s)], b.target_class[static_cast<std::size_t>(s)] % c.L);
  }
}

BOOST_AUTO_TEST_CASE(noise_has_the_stated_variance) {
  const DataConfig c = config({{"reddy.num_classes", "32"}, {"reddy.within_class_noise", "0.5"}});
  const World w = World::make(c, 6);
  SeqBatch b;
  generate(c, w, training_settings(c), stream_key(6, kReddyBatches, 1), 400, b);
  double sq = 0;
  int n_items = 0;
  for (int s = 0; s < b.size; ++s)
    for (int n = 0; n < c.N; ++n) {
      const int cls = b.ctx_class[static_cast<std::size_t>(s) * c.N + n];
      const Eigen::RowVectorXd eta = (content(c, b, s, 2 * n) * std::sqrt(1.25) - w.means.row(cls)) / 0.5;
      sq += eta.squaredNorm();
      ++n_items;
    }
  BOOST_TEST(sq / n_items == 1.0, boost::test_tools::tolerance(0.02));  // |eta|^2 = D * (1/D)
}

BOOST_AUTO_TEST_CASE(iid_class_frequencies_follow_the_zipf_law) {
  for (double alpha : {0.0, 1.0, 1.5}) {
    const DataConfig c = config({{"reddy.num_classes", "64"}, {"reddy.zipf_alpha", format_real(alpha)}});
    const World w = World::make(c, 7);
    SeqBatch b;
    generate(c, w, eval_settings(c, 3), stream_key(7, kReddyEval, 3), 20000, b);  // IW set: B = 0
    std::vector<double> freq(64, 0);
    for (int s = 0; s < b.size; ++s) {
      for (int n = 0; n < c.N; ++n) freq[static_cast<std::size_t>(b.ctx_class[static_cast<std::size_t>(s) * c.N + n])] += 1;
      freq[static_cast<std::size_t>(b.target_class[static_cast<std::size_t>(s)])] += 1;
    }
    const double total = 20000.0 * (c.N + 1);
    double z = 0;
    for (int k = 1; k <= 64; ++k) z += std::pow(k, -alpha);
    for (int k : {0, 1, 3, 15, 63}) {
      const double expect = std::pow(k + 1, -alpha) / z, got = freq[static_cast<std::size_t>(k)] / total;
      BOOST_TEST_CONTEXT("alpha " << alpha << " class " << k) {
        BOOST_TEST(std::abs(got - expect) < 4 * std::sqrt(expect / total) + 1e-4);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(no_repeats_false_draws_bursty_classes_from_the_zipf_law) {
  const DataConfig c = config({{"reddy.num_classes", "64"}, {"reddy.zipf_alpha", "1"}, {"reddy.no_repeats", "0"}, {"reddy.burstiness", "2"}});
  const World w = World::make(c, 8);
  SeqBatch b;
  generate(c, w, training_settings(c), stream_key(8, kReddyBatches, 1), 5000, b);
  double c0 = 0, c1 = 0;
  for (int v : b.ctx_class) c0 += v == 0, c1 += v == 1;
  BOOST_TEST(c0 / c1 == 2.0, boost::test_tools::tolerance(0.1));  // f(1)/f(2) = 2 at alpha = 1
}

BOOST_AUTO_TEST_CASE(evaluation_sets_are_built_as_specified) {
  const DataConfig c = config({{"reddy.num_classes", "256"}, {"reddy.burstiness", "2"}, {"reddy.p_novel", "0.5"}});
  const World w = World::make(c, 9);
  std::vector<SeqBatch> sets(4);
  for (int k = 0; k < 4; ++k) generate(c, w, eval_settings(c, k), stream_key(9, kReddyEval, k), 2000, sets[static_cast<std::size_t>(k)]);
  auto matches = [&](const SeqBatch& b, int s) {
    int m = 0;
    for (int n = 0; n < c.N; ++n) m += b.ctx_class[static_cast<std::size_t>(s) * c.N + n] == b.target_class[static_cast<std::size_t>(s)];
    return m;
  };
  int novel_test = 0;
  for (int s = 0; s < 2000; ++s) {
    // Test: training distribution, about half novel
    novel_test += sets[0].target_class[static_cast<std::size_t>(s)] >= c.K;
    // IC: every sequence novel and bursty (B matches)
    BOOST_REQUIRE_GE(sets[1].target_class[static_cast<std::size_t>(s)], c.K);
    BOOST_REQUIRE_EQUAL(matches(sets[1], s), 2);
    // IC2: trained classes, bursty, labels shown and scored as (true + 1) mod L
    BOOST_REQUIRE_LT(sets[2].target_class[static_cast<std::size_t>(s)], c.K);
    BOOST_REQUIRE_EQUAL(matches(sets[2], s), 2);
    BOOST_REQUIRE_EQUAL(sets[2].answer[static_cast<std::size_t>(s)], (sets[2].target_class[static_cast<std::size_t>(s)] % c.L + 1) % c.L);
    for (int n = 0; n < c.N; ++n) {
      const auto i = static_cast<std::size_t>(s) * c.N + n;
      BOOST_REQUIRE_EQUAL(sets[2].ctx_label[i], (sets[2].ctx_class[i] % c.L + 1) % c.L);
      BOOST_REQUIRE_SMALL((content(c, sets[2], s, 2 * n + 1) - w.labels.row(sets[2].ctx_label[i])).norm(), 1e-6);
    }
    BOOST_REQUIRE_LT(sets[3].target_class[static_cast<std::size_t>(s)], c.K);
  }
  BOOST_TEST(std::abs(novel_test / 2000.0 - 0.5) < 0.05);
  // IW: i.i.d. contexts: the target's class is in context for about 1 - (1 - 1/K)^N of sequences
  int with_match = 0;
  for (int s = 0; s < 2000; ++s) with_match += matches(sets[3], s) > 0;
  BOOST_TEST(with_match / 2000.0 < 0.08);  // 1 - (255/256)^8 = 0.031
}

BOOST_AUTO_TEST_CASE(positions_are_one_hot_with_a_random_offset) {
  const DataConfig c = config({{"reddy.num_classes", "64"}});
  const World w = World::make(c, 10);
  SeqBatch b;
  generate(c, w, training_settings(c), stream_key(10, kReddyBatches, 1), 2000, b);
  std::set<int> offsets;
  for (int s = 0; s < b.size; ++s) {
    const int off = b.offset[static_cast<std::size_t>(s)];
    offsets.insert(off);
    BOOST_REQUIRE(off >= 0 && off <= 2 * (c.Nmax - c.N));
    for (int t = 0; t < b.T; ++t) {
      const auto pos = b.tokens.row(static_cast<Eigen::Index>(s) * b.T + t).head(c.pos_width());
      BOOST_REQUIRE_EQUAL(pos.sum(), 1.0f);
      BOOST_REQUIRE_EQUAL(pos(off + t), 1.0f);
    }
  }
  BOOST_TEST(static_cast<int>(offsets.size()) == 2 * (c.Nmax - c.N) + 1);  // 0..48 all used
  const DataConfig fixed = config({{"reddy.num_classes", "64"}, {"reddy.random_offset", "0"}});
  generate(fixed, w, training_settings(fixed), stream_key(10, kReddyBatches, 1), 100, b);
  for (int s = 0; s < b.size; ++s) BOOST_REQUIRE_EQUAL(b.offset[static_cast<std::size_t>(s)], 0);
}

BOOST_AUTO_TEST_CASE(generation_is_a_function_of_the_seed) {
  const DataConfig c = config({{"reddy.num_classes", "64"}, {"reddy.p_novel", "0.3"}});
  SeqBatch a, b, d;
  generate(c, World::make(c, 11), training_settings(c), stream_key(11, kReddyBatches, 4), 64, a);
  generate(c, World::make(c, 11), training_settings(c), stream_key(11, kReddyBatches, 4), 64, b);
  generate(c, World::make(c, 12), training_settings(c), stream_key(12, kReddyBatches, 4), 64, d);
  BOOST_TEST((a.tokens.array() == b.tokens.array()).all());
  BOOST_TEST(a.answer == b.answer);
  BOOST_TEST(!(a.tokens.array() == d.tokens.array()).all());
}

BOOST_AUTO_TEST_CASE(validation_names_the_key_and_the_fix) {
  auto message = [](const std::vector<std::pair<std::string, std::string>>& o) {
    try {
      DataConfig::from(test::reddy_point(o));
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  BOOST_TEST(message({{"reddy.num_classes", "100"}}).find("reddy.num_classes") != std::string::npos);
  BOOST_TEST(message({{"reddy.num_classes", "100"}}).find("use 128") != std::string::npos);
  BOOST_TEST(message({{"reddy.burstiness", "3"}}).find("reddy.burstiness") != std::string::npos);
  BOOST_TEST(message({{"reddy.burstiness", "8"}}).find("B >= N") != std::string::npos);
  BOOST_TEST(message({{"reddy.context_pairs", "40"}}).find("reddy.max_context_pairs") != std::string::npos);
  BOOST_TEST(message({{"reddy.p_novel", "1.5"}}).find("[0, 1]") != std::string::npos);
  BOOST_TEST(message({{"reddy.num_labels", "4"}, {"reddy.num_classes", "64"}}).find("distinct labels") != std::string::npos);
  BOOST_TEST(message({}).empty());
}
