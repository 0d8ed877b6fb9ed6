#define BOOST_TEST_MODULE data_batches
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <set>

#include "iclsweep/core/error.hpp"
#include "iclsweep/data/pool.hpp"
#include "iclsweep/data/splits.hpp"

using namespace icl;

static bool within_se(double count, double n, double p, double k = 6.0) {
  return std::fabs(count - n * p) <= k * std::sqrt(n * p * (1.0 - p)) + 1e-9;
}

static std::vector<std::int64_t> iota_positions(std::int64_t begin, int count) {
  std::vector<std::int64_t> v(count);
  for (int i = 0; i < count; ++i) v[i] = begin + i;
  return v;
}

BOOST_AUTO_TEST_CASE(oobd_shift_is_an_in_group_bijection) {
  for (auto [H, Lo] : {std::pair{5, 5}, std::pair{5, 495}, std::pair{1, 3}, std::pair{3, 1}}) {
    std::set<int> image;
    for (int c = 0; c < H + Lo; ++c) {
      const int s = shift_within_group(c, H, Lo);
      BOOST_TEST(((c < H) == (s < H)));
      BOOST_TEST((s >= 0 && s < H + Lo));
      if (H > 1 && c < H) BOOST_TEST(s != c);
      if (Lo > 1 && c >= H) BOOST_TEST(s != c);
      image.insert(s);
    }
    BOOST_TEST(static_cast<int>(image.size()) == H + Lo);
  }
}

BOOST_AUTO_TEST_CASE(flipped_batches_shift_a_copy_and_keep_inputs) {
  DataParams p;
  p.num_contexts = 4;
  p.input_noise_std = 0.2;
  const Pool pool = Pool::training(p);
  const auto pos = iota_positions(0, 64);
  Batch plain, flipped, again;
  pool.assemble(pos, false, plain);
  pool.assemble(pos, true, flipped);
  pool.assemble(pos, true, again);  // Q5: a second draw must not be shifted twice
  BOOST_TEST(flipped.classes == again.classes);
  BOOST_TEST(flipped.inputs == plain.inputs);
  for (int b = 0; b < 64; ++b)
    for (int j = 0; j <= 4; ++j) {
      BOOST_TEST_REQUIRE(plain.cls(b, j) == pool.cls(pos[b], j));
      BOOST_TEST_REQUIRE(flipped.cls(b, j) == shift_within_group(pool.cls(pos[b], j), 5, 5));
      BOOST_TEST_REQUIRE(flipped.label(b, j) == flipped.cls(b, j));  // no label noise
    }
  for (int b = 0; b < 64; ++b) {
    BOOST_TEST(flipped.label_dist[b * 10 + flipped.query_class(b)] == 1.0f);
    BOOST_TEST(plain.label_dist[b * 10 + plain.query_class(b)] == 1.0f);
  }
}

BOOST_AUTO_TEST_CASE(inputs_are_prototype_plus_sigma_times_fixed_normal_noise) {
  DataParams p;
  p.num_contexts = 2;
  p.dataset_size = 4096;
  const Pool clean = Pool::training(p);
  p.input_noise_std = 0.5;
  const Pool noisy = Pool::training(p);
  const auto pos = iota_positions(0, 2000);
  Batch a, b;
  clean.assemble(pos, false, a);
  for (int i = 0; i < 2000; ++i)
    for (int j = 0; j < 3; ++j)
      BOOST_TEST_REQUIRE(std::memcmp(a.input(i, j), clean.prototypes()[clean.cls(i, j)], 64 * sizeof(float)) == 0);
  noisy.assemble(pos, false, b);
  double sum = 0, sum2 = 0;
  const double n = 2000.0 * 3 * 64;
  std::vector<float> xi(64);
  for (int i = 0; i < 2000; ++i)
    for (int j = 0; j < 3; ++j) {
      noisy.input_noise(i, j, xi.data());
      for (int d = 0; d < 64; ++d) {
        const double z = (b.input(i, j)[d] - noisy.prototypes()[noisy.cls(i, j)][d]) / 0.5;
        BOOST_TEST_REQUIRE(std::fabs(z - xi[d]) < 1e-4);
        sum += z;
        sum2 += z * z;
      }
    }
  BOOST_TEST(std::fabs(sum / n) < 6.0 / std::sqrt(n));
  BOOST_TEST(std::fabs(sum2 / n - 1.0) < 6.0 * std::sqrt(2.0 / n));
  // Fixed per pool element: a different batch containing the same position gives the same input.
  Batch c;
  noisy.assemble(std::vector<std::int64_t>{7, 3, 7}, false, c);
  BOOST_TEST(std::memcmp(c.input(0, 1), b.input(7, 1), 64 * sizeof(float)) == 0);
  BOOST_TEST(std::memcmp(c.input(2, 1), b.input(7, 1), 64 * sizeof(float)) == 0);
}

