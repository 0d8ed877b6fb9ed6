// Raventós 2023 tasks and data (PEERS-SPEC §3.1): statistics, the pool, the token layout, determinism.
#define BOOST_TEST_MODULE raventos_data
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <set>

#include "kinds/raventos/tasks.hpp"

using namespace icl;
using namespace icl::raventos;

BOOST_AUTO_TEST_CASE(pool_tasks_inputs_and_noise_have_the_stated_moments) {
  const int D = 4, K = 8, n = 20000;
  const double s2 = 0.125;
  const TaskPool pool(D, 4096, 3);
  double m = 0, v = 0;
  for (double w : pool.tasks()) m += w, v += w * w;
  m /= pool.tasks().size();
  v = v / pool.tasks().size() - m * m;
  BOOST_TEST(std::abs(m) < 0.03);
  BOOST_TEST(std::abs(v - 1) < 0.04);
  for (Distribution dist : {Distribution::Pretrain, Distribution::True}) {
    const Sequences s = evaluation_sequences(pool, dist, n, K, s2, 3);
    double xm = 0, xv = 0, nm = 0, nv = 0;
    for (double x : s.x) xm += x, xv += x * x;
    xm /= s.x.size();
    xv = xv / s.x.size() - xm * xm;
    for (int q = 0; q < n; ++q)
      for (int k = 0; k < K; ++k) {
        double dot = 0;
        for (int d = 0; d < D; ++d) dot += s.w[q * D + d] * s.x_at(q, k)[d];
        const double e = s.y_at(q, k) - dot;
        nm += e, nv += e * e;
      }
    nm /= n * K;
    nv = nv / (n * K) - nm * nm;
    BOOST_TEST(std::abs(xm) < 0.01);
    BOOST_TEST(std::abs(xv - 1) < 0.01);
    BOOST_TEST(std::abs(nm) < 0.005);
    BOOST_TEST(std::abs(nv - s2) / s2 < 0.02);
    // T_Pretrain takes pool tasks (and their index), T_True fresh ones.
    for (int q = 0; q < 50; ++q) {
      if (dist == Distribution::Pretrain) {
        BOOST_REQUIRE(s.task[q] >= 0);
        for (int d = 0; d < D; ++d) BOOST_TEST(s.w[q * D + d] == pool.task(s.task[q])[d]);
      } else {
        BOOST_TEST(s.task[q] == -1);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(training_draws_pool_tasks_uniformly_with_replacement) {
  const int M = 8, B = 64, steps = 500;
  const TaskPool pool(3, M, 1);
  std::vector<int> count(M, 0);
  for (int s = 0; s < steps; ++s) {
    const Sequences b = training_sequences(pool, s, B, 2, 0.25, 1);
    for (auto t : b.task) ++count[t];
  }
  const double expect = double(B) * steps / M;
  for (int c : count) BOOST_TEST(std::abs(c - expect) / expect < 0.05);
}

BOOST_AUTO_TEST_CASE(infinite_pool_gives_a_fresh_task_per_sequence) {
  const TaskPool pool(4, 0, 1);
  BOOST_TEST(pool.infinite());
  const Sequences b = training_sequences(pool, 0, 100, 2, 0.25, 1);
  std::set<double> first;
  for (int q = 0; q < 100; ++q) {
    BOOST_TEST(b.task[q] == -1);
    first.insert(b.w[q * 4]);
  }
  BOOST_TEST(first.size() == 100u);
}

BOOST_AUTO_TEST_CASE(streams_are_deterministic_and_separate) {
  const TaskPool a(4, 16, 7), b(4, 16, 7), c(4, 16, 8);
  BOOST_TEST(a.tasks() == b.tasks());
  BOOST_TEST(a.tasks() != c.tasks());
  const Sequences s1 = training_sequences(a, 5, 4, 3, 0.25, 7), s2 = training_sequences(b, 5, 4, 3, 0.25, 7);
  BOOST_TEST(s1.x == s2.x);
  BOOST_TEST(s1.y == s2.y);
  // Step 5 with batch 4 is cells 20..23: the same sequences as step 10 with batch 2.
  const Sequences s3 = training_sequences(a, 10, 2, 3, 0.25, 7);
  for (std::size_t i = 0; i < s3.x.size(); ++i) BOOST_TEST(s3.x[i] == s1.x[i]);
  // Evaluation sets differ from the training stream and between the two distributions.
  const Sequences e0 = evaluation_sequences(a, Distribution::Pretrain, 4, 3, 0.25, 7);
  const Sequences e1 = evaluation_sequences(a, Distribution::True, 4, 3, 0.25, 7);
  const Sequences t0 = training_sequences(a, 0, 4, 3, 0.25, 7);
  BOOST_TEST(e0.x != e1.x);
  BOOST_TEST(e0.x != t0.x);
}

BOOST_AUTO_TEST_CASE(tokens_follow_the_x_token_y_token_layout) {
  const TaskPool pool(3, 4, 1);
  const Sequences s = training_sequences(pool, 0, 2, 3, 0.25, 1);
  RowMat<double> t;
  to_tokens(s, t);
  BOOST_TEST(t.rows() == 12);
  BOOST_TEST(t.cols() == 4);
  for (int q = 0; q < 2; ++q)
    for (int k = 0; k < 3; ++k) {
      const int r = q * 6 + 2 * k;
      BOOST_TEST(t(r, 0) == 0.0);
      for (int d = 0; d < 3; ++d) {
        BOOST_TEST(t(r, 1 + d) == s.x_at(q, k)[d]);
        BOOST_TEST(t(r + 1, 1 + d) == 0.0);
      }
      BOOST_TEST(t(r + 1, 0) == s.y_at(q, k));
    }
}
