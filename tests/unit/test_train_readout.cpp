#define BOOST_TEST_MODULE train_readout
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <set>

#include "iclsweep/data/pool.hpp"
#include "iclsweep/data/splits.hpp"
#include "iclsweep/train/metrics.hpp"
#include "iclsweep/train/trainer.hpp"

// The ICL/IWL readout: on a flipped split every prediction is the in-context answer (the shifted label),
// the in-weight answer (the class before the shift) or other.

using namespace icl;

// B sequences, L = 1, C classes; target and unshifted query given per row.
static Batch hand_batch(const std::vector<int>& target, const std::vector<int>& unshifted, int C) {
  Batch b;
  const int B = static_cast<int>(target.size());
  b.resize(B, 1, 1, C);
  std::fill(b.label_dist.begin(), b.label_dist.end(), 0.0f);
  for (int i = 0; i < B; ++i) {
    b.labels[i * 2 + 1] = b.classes[i * 2 + 1] = target[i];
    b.labels[i * 2] = b.classes[i * 2] = target[i];
    b.unshifted_query[i] = unshifted[i];
    b.label_dist[i * C + target[i]] = 1.0f;
  }
  return b;
}

static Eigen::MatrixXf logits_predicting(const std::vector<int>& predicted, int C) {
  Eigen::MatrixXf l = Eigen::MatrixXf::Zero(static_cast<int>(predicted.size()), C);
  for (int i = 0; i < static_cast<int>(predicted.size()); ++i) l(i, predicted[i]) = 3.0f;
  return l;
}

BOOST_AUTO_TEST_CASE(hand_built_batch_has_known_counts) {
  const int C = 6;
  // row: target (IC answer), unshifted (IW answer), prediction -> kind
  const std::vector<int> target = {1, 1, 1, 4, 4, 2, 0, 3};
  const std::vector<int> unshifted = {0, 0, 0, 3, 3, 1, 2, 3};  // the last row: the two answers coincide
  const std::vector<int> predicted = {1, 0, 5, 3, 4, 1, 2, 3};  // IC, IW, other, IW, IC, IW, IW, IC
  SplitMetrics m;
  m.add(logits_predicting(predicted, C), hand_batch(target, unshifted, C));
  BOOST_TEST(m.readout_count == 8);
  BOOST_TEST(m.in_context_frac() == 3.0 / 8, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(m.in_weight_frac() == 4.0 / 8, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(m.other_frac() == 1.0 / 8, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(m.in_context_frac() == 1.0 - m.error(), boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(ties_go_to_the_lowest_class_like_the_error) {
  const int C = 4;
  SplitMetrics m;
  // All-zero logits: argmax is class 0, the IW answer of row 0 and the IC answer of row 1.
  m.add(Eigen::MatrixXf::Zero(3, C), hand_batch({2, 0, 3}, {0, 1, 2}, C));
  BOOST_TEST(m.in_weight == 1);
  BOOST_TEST(m.in_context == 1);
  BOOST_TEST(m.other == 1);
}

BOOST_AUTO_TEST_CASE(batches_without_the_in_weight_answer_give_nan) {
  Batch b = hand_batch({1}, {0}, 3);
  b.unshifted_query.clear();
  SplitMetrics m;
  m.add(logits_predicting({1}, 3), b);
  BOOST_TEST(m.readout_count == 0);
  BOOST_TEST(std::isnan(m.in_context_frac()));
  BOOST_TEST(m.error() == 0.0);
}

BOOST_AUTO_TEST_CASE(pool_batches_carry_the_class_before_the_shift) {
  DataParams p;
  p.num_contexts = 3;
  p.label_noise = 0.1;
  const Pool pool = Pool::training(p);
  std::vector<std::int64_t> pos(50);
  for (int i = 0; i < 50; ++i) pos[i] = 2 * i;
  Batch flipped, plain;
  pool.assemble(pos, true, flipped);
  pool.assemble(pos, false, plain);
  const int H = p.num_high_prob_classes, Lo = p.num_low_prob_classes;
  for (int b = 0; b < 50; ++b) {
    BOOST_TEST_REQUIRE(flipped.unshifted_query[b] == pool.cls(pos[b], 3));
    BOOST_TEST_REQUIRE(shift_within_group(flipped.unshifted_query[b], H, Lo) == flipped.query_class(b));
    BOOST_TEST_REQUIRE(plain.unshifted_query[b] == plain.query_class(b));
  }
}

BOOST_AUTO_TEST_CASE(schema_holds_the_readout_for_flip_splits_only) {
  ResultSchema s;
  add_training_fields(s, "alpha/", evaluation_splits(), 2, 3);
  std::set<std::string> names;
  for (const auto& f : s.fields) names.insert(f.path);
  for (const char* m : kReadoutMetricNames) {
    BOOST_TEST(names.count(std::string("alpha/eval/eval-relevant_context-low_prob-flip_label/") + m) == 1);
    BOOST_TEST(names.count(std::string("alpha/selected/eval-default-none-flip_label/") + m) == 1);
    BOOST_TEST(names.count(std::string("alpha/eval/eval-default-none/") + m) == 0);
    BOOST_TEST(names.count(std::string("alpha/selected/pretraining/") + m) == 0);
  }
}
