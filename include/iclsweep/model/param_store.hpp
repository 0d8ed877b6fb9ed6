#pragma once
// Flat parameter buffers: every trainable tensor of a model lives in one contiguous vector (values),
// with gradients in a second vector of the same layout, so the optimizer, checkpoints, MPI transfers
// and the gradient checker each see "one array". Named tensors are views (Eigen::Map) into it.
//
//   ParamStore<float> store;
//   int w = store.add("block0/mlp/w1", E, 4 * E, Init::LecunNormal);  // before finalize()
//   store.finalize(); store.initialize(seed);
//   MatMap<float> W = store.value(w); MatMap<float> dW = store.grad(w);
#include <cstdint>
#include <string>
#include <vector>

#include "iclsweep/model/tensor.hpp"

namespace icl {

enum class Init {
  LecunNormal,  // truncated normal on [-2, 2] scaled by sqrt(1/fan_in)/0.87962566103423978 (flax lecun_normal)
  Zeros,
  Ones,
};

struct TensorInfo {
  std::string name;
  int rows = 0, cols = 0;   // row-major; Dense kernels are (in, out)
  std::size_t offset = 0;   // into values / grads
  Init init = Init::Zeros;
  int fan_in = 0;           // LecunNormal only; defaults to rows
  std::size_t size() const { return static_cast<std::size_t>(rows) * cols; }
};

template <class S>
class ParamStore {
 public:
  // Declares a tensor; returns its index (also the sub-id of its ModelInit stream). Only before finalize().
  int add(const std::string& name, int rows, int cols, Init init, int fan_in = 0);
  // Allocates values and grads (zeros).
  void finalize();
  // Fills every tensor per its Init from Philox(stream_key(seed, Purpose::ModelInit, tensor index), 0).
  void initialize(std::uint64_t seed);

  MatMap<S> value(int i) { return MatMap<S>(values.data() + tensors[i].offset, tensors[i].rows, tensors[i].cols); }
  MatMap<S> grad(int i) { return MatMap<S>(grads.data() + tensors[i].offset, tensors[i].rows, tensors[i].cols); }
  CMatMap<S> value(int i) const { return CMatMap<S>(values.data() + tensors[i].offset, tensors[i].rows, tensors[i].cols); }
  // A 1 x n tensor (bias, LN scale) as a row vector.
  VecMap<S> vec(int i) { return VecMap<S>(values.data() + tensors[i].offset, tensors[i].size()); }
  VecMap<S> dvec(int i) { return VecMap<S>(grads.data() + tensors[i].offset, tensors[i].size()); }
  int find(const std::string& name) const;  // -1 when absent

  std::size_t size() const { return total_; }
  void zero_grad();

  std::vector<TensorInfo> tensors;
  AlignedVector<S> values;  // tensors start on alignment boundaries; the gaps stay 0
  AlignedVector<S> grads;

 private:
  std::size_t total_ = 0;
  bool finalized_ = false;
};

// Adam (Kingma & Ba) as optax.adam: bias-corrected moments, eps added outside the sqrt.
template <class S>
class Adam {
 public:
  Adam(double learning_rate, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
      : lr_(learning_rate), b1_(beta1), b2_(beta2), eps_(eps) {}
  void reset(std::size_t n);
  // values -= lr * mhat / (sqrt(vhat) + eps), elementwise over the flat buffers.
  void step(AlignedVector<S>& values, const AlignedVector<S>& grads);
  void set_learning_rate(double lr) { lr_ = lr; }
  std::int64_t steps() const { return t_; }
  AlignedVector<S> m, v;  // first and second moments, same layout as the parameters

 private:
  double lr_, b1_, b2_, eps_;
  std::int64_t t_ = 0;
};

}  // namespace icl
