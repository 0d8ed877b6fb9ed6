#pragma once
// Timing of the model's training step and of the machine's single-core SGEMM, for `iclsweep bench`
// and bench/bench_model_step.cpp.
#include <vector>

#include "iclsweep/model/config.hpp"

namespace icl {

struct StepTiming {
  int batch_size = 0, num_contexts = 0;
  double ms_per_step = 0;           // wall clock, median over chunks
  double cpu_ms_per_step = 0;       // this thread's CPU time, median over chunks (robust to a loaded machine)
  std::vector<double> chunk_ms, chunk_cpu_ms;  // per-step time of each chunk, sorted
  double flops_per_step = 0;        // matmul FLOPs (Transformer::train_step_flops)
  double gflops = 0;                // flops_per_step / median CPU time
};

// Trains a fresh float transformer (seed 0) on a fixed pool of 16 random batches: `warmup` steps,
// then `chunks` chunks of `steps_per_chunk` steps each; reports the median per-step time.
StepTiming time_train_step(const ModelConfig& config, int batch_size, int num_contexts, int num_classes, int chunks = 7,
                           int steps_per_chunk = 50, int warmup = 20);

// The Omniglot step (PAPER-SPEC §5.3): ResNet-v1 tokenizer over B·(L+1) images of side x side pixels +
// the §2 transformer with C classes + Adam, float32, one thread, on a fixed pool of 4 random batches
// (Omniglot-like images: background 1, strokes 0, plus N(0, 0.1²) noise). flops_per_step counts the
// tokenizer's convolutions (stem backward: kernel gradient only) and the transformer's matmuls.
struct OmniglotStepTiming {
  StepTiming step;
  double tokenizer_cpu_ms = 0;      // tokenizer forward + backward alone on the step's images, median
  double tokenizer_flops = 0;       // its share of flops_per_step
};
OmniglotStepTiming time_omniglot_step(int batch_size, int num_contexts, int image_side, int num_classes, int chunks = 5,
                                      int steps_per_chunk = 4, int warmup = 3);

// GFLOP/s (thread CPU time) of a large square single-precision Eigen GEMM (n x n x n), median of `repeats`.
double sgemm_gflops(int n = 1024, int repeats = 5);

}  // namespace icl