BOOST_AUTO_TEST_CASE(label_noise_rate_target_and_label_dist) {
  DataParams p;
  p.num_contexts = 4;
  p.label_noise = 0.1;
  p.dataset_size = 20000;
  const Pool pool = Pool::training(p);
  const auto pos = iota_positions(0, 20000);
  Batch batch, again;
  pool.assemble(pos, true, batch);
  pool.assemble(pos, true, again);
  BOOST_TEST(batch.labels == again.labels);  // the mask is fixed per pool element
  int noisy = 0, crossed = 0;
  for (int b = 0; b < 20000; ++b) {
    for (int j = 0; j <= 4; ++j) {
      const int clean = batch.cls(b, j), seen = batch.label(b, j);
      if (seen != clean) {
        ++noisy;
        BOOST_TEST_REQUIRE(seen == (clean + 1) % 10);  // applied after the shift
        crossed += (clean < 5) != (seen < 5);
      }
      BOOST_TEST_REQUIRE(pool.label_flipped(b, j) == (seen != clean));
    }
    const float* dist = batch.label_dist.data() + b * 10;
    const int q = batch.query_class(b);
    BOOST_TEST_REQUIRE(dist[q] == 0.9f);
    BOOST_TEST_REQUIRE(dist[(q + 1) % 10] == 0.1f);
  }
  BOOST_TEST(within_se(noisy, 20000.0 * 5, 0.1), noisy);
  BOOST_TEST(crossed > 0);  // noise may cross the C_H / C_L boundary (4 -> 5, 9 -> 0)
}

BOOST_AUTO_TEST_CASE(q3_compat_builds_label_dist_from_the_unshifted_query) {
  DataParams p;
  p.relevance_mode = RelevanceMode::PerSlot;
  p.vfinal_bug_compat = true;
  const Pool pool = Pool::training(p);
  Batch batch;
  pool.assemble(iota_positions(0, 100), true, batch);
  for (int b = 0; b < 100; ++b) {
    BOOST_TEST_REQUIRE(batch.label_dist[b * 10 + pool.cls(b, 1)] == 1.0f);
    BOOST_TEST_REQUIRE(batch.query_class(b) == shift_within_group(pool.cls(b, 1), 5, 5));
  }
}

BOOST_AUTO_TEST_CASE(same_seed_gives_bit_identical_batches) {
  DataParams p;
  p.num_contexts = 8;
  p.input_noise_std = 0.2;
  p.label_noise = 0.05;
  p.seed = 3;
  const Pool a = Pool::training(p), b = Pool::training(p);
  const auto pos = training_positions(p.seed, a.size(), 17);
  BOOST_TEST(pos == training_positions(p.seed, b.size(), 17));
  BOOST_TEST(pos.size() == 32u);
  Batch x, y;
  a.assemble(pos, true, x);
  b.assemble(pos, true, y);
  BOOST_TEST(std::memcmp(x.inputs.data(), y.inputs.data(), x.inputs.size() * sizeof(float)) == 0);
  BOOST_TEST(x.labels == y.labels);
  BOOST_TEST(x.label_dist == y.label_dist);
  p.seed = 4;
  const Pool c = Pool::training(p);
  Batch z;
  c.assemble(pos, true, z);
  BOOST_TEST(std::memcmp(x.inputs.data(), z.inputs.data(), x.inputs.size() * sizeof(float)) != 0);
  BOOST_TEST(training_positions(3, a.size(), 18) != pos);
}

