#include "iclsweep/model/stem_kernel.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>

namespace icl::layers {

namespace {

constexpr int kChannels = 64, kK = 7, kStride = 2, kPixelsPerTile = 6;

// 64 bytes of S: 16 floats or 8 doubles; 64 channels are kVecs of them.
template <class S>
struct Simd {
  typedef S V __attribute__((vector_size(64)));
  using Index = std::conditional_t<sizeof(S) == 4, std::int32_t, std::int64_t>;  // the mask type of V's comparisons
  typedef Index IV __attribute__((vector_size(64)));
  static constexpr int kLanes = 64 / sizeof(S);
  static constexpr int kVecs = kChannels / kLanes;
  static V load(const S* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static void store(S* p, const V& v) { std::memcpy(p, &v, sizeof v); }
};

// conv of P adjacent output pixels (oy, ox0 .. ox0+P−1), all 64 channels, accumulators in registers.
template <class S, int P>
inline void conv_tile(const StemGeom& g, const S* padded, const typename Simd<S>::V* Wv, int oy, int ox0, S* conv) {
  using T = Simd<S>;
  using V = typename T::V;
  constexpr int NV = T::kVecs;
  V acc[P][NV];
  for (int p = 0; p < P; ++p)
    for (int j = 0; j < NV; ++j) acc[p][j] = V{};
  for (int ky = 0; ky < kK; ++ky) {
    const S* row = padded + static_cast<std::ptrdiff_t>(kStride * oy + ky) * g.padded_w + kStride * ox0;
    for (int kx = 0; kx < kK; ++kx) {
      const V* w = Wv + (ky * kK + kx) * NV;
      for (int p = 0; p < P; ++p) {
        const S x = row[kStride * p + kx];
        for (int j = 0; j < NV; ++j) acc[p][j] += x * w[j];
      }
    }
  }
  S* out = conv + (static_cast<std::ptrdiff_t>(oy) * g.conv.wo + ox0) * kChannels;
  for (int p = 0; p < P; ++p)
    for (int j = 0; j < NV; ++j) T::store(out + p * kChannels + j * T::kLanes, acc[p][j]);
}

// dW rows ky0 .. ky0+R−1 (all kx), channel vector q: Σ over every output pixel of x(tap) · d_conv.
template <class S, int R>
inline void weight_pass(const StemGeom& g, const S* padded, const S* d_conv, int ky0, int q, S* dW) {
  using T = Simd<S>;
  using V = typename T::V;
  V acc[R][kK];
  for (int r = 0; r < R; ++r)
    for (int kx = 0; kx < kK; ++kx) acc[r][kx] = V{};
  for (int oy = 0; oy < g.conv.ho; ++oy) {
    const S* rows = padded + static_cast<std::ptrdiff_t>(kStride * oy + ky0) * g.padded_w;
    const S* d = d_conv + static_cast<std::ptrdiff_t>(oy) * g.conv.wo * kChannels + q * T::kLanes;
    for (int ox = 0; ox < g.conv.wo; ++ox) {
      const V gq = T::load(d + ox * kChannels);
      const S* x = rows + kStride * ox;
      for (int r = 0; r < R; ++r)
        for (int kx = 0; kx < kK; ++kx) acc[r][kx] += x[r * g.padded_w + kx] * gq;
    }
  }
  for (int r = 0; r < R; ++r)
    for (int kx = 0; kx < kK; ++kx) {
      S* dst = dW + ((ky0 + r) * kK + kx) * kChannels + q * T::kLanes;
      T::store(dst, T::load(dst) + acc[r][kx]);
    }
}

}  // namespace

StemGeom stem_geom(int h, int w) {
  StemGeom g;
  g.conv = same_geom(1, h, w, 1, kChannels, kK, kStride);
  g.pool = same_geom(1, g.conv.ho, g.conv.wo, kChannels, kChannels, 3, 2);
  g.padded_h = (g.conv.ho - 1) * kStride + kK;  // = h + total pad (the 7×7 window always needs some)
  g.padded_w = (g.conv.wo - 1) * kStride + kK;
  return g;
}

template <class S>
void stem_pad_image(const StemGeom& g, const S* image, S* padded) {
  std::fill(padded, padded + g.padded_size(), S(0));
  const int h = g.conv.h, w = g.conv.w;
  for (int y = 0; y < h; ++y)
    std::copy(image + static_cast<std::ptrdiff_t>(y) * w, image + static_cast<std::ptrdiff_t>(y + 1) * w,
              padded + static_cast<std::ptrdiff_t>(y + g.conv.pad_h) * g.padded_w + g.conv.pad_w);
}

template <class S>
void stem_forward(const StemGeom& g, const S* padded, const S* W, S* conv, S* y, std::int32_t* argmax) {
  using T = Simd<S>;
  using V = typename T::V;
  using IV = typename T::IV;
  constexpr int NV = T::kVecs, LN = T::kLanes;
  alignas(64) V Wv[kK * kK * NV];
  for (int t = 0; t < kK * kK; ++t)
    for (int j = 0; j < NV; ++j) Wv[t * NV + j] = T::load(W + t * kChannels + j * LN);

  // ---- conv (ho·wo, 64) ----
  const int wo = g.conv.wo;
  for (int oy = 0; oy < g.conv.ho; ++oy) {
    int ox = 0;
    for (; ox + kPixelsPerTile <= wo; ox += kPixelsPerTile) conv_tile<S, kPixelsPerTile>(g, padded, Wv, oy, ox, conv);
    for (; ox < wo; ++ox) conv_tile<S, 1>(g, padded, Wv, oy, ox, conv);
  }

  // ---- ReLU(max-pool 3×3/2, −∞ padding): the window's max and the index of its first maximum ----
  IV lane{};
  for (int i = 0; i < LN; ++i) lane[i] = i;
  const auto& p = g.pool;
  for (int py = 0; py < p.ho; ++py)
    for (int px = 0; px < p.wo; ++px) {
      V m[NV];
      IV at[NV];
      for (int j = 0; j < NV; ++j) {
        m[j] = V{} - std::numeric_limits<S>::infinity();
        at[j] = IV{};
      }
      for (int ky = 0; ky < p.k; ++ky) {
        const int iy = py * p.stride - p.pad_h + ky;
        if (iy < 0 || iy >= p.h) continue;
        for (int kx = 0; kx < p.k; ++kx) {
          const int ix = px * p.stride - p.pad_w + kx;
          if (ix < 0 || ix >= p.w) continue;
          const int base = (iy * p.w + ix) * kChannels;
          for (int j = 0; j < NV; ++j) {
            const V v = T::load(conv + base + j * LN);
            const IV pos = lane + static_cast<typename T::Index>(base + j * LN);
            const auto larger = v > m[j];
            m[j] = larger ? v : m[j];
            at[j] = larger ? pos : at[j];
          }
        }
      }
      const std::ptrdiff_t o = (static_cast<std::ptrdiff_t>(py) * p.wo + px) * kChannels;
      for (int j = 0; j < NV; ++j) {
        const V zero{};
        T::store(y + o + j * LN, m[j] > zero ? m[j] : zero);
        for (int i = 0; i < LN; ++i) argmax[o + j * LN + i] = static_cast<std::int32_t>(at[j][i]);
      }
    }
}

template <class S>
void stem_backward_weights(const StemGeom& g, const S* padded, const S* y, const std::int32_t* argmax, const S* dy, S* d_conv, S* dW) {
  using T = Simd<S>;
  using V = typename T::V;
  using IV = typename T::IV;
  constexpr int NV = T::kVecs, LN = T::kLanes;
  typedef std::int32_t I32 __attribute__((vector_size(LN * 4)));
  // d conv, gathered rather than scattered: each conv pixel collects the pooled gradient of every window
  // (1, 2 or 4 of them) whose maximum it is, and of those only where the ReLU passed (y > 0). Vectorised
  // over the channels, and it writes every entry, so no clearing is needed.
  IV lane{};
  for (int i = 0; i < LN; ++i) lane[i] = i;
  const auto& p = g.pool;
  const V zero{};
  for (int cy = 0; cy < p.h; ++cy) {
    const int py_lo = std::max(0, (cy + p.pad_h - p.k + p.stride) / p.stride), py_hi = std::min(p.ho - 1, (cy + p.pad_h) / p.stride);
    for (int cx = 0; cx < p.w; ++cx) {
      const int px_lo = std::max(0, (cx + p.pad_w - p.k + p.stride) / p.stride), px_hi = std::min(p.wo - 1, (cx + p.pad_w) / p.stride);
      const int base = (cy * p.w + cx) * kChannels;
      V acc[NV];
      for (int j = 0; j < NV; ++j) acc[j] = zero;
      for (int py = py_lo; py <= py_hi; ++py)
        for (int px = px_lo; px <= px_hi; ++px) {
          const std::ptrdiff_t o = (static_cast<std::ptrdiff_t>(py) * p.wo + px) * kChannels;
          for (int j = 0; j < NV; ++j) {
            I32 at32;
            std::memcpy(&at32, argmax + o + j * LN, sizeof at32);
            const IV at = __builtin_convertvector(at32, IV);
            const IV pos = lane + static_cast<typename T::Index>(base + j * LN);
            const V yv = T::load(y + o + j * LN), gv = T::load(dy + o + j * LN);
            acc[j] += (at == pos) & (yv > zero) ? gv : zero;
          }
        }
      for (int j = 0; j < NV; ++j) T::store(d_conv + base + j * LN, acc[j]);
    }
  }
  for (int q = 0; q < NV; ++q) {
    for (int ky0 = 0; ky0 + 2 <= kK; ky0 += 2) weight_pass<S, 2>(g, padded, d_conv, ky0, q, dW);
    weight_pass<S, kK % 2>(g, padded, d_conv, kK - 1, q, dW);
  }
}

template void stem_pad_image<float>(const StemGeom&, const float*, float*);
template void stem_pad_image<double>(const StemGeom&, const double*, double*);
template void stem_forward<float>(const StemGeom&, const float*, const float*, float*, float*, std::int32_t*);
template void stem_forward<double>(const StemGeom&, const double*, const double*, double*, double*, std::int32_t*);
template void stem_backward_weights<float>(const StemGeom&, const float*, const float*, const std::int32_t*, const float*, float*, float*);
template void stem_backward_weights<double>(const StemGeom&, const double*, const double*, const std::int32_t*, const double*, double*,
                                            double*);

}  // namespace icl::layers
