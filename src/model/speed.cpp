#include "iclsweep/model/speed.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>

#include "iclsweep/core/rng.hpp"
#include "iclsweep/model/transformer.hpp"

namespace icl {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
// CPU time of this thread: on a shared machine it excludes the time other processes hold the core.
double thread_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

Batch random_batch(int B, int L, int D, int C, std::uint64_t tag) {
  Batch batch;
  batch.resize(B, L, D, C);
  Philox rng(stream_key(0, Purpose::Sampling, 0xBE9C, tag), 0);
  for (auto& x : batch.inputs) x = static_cast<float>(rng.normal());
  for (std::size_t i = 0; i < batch.labels.size(); ++i) batch.classes[i] = batch.labels[i] = static_cast<std::int32_t>(rng.below(C));
  for (int b = 0; b < B; ++b) batch.label_dist[static_cast<std::size_t>(b) * C + batch.target(b)] = 1.0f;
  return batch;
}
}  // namespace

StepTiming time_train_step(const ModelConfig& config, int B, int L, int C, int chunks, int steps_per_chunk, int warmup) {
  Transformer model(config, C, L, config.embed_dim, 0);
  std::vector<Batch> pool;
  for (int i = 0; i < 16; ++i) pool.push_back(random_batch(B, L, config.embed_dim, C, static_cast<std::uint64_t>(i)));
  int step = 0;
  volatile float sink = 0;
  for (int i = 0; i < warmup; ++i) sink = sink + model.train_step(pool[step++ % pool.size()]);
  StepTiming t;
  t.batch_size = B;
  t.num_contexts = L;
  for (int c = 0; c < chunks; ++c) {
    const auto t0 = Clock::now();
    const double c0 = thread_seconds();
    for (int i = 0; i < steps_per_chunk; ++i) sink = sink + model.train_step(pool[step++ % pool.size()]);
    t.chunk_cpu_ms.push_back((thread_seconds() - c0) * 1e3 / steps_per_chunk);
    t.chunk_ms.push_back(seconds_since(t0) * 1e3 / steps_per_chunk);
  }
  std::sort(t.chunk_ms.begin(), t.chunk_ms.end());
  std::sort(t.chunk_cpu_ms.begin(), t.chunk_cpu_ms.end());
  t.ms_per_step = t.chunk_ms[t.chunk_ms.size() / 2];
  t.cpu_ms_per_step = t.chunk_cpu_ms[t.chunk_cpu_ms.size() / 2];
  t.flops_per_step = model.train_step_flops(B, L);
  t.gflops = t.flops_per_step / (t.cpu_ms_per_step * 1e-3) * 1e-9;
  return t;
}

double sgemm_gflops(int n, int repeats) {
  RowMat<float> a = RowMat<float>::Constant(n, n, 0.5f), b = RowMat<float>::Constant(n, n, 0.25f), c(n, n);
  c.noalias() = a * b;  // warm up
  std::vector<double> rates;
  for (int r = 0; r < repeats; ++r) {
    const double c0 = thread_seconds();
    c.noalias() = a * b;
    rates.push_back(2.0 * n * n * n / (thread_seconds() - c0) * 1e-9);
  }
  std::sort(rates.begin(), rates.end());
  volatile float sink = c(0, 0);
  (void)sink;
  return rates[rates.size() / 2];
}

}  // namespace icl
