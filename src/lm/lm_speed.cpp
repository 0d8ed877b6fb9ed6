#include "iclsweep/lm/lm_speed.hpp"

#include <algorithm>

#include "iclsweep/core/rng.hpp"
#include "iclsweep/core/timing.hpp"

namespace icl::lm {

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
  const ChunkTimes times = time_chunks(chunks, steps, [&](int) { sink = sink + model.train_step(pool[step++ % pool.size()]); });
  LmStepTiming t;
  t.ms_per_step = times.ms_per_step;
  t.cpu_ms_per_step = times.cpu_ms_per_step;
  t.flops_per_step = model.train_step_flops(B, T);
  t.gflops = t.flops_per_step / (t.cpu_ms_per_step * 1e-3) * 1e-9;
  t.num_parameters = model.num_parameters();
  return t;
}

}  // namespace icl::lm
