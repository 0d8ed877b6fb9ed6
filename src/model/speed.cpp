#include "iclsweep/model/speed.hpp"

#include <algorithm>

#include "iclsweep/core/rng.hpp"
#include "iclsweep/core/timing.hpp"
#include "iclsweep/model/resnet_tokenizer.hpp"
#include "iclsweep/model/transformer.hpp"

namespace icl {

namespace {
StepTiming step_timing(int B, int L, const ChunkTimes& c) {
  StepTiming t;
  t.batch_size = B;
  t.num_contexts = L;
  t.ms_per_step = c.ms_per_step;
  t.cpu_ms_per_step = c.cpu_ms_per_step;
  t.chunk_ms = c.chunk_ms;
  t.chunk_cpu_ms = c.chunk_cpu_ms;
  return t;
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
  StepTiming t = step_timing(B, L, time_chunks(chunks, steps_per_chunk, [&](int) {
                                 sink = sink + model.train_step(pool[step++ % pool.size()]);
                               }));
  t.flops_per_step = model.train_step_flops(B, L);
  t.gflops = t.flops_per_step / (t.cpu_ms_per_step * 1e-3) * 1e-9;
  return t;
}

namespace {
Batch image_batch(int B, int L, int side, int C, std::uint64_t tag) {
  Batch batch;
  batch.resize(B, L, side * side, C);
  Philox rng(stream_key(0, Purpose::Sampling, 0x0B1, tag), 0);
  for (auto& x : batch.inputs) x = (rng.uniform() < 0.15 ? 0.0f : 1.0f) + 0.1f * static_cast<float>(rng.normal());
  for (std::size_t i = 0; i < batch.labels.size(); ++i) batch.classes[i] = batch.labels[i] = static_cast<std::int32_t>(rng.below(C));
  for (int b = 0; b < B; ++b) batch.label_dist[static_cast<std::size_t>(b) * C + batch.target(b)] = 1.0f;
  return batch;
}
}  // namespace

OmniglotStepTiming time_omniglot_step(int B, int L, int side, int C, int chunks, int steps_per_chunk, int warmup) {
  ModelConfig config;
  config.input_tokenizer = "resnet_v1";
  config.lr_schedule = "warmup_rsqrt";
  Transformer model(config, C, L, side * side, 0);
  std::vector<Batch> pool;
  for (int i = 0; i < 4; ++i) pool.push_back(image_batch(B, L, side, C, static_cast<std::uint64_t>(i)));
  int step = 0;
  volatile float sink = 0;
  for (int i = 0; i < warmup; ++i) sink = sink + model.train_step(pool[step++ % pool.size()]);
  OmniglotStepTiming r;
  r.step = step_timing(B, L, time_chunks(chunks, steps_per_chunk, [&](int) {
                         sink = sink + model.train_step(pool[step++ % pool.size()]);
                       }));
  StepTiming& t = r.step;

  // The tokenizer alone, on the same images, with the same parameters.
  ResNetV1Tokenizer<float> tok(side);
  ParamStore<float> store;
  tok.declare_parameters(store);
  store.finalize();
  store.initialize(0);
  const int n = B * (L + 1);
  const CMatMap<float> images(pool[0].inputs.data(), n, side * side);
  RowMat<float> tokens(n, ResNetV1Tokenizer<float>::kTokenDim), d_tokens = RowMat<float>::Constant(n, tokens.cols(), 1e-3f);
  r.tokenizer_cpu_ms = time_chunks(chunks, 1, [&](int) {
                         tok.forward(store, images, tokens);
                         tok.backward(store, d_tokens);
                       }).cpu_ms_per_step;
  r.tokenizer_flops = 2.0 * n * (tok.forward_macs_per_image() + tok.backward_macs_per_image());
  t.flops_per_step = model.train_step_flops(B, L) + r.tokenizer_flops;
  t.gflops = t.flops_per_step / (t.cpu_ms_per_step * 1e-3) * 1e-9;
  return r;
}

double sgemm_gflops(int n, int repeats) {
  RowMat<float> a = RowMat<float>::Constant(n, n, 0.5f), b = RowMat<float>::Constant(n, n, 0.25f), c(n, n);
  c.noalias() = a * b;  // warm up
  const double ms = time_chunks(repeats, 1, [&](int) { c.noalias() = a * b; }).cpu_ms_per_step;
  volatile float sink = c(0, 0);
  (void)sink;
  return 2.0 * n * n * n / (ms * 1e-3) * 1e-9;
}

}  // namespace icl
