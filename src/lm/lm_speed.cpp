#include "iclsweep/lm/lm_speed.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>

#include "iclsweep/core/rng.hpp"

namespace icl::lm {
namespace {
double thread_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
}  // namespace

LmStepTiming time_lm_train_step(const LmConfig& config, int B, int T, int chunks, int steps, int warmup) {
  LmConfig c = config;
  c.max_len = std::max(c.max_len, T);
  CharLm model(c, 0);
  model.set_optimizer(OptimizerKind::Adam, 3e-4);
  std::vector<LmBatch> pool(8);
  for (std::size_t k = 0; k < pool.size(); ++k) {
    Philox rng(stream_key(0, Purpose::Sampling, 0xBE9C1A, k), 0);
    LmBatch& b = pool[k];
    b.batch = B;
    b.seq = T;
    b.ids.resize(static_cast<std::size_t>(B) * T);
    b.targets.resize(b.ids.size());
    b.weights.assign(b.ids.size(), 1.0f);
    for (auto& id : b.ids) id = static_cast<TokenId>(rng.below(64));
    for (auto& id : b.targets) id = static_cast<TokenId>(rng.below(64));
  }
  int step = 0;
  volatile double sink = 0;
  for (int i = 0; i < warmup; ++i) sink = sink + model.train_step(pool[step++ % pool.size()]);
  std::vector<double> wall, cpu;
  for (int k = 0; k < chunks; ++k) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = thread_seconds();
    for (int i = 0; i < steps; ++i) sink = sink + model.train_step(pool[step++ % pool.size()]);
    cpu.push_back((thread_seconds() - c0) * 1e3 / steps);
    wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 1e3 / steps);
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  LmStepTiming t;
  t.ms_per_step = wall[wall.size() / 2];
  t.cpu_ms_per_step = cpu[cpu.size() / 2];
  t.flops_per_step = model.train_step_flops(B, T);
  t.gflops = t.flops_per_step / (t.cpu_ms_per_step * 1e-3) * 1e-9;
  t.num_parameters = model.num_parameters();
  return t;
}

}  // namespace icl::lm
