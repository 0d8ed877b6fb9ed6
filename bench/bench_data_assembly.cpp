// Batch assembly and pool generation of the data room (PAPER-SPEC §1). Assembly must stay a small
// fraction of a training step; pool generation is paid once per grid point.
#include <benchmark/benchmark.h>

#include "iclsweep/data/pool.hpp"
#include "iclsweep/data/splits.hpp"

using namespace icl;

static DataParams params_for(int L, double sigma, std::int64_t N) {
  DataParams p;
  p.num_contexts = L;
  p.input_noise_std = sigma;
  p.dataset_size = N;
  return p;
}

// One training minibatch (batch 32) from a 2^14 pool: positions, labels, inputs with sigma = 0.2.
static void BM_AssembleTrainingBatch(benchmark::State& state) {
  const int L = static_cast<int>(state.range(0));
  const DataParams p = params_for(L, 0.2, 1 << 14);
  const Pool pool = Pool::training(p);
  Batch batch;
  std::vector<std::int64_t> positions;
  std::int64_t step = 0;
  for (auto _ : state) {
    training_positions(p.seed, pool.size(), step++, 32, positions);
    pool.assemble(positions, /*flip=*/false, batch);
    benchmark::DoNotOptimize(batch.inputs.data());
  }
  state.SetItemsProcessed(state.iterations() * 32);
}
BENCHMARK(BM_AssembleTrainingBatch)->Arg(1)->Arg(4)->Arg(8)->Arg(16)->Unit(benchmark::kMicrosecond);

// Same without input noise: the floor (copying prototypes, labels).
static void BM_AssembleTrainingBatchNoNoise(benchmark::State& state) {
  const int L = static_cast<int>(state.range(0));
  const DataParams p = params_for(L, 0.0, 1 << 14);
  const Pool pool = Pool::training(p);
  Batch batch;
  std::vector<std::int64_t> positions;
  std::int64_t step = 0;
  for (auto _ : state) {
    training_positions(p.seed, pool.size(), step++, 32, positions);
    pool.assemble(positions, false, batch);
    benchmark::DoNotOptimize(batch.inputs.data());
  }
}
BENCHMARK(BM_AssembleTrainingBatchNoNoise)->Arg(1)->Arg(16)->Unit(benchmark::kMicrosecond);

// Generating the class table of an N = 2^20 pool (per_sequence, default parameters).
static void BM_GeneratePool(benchmark::State& state) {
  const int L = static_cast<int>(state.range(0));
  const DataParams p = params_for(L, 0.2, std::int64_t{1} << 20);
  auto protos = std::make_shared<const Prototypes>(p.seed, p.num_classes(), p.num_dims);
  std::size_t bytes = 0;
  for (auto _ : state) {
    const Pool pool = Pool::training(p, protos);
    bytes = pool.memory_bytes();
    benchmark::DoNotOptimize(pool.sequence(0));
  }
  state.counters["MiB"] = static_cast<double>(bytes) / (1 << 20);
}
BENCHMARK(BM_GeneratePool)->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond)->Iterations(2);

// Same with Lo = 495 (exact samplers: no rejection blow-up for rare classes).
static void BM_GeneratePoolLo495(benchmark::State& state) {
  DataParams p = params_for(static_cast<int>(state.range(0)), 0.2, std::int64_t{1} << 20);
  p.num_low_prob_classes = 495;
  auto protos = std::make_shared<const Prototypes>(p.seed, p.num_classes(), p.num_dims);
  for (auto _ : state) {
    const Pool pool = Pool::training(p, protos);
    benchmark::DoNotOptimize(pool.sequence(0));
  }
}
BENCHMARK(BM_GeneratePoolLo495)->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond)->Iterations(2);

// Building all evaluation pools and positions of a run (9 pools of 5000).
static void BM_BuildEvalSet(benchmark::State& state) {
  const DataParams p = params_for(static_cast<int>(state.range(0)), 0.2, 1 << 10);
  auto train = std::make_shared<const Pool>(Pool::training(p));
  for (auto _ : state) {
    EvalSet eval(p, train);
    benchmark::DoNotOptimize(&eval);
  }
}
BENCHMARK(BM_BuildEvalSet)->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
