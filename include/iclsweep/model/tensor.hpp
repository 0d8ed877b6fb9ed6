#pragma once
// Eigen aliases shared by the model room. Activations are row-major (rows = tokens), so a whole
// batch of tokens is one (rows x E) matrix and each Dense is one GEMM over it.
#include <Eigen/Core>
#include "iclsweep/core/aligned.hpp"

namespace icl {

template <class S>
using RowMat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class S>
using RowVec = Eigen::Matrix<S, 1, Eigen::Dynamic>;
template <class S>
using ColVec = Eigen::Matrix<S, Eigen::Dynamic, 1>;
template <class S>
using MatMap = Eigen::Map<RowMat<S>>;
template <class S>
using CMatMap = Eigen::Map<const RowMat<S>>;
template <class S>
using VecMap = Eigen::Map<RowVec<S>>;
template <class S>
using CVecMap = Eigen::Map<const RowVec<S>>;
// A view that accepts whole matrices, maps and column blocks of row-major matrices without copying.
template <class S>
using MatRef = Eigen::Ref<RowMat<S>, 0, Eigen::OuterStride<>>;
template <class S>
using CMatRef = Eigen::Ref<const RowMat<S>, 0, Eigen::OuterStride<>>;

}  // namespace icl
