#pragma once
// The keys of the Raventós 2023 family (section raventos.), PEERS-SPEC §3, and their reading into one
// struct. Every rule broken by a point is reported at once, each message naming the key, the value, the
// rule and the fix.
#include <cstdint>
#include <string>
#include <vector>

#include "iclsweep/core/params.hpp"

namespace icl::raventos {

struct Params {
  // §3.1 tasks and data
  int dims = 8;                // D
  int num_examples = 16;       // K (x, y) pairs per sequence; 2K tokens
  double noise_variance = 0.25;  // σ²
  std::int64_t num_tasks = 0;  // M; 0 = ∞ (a fresh task per sequence)
  // §3.2 model
  int layers = 8, embed_dim = 128, heads = 2;
  // §3.3 training
  int batch_size = 256;
  std::int64_t steps = 500000;
  double learning_rate = 1e-3;   // peak of the triangle schedule
  double warmup_fraction = 0.5;  // fraction of steps spent rising linearly from 0 to the peak
  double weight_decay = 0;       // AdamW, decoupled, scaled by the schedule, body kernels only
  // evaluation
  std::int64_t eval_interval = 1000;
  int eval_sequences = 4096;
  std::int64_t log_interval = 1000;
  std::uint64_t seed = 0;  // data.seed

  int tokens() const { return 2 * num_examples; }
  bool infinite_tasks() const { return num_tasks == 0; }
  // The steps at which the model is evaluated: every eval_interval, and the last step.
  std::vector<std::int64_t> checkpoint_steps() const;
  std::int64_t num_log_entries() const { return steps / log_interval; }

  // read() + every broken rule; from() throws the first as ParamError.
  static Params read(const ParamMap& p);
  static Params from(const ParamMap& p);
  std::vector<std::string> collect_errors() const;
};

std::vector<ParamSpec> param_specs();

}  // namespace icl::raventos
