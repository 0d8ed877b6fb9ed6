#pragma once
// What the Omniglot data costs beside the model step (issue 11, `iclsweep bench --model omniglot`): the
// image store's memory and load time, a training pool's memory, and assembling one training minibatch
// (epoch-shuffled positions, drawings decoded or area-downsampled, input noise) on one thread.
#include <cstdint>
#include <memory>
#include <string>

#include "iclsweep/data/omniglot_images.hpp"

namespace icl {

struct OmniglotAssemblyTiming {
  int image_size = 0, num_contexts = 0, batch_size = 0;
  std::int64_t pool_size = 0;
  double input_noise_std = 0;
  std::size_t pool_bytes = 0;     // the training pool's class table
  std::size_t batch_bytes = 0;    // one assembled batch (inputs, labels, label distributions)
  double ms_per_batch = 0;        // wall clock, median over chunks
  double cpu_ms_per_batch = 0;    // thread CPU time, median over chunks
};

// Builds the training pool of N sequences over `images` (seed 0, the paper's defaults otherwise) and
// times assembling training batches of the stream, steps 0, 1, ...
OmniglotAssemblyTiming time_omniglot_assembly(std::shared_ptr<const OmniglotImages> images, int image_size, int num_contexts,
                                              int batch_size, std::int64_t pool_size, double input_noise_std, int chunks = 5,
                                              int batches_per_chunk = 20);

// Bytes the 1-bit image store needs for `drawings` drawings (the full dataset: 1623 x 20 = 32460).
std::size_t omniglot_image_store_bytes(std::int64_t drawings);

}  // namespace icl
