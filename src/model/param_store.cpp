#include "iclsweep/model/param_store.hpp"

#include <algorithm>
#include <cmath>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/rng.hpp"
#include <Eigen/Core>

namespace icl {

template <class S>
int ParamStore<S>::add(const std::string& name, int rows, int cols, Init init, int fan_in) {
  if (finalized_) throw Error("internal: ParamStore::add('" + name + "') after finalize()");
  if (find(name) >= 0) throw Error("internal: parameter tensor '" + name + "' declared twice");
  TensorInfo t;
  t.name = name;
  t.rows = rows;
  t.cols = cols;
  const std::size_t align = kAlignElements<S>;
  t.offset = (total_ + align - 1) / align * align;
  t.init = init;
  t.fan_in = fan_in > 0 ? fan_in : rows;
  total_ = t.offset + t.size();
  tensors.push_back(t);
  return static_cast<int>(tensors.size()) - 1;
}

template <class S>
void ParamStore<S>::finalize() {
  values.assign(total_, S(0));
  grads.assign(total_, S(0));
  finalized_ = true;
}

template <class S>
int ParamStore<S>::find(const std::string& name) const {
  for (std::size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].name == name) return static_cast<int>(i);
  return -1;
}

template <class S>
void ParamStore<S>::zero_grad() {
  std::fill(grads.begin(), grads.end(), S(0));
}

template <class S>
void ParamStore<S>::initialize(std::uint64_t seed) {
  if (!finalized_) throw Error("internal: ParamStore::initialize() before finalize()");
  std::fill(values.begin(), values.end(), S(0));
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    S* p = values.data() + t.offset;
    switch (t.init) {
      case Init::Zeros: break;
      case Init::Ones: std::fill(p, p + t.size(), S(1)); break;
      case Init::LecunNormal: {
        // Computed in double and rounded once, so float and double models start from the same point.
        const double scale = std::sqrt(1.0 / t.fan_in) / 0.87962566103423978;
        Philox rng(stream_key(seed, Purpose::ModelInit, i), 0);
        for (std::size_t k = 0; k < t.size(); ++k) {
          double z;
          do z = rng.normal();
          while (z < -2.0 || z > 2.0);
          p[k] = static_cast<S>(z * scale);
        }
        break;
      }
    }
  }
}

template <class S>
void Adam<S>::reset(std::size_t n) {
  m.assign(n, S(0));
  v.assign(n, S(0));
  t_ = 0;
}

template <class S>
void Adam<S>::step(AlignedVector<S>& values, const AlignedVector<S>& grads) {
  if (m.size() != values.size()) reset(values.size());
  ++t_;
  const S b1 = static_cast<S>(b1_), b2 = static_cast<S>(b2_);
  const S c1 = static_cast<S>(1.0 / (1.0 - std::pow(b1_, static_cast<double>(t_))));
  const S c2 = static_cast<S>(1.0 / (1.0 - std::pow(b2_, static_cast<double>(t_))));
  const S lr = static_cast<S>(lr_), eps = static_cast<S>(eps_);
  // Eigen array expressions, not a scalar loop: GCC will not vectorise std::sqrt without -fno-math-errno.
  using A = Eigen::Array<S, Eigen::Dynamic, 1>;
  const Eigen::Index n = static_cast<Eigen::Index>(values.size());
  Eigen::Map<A> p(values.data(), n), mm(m.data(), n), vv(v.data(), n);
  const Eigen::Map<const A> g(grads.data(), n);
  mm = b1 * mm + (S(1) - b1) * g;
  vv = b2 * vv + (S(1) - b2) * g.square();
  p -= (lr * c1) * mm / ((vv * c2).sqrt() + eps);
}

template class ParamStore<float>;
template class ParamStore<double>;
template class Adam<float>;
template class Adam<double>;

}  // namespace icl