BOOST_AUTO_TEST_CASE(training_positions_are_uniform_over_the_pool) {
  std::vector<int> counts(64, 0);
  std::vector<std::int64_t> pos;
  for (int t = 0; t < 2000; ++t) {
    training_positions(9, 64, t, 32, pos);
    for (auto n : pos) {
      BOOST_TEST_REQUIRE((n >= 0 && n < 64));
      ++counts[n];
    }
  }
  for (int n = 0; n < 64; ++n) BOOST_TEST(within_se(counts[n], 64000, 1.0 / 64), counts[n]);
}

BOOST_AUTO_TEST_CASE(evaluation_splits_are_the_19_named_ones) {
  const auto splits = evaluation_splits();
  BOOST_TEST(splits.size() == 19u);
  BOOST_TEST(splits[0].name == "pretraining");
  std::set<std::string> names;
  for (const auto& s : splits) names.insert(s.name);
  BOOST_TEST(names.size() == 19u);
  for (const char* n : {"eval-default-none", "eval-default-none-flip_label", "eval-relevant_context-low_prob-flip_label",
                        "eval-irrelevant_context-high_prob"})
    BOOST_TEST(names.count(n) == 1u, n);
}

BOOST_AUTO_TEST_CASE(eval_set_pairs_flip_twins_and_forces_relevance) {
  DataParams p;
  p.num_contexts = 2;
  p.dataset_size = 2048;
  auto train = std::make_shared<const Pool>(Pool::training(p));
  EvalSet eval(p, train);
  const auto pre = eval.find("pretraining");
  BOOST_TEST(eval.num_batches(pre) == 100);
  BOOST_TEST(&eval.pool(pre) == train.get());
  for (auto n : eval.positions(pre)) BOOST_TEST_REQUIRE((n >= 0 && n < 2048));
  const auto ibd = eval.find("eval-relevant_context-low_prob"), oobd = eval.find("eval-relevant_context-low_prob-flip_label");
  BOOST_TEST(eval.num_batches(ibd) == 10);
  BOOST_TEST(eval.positions(ibd) == eval.positions(oobd));
  BOOST_TEST(&eval.pool(ibd) == &eval.pool(oobd));
  BOOST_TEST(eval.pool(ibd).size() == 5000);
  BOOST_TEST(eval.positions(ibd) != eval.positions(eval.find("eval-relevant_context-high_prob")));
  Batch a, b;
  int batches = 0;
  for (int k = 0; k < eval.num_batches(oobd); ++k, ++batches) {
    eval.assemble(ibd, k, a);
    eval.assemble(oobd, k, b);
    BOOST_TEST_REQUIRE(a.size == 100);
    for (int i = 0; i < 100; ++i) {
      BOOST_TEST_REQUIRE(a.context_contains_query(i));
      BOOST_TEST_REQUIRE(a.query_class(i) >= 5);
      BOOST_TEST_REQUIRE(b.query_class(i) == shift_within_group(a.query_class(i), 5, 5));
      BOOST_TEST_REQUIRE(b.context_contains_query(i));  // the shift is consistent within the sequence
    }
  }
  BOOST_TEST(batches == 10);
  const auto irr = eval.find("eval-irrelevant_context-none");
  for (int k = 0; k < eval.num_batches(irr); ++k) {
    eval.assemble(irr, k, a);
    for (int i = 0; i < a.size; ++i) BOOST_TEST_REQUIRE(!a.context_contains_query(i));
  }
  for (std::size_t s = 0; s < eval.splits().size(); ++s) BOOST_TEST(eval.valid(s));
  BOOST_TEST(eval.memory_bytes() < std::size_t{1} << 20);
  BOOST_CHECK_THROW(eval.find("eval-default"), InputError);
}

