// One training step of the §2 transformer (batch 32, E = 64, 2 blocks, C = 10) per context length, and
// the Eigen SGEMM the step's GEMMs are built on. `iclsweep bench` prints the same figures as a table.
#include <benchmark/benchmark.h>

#include "iclsweep/core/rng.hpp"
#include "iclsweep/model/speed.hpp"
#include "iclsweep/model/transformer.hpp"

namespace {

icl::Batch make_batch(int B, int L, int D, int C, std::uint64_t tag) {
  icl::Batch batch;
  batch.resize(B, L, D, C);
  icl::Philox rng(icl::stream_key(1, icl::Purpose::Sampling, tag), 0);
  for (auto& x : batch.inputs) x = static_cast<float>(rng.normal());
  for (auto& y : batch.labels) y = static_cast<std::int32_t>(rng.below(C));
  return batch;
}

void BM_TrainStep(benchmark::State& state) {
  const int L = static_cast<int>(state.range(0)), B = 32, C = 10;
  icl::ModelConfig config;
  icl::Transformer model(config, C, L, config.embed_dim, 0);
  std::vector<icl::Batch> pool;
  for (int i = 0; i < 16; ++i) pool.push_back(make_batch(B, L, config.embed_dim, C, static_cast<std::uint64_t>(i)));
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(model.train_step(pool[i++ % pool.size()]));
  state.counters["GFLOP/s"] = benchmark::Counter(model.train_step_flops(B, L) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_TrainStep)->Arg(1)->Arg(4)->Arg(8)->Arg(16)->Unit(benchmark::kMillisecond);

void BM_Inference100(benchmark::State& state) {
  const int L = static_cast<int>(state.range(0)), C = 10;
  icl::ModelConfig config;
  icl::Transformer model(config, C, L, config.embed_dim, 0);
  const icl::Batch batch = make_batch(100, L, config.embed_dim, C, 3);
  Eigen::MatrixXf out;
  for (auto _ : state) {
    model.logits(batch, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_Inference100)->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond);

void BM_Sgemm(benchmark::State& state) {
  for (auto _ : state) state.counters["GFLOP/s"] = icl::sgemm_gflops(static_cast<int>(state.range(0)), 3);
}
BENCHMARK(BM_Sgemm)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
