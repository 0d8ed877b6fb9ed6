#pragma once
// Helpers shared by the tests/unit/test_model_*.cpp suites.
#include <cstdint>
#include <vector>

#include "iclsweep/core/batch.hpp"
#include "iclsweep/core/rng.hpp"
#include "iclsweep/model/tensor.hpp"

namespace icl::test {

// A matrix of N(0, 1) entries from Philox stream (seed, Sampling, tag).
inline RowMat<double> random_matrix(int rows, int cols, std::uint64_t tag, double scale = 1.0) {
  Philox rng(stream_key(12345, Purpose::Sampling, tag), 0);
  RowMat<double> m(rows, cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) m(i, j) = scale * rng.normal();
  return m;
}

// A batch of random inputs and labels (label noise-free, no structure): for gradient checks and speed.
inline Batch random_batch(int B, int L, int D, int C, std::uint64_t tag) {
  Batch batch;
  batch.resize(B, L, D, C);
  Philox rng(stream_key(777, Purpose::Sampling, tag), 0);
  for (auto& x : batch.inputs) x = static_cast<float>(rng.normal());
  for (std::size_t i = 0; i < batch.labels.size(); ++i) {
    batch.labels[i] = static_cast<std::int32_t>(rng.below(C));
    batch.classes[i] = batch.labels[i];
  }
  for (int b = 0; b < B; ++b) batch.label_dist[static_cast<std::size_t>(b) * C + batch.target(b)] = 1.0f;
  return batch;
}

}  // namespace icl::test