BOOST_AUTO_TEST_CASE(baseline_override_changes_only_the_default_pools) {
  DataParams p;
  p.num_contexts = 1;
  p.p_relevant_context = 0.0;  // an IW baseline
  auto train = std::make_shared<const Pool>(Pool::training(p));
  EvalOptions opt;
  opt.num_eval_samples = 2000;
  opt.default_p_relevant = 0.9;  // p'
  EvalSet eval(p, train, opt);
  const Pool& def = eval.eval_pool(Relevance::Default, Conditioning::None);
  int relevant = 0;
  for (std::int64_t n = 0; n < def.size(); ++n) relevant += def.cls(n, 0) == def.cls(n, 1);
  BOOST_TEST(within_se(relevant, def.size(), 0.9), relevant);
  const Pool& rel = eval.eval_pool(Relevance::Relevant, Conditioning::None);
  for (std::int64_t n = 0; n < rel.size(); ++n) BOOST_TEST_REQUIRE(rel.cls(n, 0) == rel.cls(n, 1));
}

BOOST_AUTO_TEST_CASE(per_slot_with_L_rel_marks_forced_splits_invalid) {
  DataParams p;
  p.relevance_mode = RelevanceMode::PerSlot;
  p.num_contexts = 4;
  p.num_relevant_contexts = 2;
  auto train = std::make_shared<const Pool>(Pool::training(p));
  EvalOptions opt;
  opt.num_eval_samples = 100;
  EvalSet eval(p, train, opt);
  BOOST_TEST(eval.valid(eval.find("eval-default-none")));
  BOOST_TEST(eval.valid(eval.find("pretraining")));
  BOOST_TEST(!eval.valid(eval.find("eval-irrelevant_context-none-flip_label")));
  BOOST_TEST(eval.invalid_reason(eval.find("eval-relevant_context-low_prob")).find("Q6") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(too_few_eval_samples_for_the_classes_is_a_param_error) {
  DataParams p;
  p.num_low_prob_classes = 495;
  p.p_high = 0.5;
  p.dataset_size = 1000;
  auto train = std::make_shared<const Pool>(Pool::training(p));
  EvalOptions opt;
  opt.num_eval_samples = 50;  // 250 < C = 500
  BOOST_CHECK_THROW(EvalSet(p, train, opt), ParamError);
}

BOOST_AUTO_TEST_CASE(batch_assembly_is_fast) {
  // Generous bound (shared 2-core machine); the benchmark reports ~0.07 ms for L = 16.
  BOOST_TEST(time_batch_assembly_ms(16, 50) < 10.0);
}

// The input noise of a pool element is fixed bit for bit, whichever batch (size, composition) it is
// assembled in: the training minibatches, the evaluation batches and `iclsweep sample` see the same x.
BOOST_AUTO_TEST_CASE(input_noise_is_bitwise_fixed_per_pool_element) {
  DataParams p;
  p.dataset_size = 512;
  p.num_contexts = 3;
  p.input_noise_std = 0.3;
  p.num_dims = p.embed_dim = 10;  // not a whole number of SIMD packets per position
  const Pool pool = Pool::training(p);
  Batch alone, crowd;
  for (std::int64_t n : {0, 17, 311}) {
    pool.assemble(std::vector<std::int64_t>{n}, false, alone);
    for (int size : {2, 7, 32, 100}) {
      std::vector<std::int64_t> positions = iota_positions(100, size);
      positions[static_cast<std::size_t>(size / 2)] = n;
      pool.assemble(positions, false, crowd);
      const bool same = std::memcmp(alone.input(0, 0), crowd.input(size / 2, 0),
                                    sizeof(float) * static_cast<std::size_t>(p.num_dims) * pool.seq_len()) == 0;
      BOOST_TEST(same, "pool element " << n << " differs inside a batch of " << size);
    }
  }
}
