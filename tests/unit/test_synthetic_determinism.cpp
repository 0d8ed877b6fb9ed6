#define BOOST_TEST_MODULE train_determinism
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <memory>
#include <thread>

#include "iclsweep/data/params.hpp"
#include "iclsweep/model/config.hpp"
#include "iclsweep/train/config.hpp"
#include "iclsweep/train/trainer.hpp"
#include "kinds/synthetic/transformer_kind.hpp"

// A grid point's numbers depend only on its parameters and seed: not on the thread, the heap state or
// the process that runs it (the sweep runs points on rank 0's worker thread and on other ranks' main
// threads). Vectorised kernels whose loop peeling follows buffer alignment break this silently, so
// run the same point under different heap layouts and threads and compare bit for bit.

using namespace icl;

static ParamMap tiny_point() {
  ParamRegistry reg;
  reg.add(data_param_specs());
  reg.add(train_param_specs());
  reg.add(model_param_specs());
  reg.add({{"run.model_kind", ParamType::String, "transformer", "", {}}});
  auto p = ParamMap::defaults(reg);
  p.set(reg, "data.dataset_size", "256");
  p.set(reg, "data.input_noise_std", "0.2");
  p.set(reg, "data.p_relevant_context", "0.9");
  p.set(reg, "data.num_contexts", "2");
  p.set(reg, "train.steps", "60");
  p.set(reg, "train.checkpoint_interval", "30");
  p.set(reg, "train.log_interval", "10");
  p.set(reg, "eval.num_eval_samples", "60");
  p.set(reg, "eval.num_pretraining_samples", "100");
  p.set(reg, "eval.batch_size", "25");
  return p;
}

static void expect_identical(const PointRecord& a, const PointRecord& b) {
  BOOST_REQUIRE_EQUAL(a.fields.size(), b.fields.size());
  for (const auto& [path, fa] : a.fields) {
    const auto& fb = b.fields.at(path);
    BOOST_REQUIRE_EQUAL(fa.values.size(), fb.values.size());
    const bool same = std::memcmp(fa.values.data(), fb.values.data(), fa.values.size() * sizeof(double)) == 0;
    BOOST_TEST(same, "field " << path << " differs between runs");
  }
}

BOOST_AUTO_TEST_CASE(same_point_same_bits_across_threads_and_heap_layouts) {
  const ParamMap point = tiny_point();
  const TransformerKind kind;
  const PointRecord reference = kind.run(point, {});
  for (int shift = 1; shift <= 3; ++shift) {
    // Perturb the heap so the next allocations land at other addresses (mod 64).
    std::vector<std::unique_ptr<char[]>> junk;
    for (int i = 0; i < 50 * shift; ++i) junk.emplace_back(new char[static_cast<std::size_t>(8 * shift + 24 * i)]);
    PointRecord other;
    std::thread t([&] { other = kind.run(point, {}); });
    t.join();
    expect_identical(reference, other);
  }
}
