#pragma once
// One minibatch as the model consumes it.
//
// Produced by data/ (the stylized distribution; later the Omniglot loader) and consumed by model/
// through its input tokenizer: identity for the synthetic task (input_dim = D = E), a trainable image
// tokenizer for Omniglot (input_dim = 105*105). Plain row-major buffers so it crosses room boundaries
// (and MPI, and HDF5) without conversion.
#include <cstdint>
#include <vector>

#include "iclsweep/core/aligned.hpp"

namespace icl {

struct Batch {
  int size = 0;          // B
  int num_contexts = 0;  // L; each sequence holds L+1 inputs, the last is the query
  int input_dim = 0;     // features per input position
  int num_classes = 0;   // C

  AlignedVector<float> inputs;        // (B, L+1, input_dim)
  std::vector<std::int32_t> labels;   // (B, L+1) observed labels: OOBD shift, then label noise. [b][L] is the target.
  std::vector<std::int32_t> classes;  // (B, L+1) clean classes after the OOBD shift, before label noise
  AlignedVector<float> label_dist;    // (B, C) evaluation target built from the clean shifted query (PAPER-SPEC §1.5)
  // (B) the query's class before the OOBD shift: the answer a model that ignores the context (in-weight) gives on a
  // flipped split. Equal to the clean query class when there is no flip. Empty in hand-built batches.
  std::vector<std::int32_t> unshifted_query;

  void resize(int B, int L, int in_dim, int C) {
    size = B;
    num_contexts = L;
    input_dim = in_dim;
    num_classes = C;
    inputs.resize(static_cast<std::size_t>(B) * (L + 1) * in_dim);
    labels.resize(static_cast<std::size_t>(B) * (L + 1));
    classes.resize(static_cast<std::size_t>(B) * (L + 1));
    label_dist.resize(static_cast<std::size_t>(B) * C);
    unshifted_query.resize(static_cast<std::size_t>(B));
  }
  int seq_len() const { return num_contexts + 1; }
  const float* input(int b, int j) const { return inputs.data() + (static_cast<std::size_t>(b) * seq_len() + j) * input_dim; }
  float* input(int b, int j) { return inputs.data() + (static_cast<std::size_t>(b) * seq_len() + j) * input_dim; }
  std::int32_t label(int b, int j) const { return labels[static_cast<std::size_t>(b) * seq_len() + j]; }
  std::int32_t cls(int b, int j) const { return classes[static_cast<std::size_t>(b) * seq_len() + j]; }
  std::int32_t target(int b) const { return label(b, num_contexts); }
  std::int32_t query_class(int b) const { return cls(b, num_contexts); }
  // Whether any context input belongs to the query's class (clean classes; the metric of PAPER-SPEC §3).
  bool context_contains_query(int b) const {
    for (int j = 0; j < num_contexts; ++j)
      if (cls(b, j) == query_class(b)) return true;
    return false;
  }
};

}  // namespace icl
