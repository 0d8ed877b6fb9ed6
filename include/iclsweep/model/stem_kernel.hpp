#pragma once
// The ResNet stem of PAPER-SPEC §5.3 as direct kernels: conv 7×7, 1 -> 64 channels, stride 2, SAME,
// with ReLU fused into the 3×3 stride-2 SAME max-pool, and the kernel gradient. 83 % of the Omniglot
// step's FLOPs are here. One image at a time, channels-last, 64 channels = a few SIMD vectors (GCC vector
// extensions: AVX-512 gives 4 registers per pixel in float; narrower ISAs split them), so there is no
// patch matrix and no GEMM packing:
//   forward:  6 output pixels × 64 channels of accumulators in registers, 49 taps broadcast from the
//             zero-padded image; then the pool keeps each window's maximum and its index.
//   backward: dW (49, 64) += Σ_pixels patch ⊗ d conv, 14 taps × 16 channels of accumulators in
//             registers per pass over the pixels.
// The generic layers (im2col + GEMM, model/conv.hpp) compute the same numbers: the tests compare both,
// and the finite-difference checks run this kernel in double.
#include <cstdint>

#include "iclsweep/model/conv.hpp"

namespace icl::layers {

struct StemGeom {
  ConvGeom conv, pool;   // conv: (h, w, 1) -> (ho, wo, 64); pool: (ho, wo, 64) -> (pool.ho, pool.wo, 64)
  int padded_h = 0, padded_w = 0;  // zero-padded image: h + total pad rows, w + total pad columns (+ slack)
  std::ptrdiff_t padded_size() const { return static_cast<std::ptrdiff_t>(padded_h) * padded_w; }
  std::ptrdiff_t conv_size() const { return static_cast<std::ptrdiff_t>(conv.ho) * conv.wo * 64; }
  std::ptrdiff_t pool_size() const { return static_cast<std::ptrdiff_t>(pool.ho) * pool.wo * 64; }
};
StemGeom stem_geom(int h, int w);

// image (h·w) -> padded (padded_h·padded_w), zeros around.
template <class S>
void stem_pad_image(const StemGeom& g, const S* image, S* padded);

// padded image -> conv (ho·wo, 64) -> y (pool pixels, 64) = ReLU(max-pool(conv)); argmax (pool pixels·64):
// index into conv of each window's first maximum. W (49, 64).
template <class S>
void stem_forward(const StemGeom& g, const S* padded, const S* W, S* conv, S* y, std::int32_t* argmax);

// dy (pool pixels, 64) -> d_conv (ho·wo, 64) (scratch, overwritten) -> dW (49, 64) +=.
template <class S>
void stem_backward_weights(const StemGeom& g, const S* padded, const S* y, const std::int32_t* argmax, const S* dy, S* d_conv, S* dW);

}  // namespace icl::layers
