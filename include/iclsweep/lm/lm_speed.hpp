#pragma once
// Timing of the character LM's training step for `iclsweep bench --model lm`; the PyTorch peer is
// ../shared/bench/torch_charlm_bench.py (same LM, full next-token CE over T positions, Adam, 1 thread).
#include <vector>

#include "iclsweep/lm/char_lm.hpp"

namespace icl::lm {

struct LmStepTiming {
  double ms_per_step = 0, cpu_ms_per_step = 0;  // medians over chunks (wall, this thread's CPU)
  double flops_per_step = 0, gflops = 0;        // CharLm::train_step_flops, per CPU second
  std::size_t num_parameters = 0;
};

// A fresh LM (seed 0) trained with Adam on 8 fixed batches of B random sequences of T tokens
// (loss on every position, as the peer): `warmup` steps, then `chunks` chunks of `steps` steps.
LmStepTiming time_lm_train_step(const LmConfig& config, int batch, int seq, int chunks, int steps, int warmup = 3);

}  // namespace icl::lm
