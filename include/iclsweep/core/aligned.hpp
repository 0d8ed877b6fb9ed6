#pragma once
// Heap buffers that Eigen kernels read are allocated on EIGEN_MAX_ALIGN_BYTES boundaries, and named
// views inside them start on such boundaries too (model/ParamStore pads offsets). Otherwise a
// vectorised reduction peels a different number of scalar elements depending on where malloc put the
// buffer, and the same grid point gives different bits in different processes or threads.
#include <Eigen/Core>
#include <cstddef>
#include <vector>

namespace icl {

template <class S>
using AlignedVector = std::vector<S, Eigen::aligned_allocator<S>>;

// Elements per alignment boundary.
template <class S>
inline constexpr std::size_t kAlignElements = EIGEN_MAX_ALIGN_BYTES >= sizeof(S) ? EIGEN_MAX_ALIGN_BYTES / sizeof(S) : 1;

}  // namespace icl
