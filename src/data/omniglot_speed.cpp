#include "iclsweep/data/omniglot_speed.hpp"

#include <vector>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/timing.hpp"
#include "iclsweep/data/omniglot_pool.hpp"

namespace icl {

OmniglotAssemblyTiming time_omniglot_assembly(std::shared_ptr<const OmniglotImages> images, int image_size, int L, int B,
                                              std::int64_t N, double sigma, int chunks, int batches_per_chunk) {
  OmniglotParams op;
  op.path = images->folder();
  op.image_size = image_size;
  op.data.num_contexts = L;
  op.data.dataset_size = N;
  op.data.input_noise_std = sigma;
  op.data.input_tokenizer = "image";  // as OmniglotParams::read: no D = E rule for images
  op.data.num_dims = op.input_dim();
  const auto errors = op.dataset_errors(*images, B);
  if (!errors.empty()) throw InputError(errors.front());
  const OmniglotPool pool = OmniglotPool::training(op, images);
  OmniglotBatchStream stream(op, pool.size(), B);
  std::vector<std::int64_t> positions;
  Batch batch;
  const auto assemble = [&](int step) {
    stream.positions(step, positions);
    pool.assemble(positions, /*flip=*/false, Exemplar::First, batch);
  };
  for (int i = 0; i < 3; ++i) assemble(i);  // warm up: buffers sized, the first epoch's permutation drawn
  const ChunkTimes c = time_chunks(chunks, batches_per_chunk, assemble);

  OmniglotAssemblyTiming t;
  t.image_size = image_size;
  t.num_contexts = L;
  t.batch_size = B;
  t.pool_size = N;
  t.input_noise_std = sigma;
  t.pool_bytes = pool.memory_bytes();
  t.batch_bytes = batch.inputs.capacity() * sizeof(float) + batch.label_dist.capacity() * sizeof(float) +
                  (batch.labels.capacity() + batch.classes.capacity() + batch.unshifted_query.capacity()) * sizeof(std::int32_t);
  t.ms_per_batch = c.ms_per_step;
  t.cpu_ms_per_batch = c.cpu_ms_per_step;
  return t;
}

std::size_t omniglot_image_store_bytes(std::int64_t drawings) {
  const std::uint64_t bits = static_cast<std::uint64_t>(drawings) * OmniglotImages::kPixels;
  return static_cast<std::size_t>((bits + 63) / 64 * sizeof(std::uint64_t));
}

}  // namespace icl
