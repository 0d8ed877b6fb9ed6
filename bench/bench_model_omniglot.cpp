// The Omniglot step of PAPER-SPEC §5.3 (ResNet-v1 tokenizer on 105x105 images + the §2 transformer with
// C = 1623 + Adam, batch 32, float32, one thread) per context length, and its parts: the tokenizer's
// forward and backward, and the stem kernel on one image. `iclsweep bench --model omniglot` prints the
// step as a table beside the SGEMM peak; the PyTorch peer is ../shared/bench/torch_omniglot_bench.py.
#include <benchmark/benchmark.h>

#include "iclsweep/core/rng.hpp"
#include "iclsweep/model/resnet_tokenizer.hpp"
#include "iclsweep/model/speed.hpp"
#include "iclsweep/model/stem_kernel.hpp"
#include "iclsweep/model/transformer.hpp"

namespace {

constexpr int kSide = 105, kClasses = 1623, kBatch = 32;

icl::Batch image_batch(int L, std::uint64_t tag) {
  icl::Batch batch;
  batch.resize(kBatch, L, kSide * kSide, kClasses);
  icl::Philox rng(icl::stream_key(2, icl::Purpose::Sampling, tag), 0);
  for (auto& x : batch.inputs) x = (rng.uniform() < 0.15 ? 0.0f : 1.0f) + 0.1f * static_cast<float>(rng.normal());
  for (auto& y : batch.labels) y = static_cast<std::int32_t>(rng.below(kClasses));
  return batch;
}

void BM_OmniglotStep(benchmark::State& state) {
  const int L = static_cast<int>(state.range(0));
  icl::ModelConfig config;
  config.input_tokenizer = "resnet_v1";
  config.lr_schedule = "warmup_rsqrt";
  icl::Transformer model(config, kClasses, L, kSide * kSide, 0);
  std::vector<icl::Batch> pool{image_batch(L, 0), image_batch(L, 1)};
  icl::ResNetV1Tokenizer<float> tok(kSide);
  const double flops = model.train_step_flops(kBatch, L) + 2.0 * kBatch * (L + 1) * (tok.forward_macs_per_image() + tok.backward_macs_per_image());
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(model.train_step(pool[i++ % pool.size()]));
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_OmniglotStep)->Arg(2)->Arg(4)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();

struct TokenizerFixture {
  icl::ResNetV1Tokenizer<float> tok{kSide};
  icl::ParamStore<float> store;
  icl::RowMat<float> images, tokens, d_tokens;
  explicit TokenizerFixture(int n) {
    tok.declare_parameters(store);
    store.finalize();
    store.initialize(0);
    const icl::Batch b = image_batch(n / kBatch - 1, 5);
    images = icl::CMatMap<float>(b.inputs.data(), n, kSide * kSide);
    tokens.resize(n, 64);
    d_tokens = icl::RowMat<float>::Constant(n, 64, 1e-3f);
  }
};

void BM_TokenizerForward(benchmark::State& state) {
  TokenizerFixture f(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    f.tok.forward(f.store, f.images, f.tokens);
    benchmark::DoNotOptimize(f.tokens.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * state.range(0) * f.tok.forward_macs_per_image() * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_TokenizerForward)->Arg(96)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();

void BM_TokenizerForwardBackward(benchmark::State& state) {
  TokenizerFixture f(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    f.tok.forward(f.store, f.images, f.tokens);
    f.tok.backward(f.store, f.d_tokens);
    benchmark::DoNotOptimize(f.store.grads.data());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * state.range(0) * (f.tok.forward_macs_per_image() + f.tok.backward_macs_per_image()) * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_TokenizerForwardBackward)->Arg(96)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();

void BM_StemImage(benchmark::State& state) {
  const auto g = icl::layers::stem_geom(kSide, kSide);
  const icl::Batch b = image_batch(0, 7);
  std::vector<float> W(49 * 64, 0.05f), dW(49 * 64), padded(g.padded_size()), conv(g.conv_size()), dconv(g.conv_size()), y(g.pool_size()),
      dy(g.pool_size(), 1e-3f);
  std::vector<std::int32_t> arg(g.pool_size());
  icl::layers::stem_pad_image(g, b.inputs.data(), padded.data());
  for (auto _ : state) {
    icl::layers::stem_forward(g, padded.data(), W.data(), conv.data(), y.data(), arg.data());
    icl::layers::stem_backward_weights(g, padded.data(), y.data(), arg.data(), dy.data(), dconv.data(), dW.data());
    benchmark::DoNotOptimize(dW.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * 2 * g.conv_size() * 49 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_StemImage)->Unit(benchmark::kMicrosecond)->MeasureProcessCPUTime();

}  // namespace
BENCHMARK_MAIN();
