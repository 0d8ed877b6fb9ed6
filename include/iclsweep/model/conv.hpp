#pragma once
// Image layers of the ResNet-v1 tokenizer (PAPER-SPEC §5.3) as forward/backward pairs, templated on the
// scalar (float for training, double for the gradient checks), over CHANNELS-LAST activations: a batch of
// n images of H×W pixels and C channels is one row-major (n·H·W, C) buffer, so a 1×1 convolution is one
// GEMM over the whole batch and a k×k convolution is an im2col gather plus one GEMM. Kernels are stored
// HWIO-flattened as a (k·k·Cin, Cout) row-major matrix (row (ky·k + kx)·Cin + ci), flax's layout.
//
// Padding is TensorFlow "SAME": out = ceil(in / stride), total pad = max((out−1)·stride + k − in, 0),
// low side gets total/2, the extra pixel goes to the high side. Convolutions pad with 0, max-pool with −∞.
//
// Backward functions ACCUMULATE parameter gradients (+=); input gradients are overwritten or accumulated
// as each name says. conv2d_naive_* are the literal loops, kept as the reference the fast path is tested
// against (tests/unit/test_model_conv.cpp).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "iclsweep/model/tensor.hpp"

namespace icl::layers {

// Geometry of one SAME convolution or pooling window over a batch.
struct ConvGeom {
  int n = 0, h = 0, w = 0, cin = 0, cout = 0, k = 1, stride = 1;
  int ho = 0, wo = 0, pad_h = 0, pad_w = 0;  // output size; LOW-side padding (the high side gets the rest)
  std::ptrdiff_t in_pixels() const { return static_cast<std::ptrdiff_t>(n) * h * w; }
  std::ptrdiff_t out_pixels() const { return static_cast<std::ptrdiff_t>(n) * ho * wo; }
  int patch() const { return k * k * cin; }  // im2col row length = kernel rows
  bool is_pointwise() const { return k == 1 && stride == 1; }
};

inline int same_out(int in, int stride) { return (in + stride - 1) / stride; }
inline int same_pad_low(int in, int k, int stride) {
  const int total = std::max((same_out(in, stride) - 1) * stride + k - in, 0);
  return total / 2;
}
inline ConvGeom same_geom(int n, int h, int w, int cin, int cout, int k, int stride) {
  ConvGeom g;
  g.n = n, g.h = h, g.w = w, g.cin = cin, g.cout = cout, g.k = k, g.stride = stride;
  g.ho = same_out(h, stride), g.wo = same_out(w, stride);
  g.pad_h = same_pad_low(h, k, stride), g.pad_w = same_pad_low(w, k, stride);
  return g;
}

// ---- im2col / col2im --------------------------------------------------------------------------------
// x (n·h·w, cin) -> col (n·ho·wo, k·k·cin); out-of-image taps are 0. Images [first, first+count) only,
// written from row 0 of col (so a chunk of images can reuse one small buffer).
template <class S>
void im2col(const ConvGeom& g, const S* x, S* col, int first = 0, int count = -1) {
  if (count < 0) count = g.n;
  const int k = g.k, cin = g.cin, P = g.patch();
  for (int i = 0; i < count; ++i) {
    const S* img = x + static_cast<std::ptrdiff_t>(first + i) * g.h * g.w * cin;
    for (int oy = 0; oy < g.ho; ++oy)
      for (int ox = 0; ox < g.wo; ++ox) {
        S* row = col + ((static_cast<std::ptrdiff_t>(i) * g.ho + oy) * g.wo + ox) * P;
        for (int ky = 0; ky < k; ++ky) {
          const int iy = oy * g.stride - g.pad_h + ky;
          S* dst = row + ky * k * cin;
          if (iy < 0 || iy >= g.h) {
            std::fill(dst, dst + k * cin, S(0));
            continue;
          }
          const int ix0 = ox * g.stride - g.pad_w;
          const int lo = std::max(0, -ix0), hi = std::min(k, g.w - ix0);  // taps [lo, hi) fall inside
          if (lo > 0) std::fill(dst, dst + lo * cin, S(0));
          if (hi > lo) std::memcpy(dst + lo * cin, img + (static_cast<std::ptrdiff_t>(iy) * g.w + ix0 + lo) * cin, sizeof(S) * (hi - lo) * cin);
          if (hi < k) std::fill(dst + std::max(hi, lo) * cin, dst + k * cin, S(0));
        }
      }
  }
}

// dcol (n·ho·wo, k·k·cin) -> dx (n·h·w, cin) += the taps' sum (padding taps are dropped).
template <class S>
void col2im_add(const ConvGeom& g, const S* dcol, S* dx) {
  const int k = g.k, cin = g.cin, P = g.patch();
  for (int i = 0; i < g.n; ++i) {
    S* img = dx + static_cast<std::ptrdiff_t>(i) * g.h * g.w * cin;
    for (int oy = 0; oy < g.ho; ++oy)
      for (int ox = 0; ox < g.wo; ++ox) {
        const S* row = dcol + ((static_cast<std::ptrdiff_t>(i) * g.ho + oy) * g.wo + ox) * P;
        for (int ky = 0; ky < k; ++ky) {
          const int iy = oy * g.stride - g.pad_h + ky;
          if (iy < 0 || iy >= g.h) continue;
          for (int kx = 0; kx < k; ++kx) {
            const int ix = ox * g.stride - g.pad_w + kx;
            if (ix < 0 || ix >= g.w) continue;
            S* d = img + (static_cast<std::ptrdiff_t>(iy) * g.w + ix) * cin;
            const S* s = row + (ky * k + kx) * cin;
            for (int c = 0; c < cin; ++c) d[c] += s[c];
          }
        }
      }
  }
}

// ---- Small-width matrix product over many rows -----------------------------------------------------------
// Y (M, N) = or += X (M, K) · W (K, N), all row-major and contiguous. The tokenizer's GEMMs have M in the
// tens of thousands but N and K between 3 and 144; a general GEMM spends more time packing X than
// multiplying. Here 4 rows × N outputs stay in registers (N a compile-time width; the widths the ResNet
// uses are instantiated) and X is read once, in place. Narrow or odd widths (3, 12, 27, …) vectorise
// badly in this form and go to Eigen's GEMM instead.
template <class S, int N, int R>
inline void matmul_rows_fixed(std::ptrdiff_t M, int K, const S* X, const S* W, S* Y, bool accumulate) {
  std::ptrdiff_t i = 0;
  for (; i + R <= M; i += R) {
    S acc[R][N];
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < N; ++c) acc[r][c] = accumulate ? Y[(i + r) * N + c] : S(0);
    const S* x = X + i * K;
    for (int k = 0; k < K; ++k) {
      const S* w = W + static_cast<std::ptrdiff_t>(k) * N;
      for (int r = 0; r < R; ++r) {
        const S xv = x[r * K + k];
        for (int c = 0; c < N; ++c) acc[r][c] += xv * w[c];
      }
    }
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < N; ++c) Y[(i + r) * N + c] = acc[r][c];
  }
  for (; i < M; ++i) {
    S acc[N];
    S* y = Y + i * N;
    for (int c = 0; c < N; ++c) acc[c] = accumulate ? y[c] : S(0);
    const S* x = X + i * K;
    for (int k = 0; k < K; ++k)
      for (int c = 0; c < N; ++c) acc[c] += x[k] * W[static_cast<std::ptrdiff_t>(k) * N + c];
    for (int c = 0; c < N; ++c) y[c] = acc[c];
  }
}
// Widths where the register-tile kernel beats a packed GEMM (measured); false: use Eigen.
inline bool matmul_rows_fast(int N) { return N == 16 || N == 32 || N == 64; }
template <class S>
inline void matmul_rows(std::ptrdiff_t M, int K, int N, const S* X, const S* W, S* Y, bool accumulate) {
  switch (N) {
    case 16: return matmul_rows_fixed<S, 16, 4>(M, K, X, W, Y, accumulate);
    case 32: return matmul_rows_fixed<S, 32, 4>(M, K, X, W, Y, accumulate);
    case 64: return matmul_rows_fixed<S, 64, 2>(M, K, X, W, Y, accumulate);
    default: break;
  }
  MatMap<S> Ym(Y, M, N);
  const CMatMap<S> Xm(X, M, K), Wm(W, K, N);
  if (accumulate) Ym.noalias() += Xm * Wm;
  else Ym.noalias() = Xm * Wm;
}
// W (rows, cols) -> Wt (cols, rows).
template <class S>
inline void transpose_small(int rows, int cols, const S* W, S* Wt) {
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) Wt[static_cast<std::ptrdiff_t>(c) * rows + r] = W[static_cast<std::ptrdiff_t>(r) * cols + c];
}
constexpr int kMaxKernelEntries = 144 * 64;  // the largest (k·k·Cin)·Cout of the tokenizer outside the stem is 144·16

// ---- Convolution (no bias), fast path: im2col + one GEMM over the batch --------------------------------
// x (n·h·w, cin) · W (k·k·cin, cout) -> y (n·ho·wo, cout). col: scratch of out_pixels()·patch() (unused
// when pointwise).
template <class S>
void conv2d_forward(const ConvGeom& g, const S* x, const S* W, S* y, S* col) {
  if (!g.is_pointwise()) {
    im2col(g, x, col);
    x = col;
  }
  matmul_rows(g.out_pixels(), g.patch(), g.cout, x, W, y, false);
}

// dW (k·k·cin, cout) += colᵀ · dy;  if dx: dx (n·h·w, cin) += col2im(dy · Wᵀ).
// col, dcol: scratch of out_pixels()·patch() each (unused when pointwise).
template <class S>
void conv2d_backward(const ConvGeom& g, const S* x, const S* W, const S* dy, S* dW, S* dx, S* col, S* dcol) {
  const CMatMap<S> dY(dy, g.out_pixels(), g.cout);
  MatMap<S> dWm(dW, g.patch(), g.cout);
  S Wt[kMaxKernelEntries];  // Wᵀ for the register-tile kernel, when the input-gradient width suits it
  const bool small = dx && matmul_rows_fast(g.patch()) && static_cast<std::ptrdiff_t>(g.patch()) * g.cout <= kMaxKernelEntries;
  if (small) transpose_small(g.patch(), g.cout, W, Wt);
  if (g.is_pointwise()) {
    const CMatMap<S> X(x, g.in_pixels(), g.cin);
    dWm.noalias() += X.transpose() * dY;
    if (small) matmul_rows(g.out_pixels(), g.cout, g.cin, dy, Wt, dx, true);
    else if (dx) MatMap<S>(dx, g.in_pixels(), g.cin).noalias() += dY * CMatMap<S>(W, g.cin, g.cout).transpose();
    return;
  }
  im2col(g, x, col);
  dWm.noalias() += CMatMap<S>(col, g.out_pixels(), g.patch()).transpose() * dY;
  if (dx) {
    if (small) matmul_rows(g.out_pixels(), g.cout, g.patch(), dy, Wt, dcol, false);
    else MatMap<S>(dcol, g.out_pixels(), g.patch()).noalias() = dY * CMatMap<S>(W, g.patch(), g.cout).transpose();
    col2im_add(g, dcol, dx);
  }
}

// ---- Convolution, naive reference (the literal sum; zero padding) ----------------------------------------
// y[i, oy, ox, co] = Σ_{ky, kx, ci} x[i, oy·s − pad_h + ky, ox·s − pad_w + kx, ci] · W[(ky·k + kx)·cin + ci, co]
template <class S>
void conv2d_naive_forward(const ConvGeom& g, const S* x, const S* W, S* y) {
  for (int i = 0; i < g.n; ++i)
    for (int oy = 0; oy < g.ho; ++oy)
      for (int ox = 0; ox < g.wo; ++ox)
        for (int co = 0; co < g.cout; ++co) {
          S acc = 0;
          for (int ky = 0; ky < g.k; ++ky)
            for (int kx = 0; kx < g.k; ++kx) {
              const int iy = oy * g.stride - g.pad_h + ky, ix = ox * g.stride - g.pad_w + kx;
              if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
              for (int ci = 0; ci < g.cin; ++ci)
                acc += x[((static_cast<std::ptrdiff_t>(i) * g.h + iy) * g.w + ix) * g.cin + ci] *
                       W[static_cast<std::ptrdiff_t>((ky * g.k + kx) * g.cin + ci) * g.cout + co];
            }
          y[((static_cast<std::ptrdiff_t>(i) * g.ho + oy) * g.wo + ox) * g.cout + co] = acc;
        }
}
// dW += Σ x·dy over taps; if dx: dx += Σ W·dy over taps.
template <class S>
void conv2d_naive_backward(const ConvGeom& g, const S* x, const S* W, const S* dy, S* dW, S* dx) {
  for (int i = 0; i < g.n; ++i)
    for (int oy = 0; oy < g.ho; ++oy)
      for (int ox = 0; ox < g.wo; ++ox)
        for (int co = 0; co < g.cout; ++co) {
          const S d = dy[((static_cast<std::ptrdiff_t>(i) * g.ho + oy) * g.wo + ox) * g.cout + co];
          for (int ky = 0; ky < g.k; ++ky)
            for (int kx = 0; kx < g.k; ++kx) {
              const int iy = oy * g.stride - g.pad_h + ky, ix = ox * g.stride - g.pad_w + kx;
              if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
              for (int ci = 0; ci < g.cin; ++ci) {
                const std::ptrdiff_t xi = ((static_cast<std::ptrdiff_t>(i) * g.h + iy) * g.w + ix) * g.cin + ci;
                const std::ptrdiff_t wi = static_cast<std::ptrdiff_t>((ky * g.k + kx) * g.cin + ci) * g.cout + co;
                dW[wi] += x[xi] * d;
                if (dx) dx[xi] += W[wi] * d;
              }
            }
        }
}

// ---- ReLU ------------------------------------------------------------------------------------------------
// x (count) -> max(x, 0) in place.
template <class S>
void relu_forward(S* x, std::ptrdiff_t count) {
  for (std::ptrdiff_t i = 0; i < count; ++i) x[i] = std::max(x[i], S(0));
}
// y = relu output (count): dy (count) *= [y > 0] in place.
template <class S>
void relu_backward(const S* y, S* dy, std::ptrdiff_t count) {
  for (std::ptrdiff_t i = 0; i < count; ++i) dy[i] = y[i] > S(0) ? dy[i] : S(0);
}

// ---- Max-pool k×k, stride s, SAME with −∞ padding ------------------------------------------------------
// x (n·h·w, c) -> y (n·ho·wo, c); argmax (n·ho·wo·c): the flat index into x of each window's first maximum
// (a window always holds a real pixel, so −∞ never wins).
template <class S>
void maxpool_forward(const ConvGeom& g, const S* x, S* y, std::int32_t* argmax) {
  const int c = g.cin;
  for (int i = 0; i < g.n; ++i)
    for (int oy = 0; oy < g.ho; ++oy)
      for (int ox = 0; ox < g.wo; ++ox) {
        const std::ptrdiff_t o = ((static_cast<std::ptrdiff_t>(i) * g.ho + oy) * g.wo + ox) * c;
        for (int ch = 0; ch < c; ++ch) {
          y[o + ch] = -std::numeric_limits<S>::infinity();
          argmax[o + ch] = -1;
        }
        for (int ky = 0; ky < g.k; ++ky) {
          const int iy = oy * g.stride - g.pad_h + ky;
          if (iy < 0 || iy >= g.h) continue;
          for (int kx = 0; kx < g.k; ++kx) {
            const int ix = ox * g.stride - g.pad_w + kx;
            if (ix < 0 || ix >= g.w) continue;
            const std::ptrdiff_t xi = ((static_cast<std::ptrdiff_t>(i) * g.h + iy) * g.w + ix) * c;
            for (int ch = 0; ch < c; ++ch)
              if (x[xi + ch] > y[o + ch]) {
                y[o + ch] = x[xi + ch];
                argmax[o + ch] = static_cast<std::int32_t>(xi + ch);
              }
          }
        }
      }
}
// dx (n·h·w, c) += dy routed to each window's argmax.
template <class S>
void maxpool_backward_add(const ConvGeom& g, const std::int32_t* argmax, const S* dy, S* dx) {
  const std::ptrdiff_t count = g.out_pixels() * g.cin;
  for (std::ptrdiff_t j = 0; j < count; ++j) dx[argmax[j]] += dy[j];
}

// ---- Mean over H×W ---------------------------------------------------------------------------------------
// x (n·hw, c) -> tokens (n, c) with row stride tok_stride.
template <class S>
void mean_pool_forward(int n, int hw, int c, const S* x, S* tokens, std::ptrdiff_t tok_stride) {
  const S inv = S(1) / S(hw);
  for (int i = 0; i < n; ++i) {
    Eigen::Map<RowVec<S>> t(tokens + i * tok_stride, c);
    t = CMatMap<S>(x + static_cast<std::ptrdiff_t>(i) * hw * c, hw, c).colwise().sum() * inv;
  }
}
// d_tokens (n, c) -> dx (n·hw, c) = d_token / hw broadcast over the pixels (overwrites).
template <class S>
void mean_pool_backward(int n, int hw, int c, const S* d_tokens, std::ptrdiff_t tok_stride, S* dx) {
  const S inv = S(1) / S(hw);
  for (int i = 0; i < n; ++i) {
    const Eigen::Map<const RowVec<S>> d(d_tokens + i * tok_stride, c);
    MatMap<S>(dx + static_cast<std::ptrdiff_t>(i) * hw * c, hw, c).rowwise() = d * inv;
  }
}

// ---- Bottleneck block (ResNet v1, no BatchNorm) -------------------------------------------------------------
// x (n·h·w, cin) -> y (n·ho·wo, F):
//   a = ReLU(conv1×1(F/4)(x))          (n·h·w, F/4)
//   c = ReLU(conv3×3(F/4, stride)(a))  (n·ho·wo, F/4)
//   y = ReLU(conv1×1(F)(c) + shortcut), shortcut = conv1×1(F, stride)(x) (projection) or x (identity:
//       needs stride 1 and cin = F)
struct BottleneckGeom {
  ConvGeom proj, c0, c1, c2;
  bool projection = false;
  int features = 0;
  std::ptrdiff_t in_size() const { return c0.in_pixels() * c0.cin; }
  std::ptrdiff_t a_size() const { return c0.out_pixels() * c0.cout; }
  std::ptrdiff_t c_size() const { return c1.out_pixels() * c1.cout; }
  std::ptrdiff_t out_size() const { return c2.out_pixels() * features; }
  // im2col scratch the block needs (col and dcol each).
  std::ptrdiff_t col_size() const {
    return std::max(c1.out_pixels() * c1.patch(), projection && !proj.is_pointwise() ? proj.out_pixels() * proj.patch() : 0);
  }
};
inline BottleneckGeom bottleneck_geom(int n, int h, int w, int cin, int features, int stride, bool projection) {
  BottleneckGeom g;
  const int fb = features / 4;
  g.projection = projection;
  g.features = features;
  g.proj = same_geom(n, h, w, cin, features, 1, stride);
  g.c0 = same_geom(n, h, w, cin, fb, 1, 1);
  g.c1 = same_geom(n, h, w, fb, fb, 3, stride);
  g.c2 = same_geom(n, g.c1.ho, g.c1.wo, fb, features, 1, 1);
  return g;
}
template <class S>
struct BottleneckParams {
  const S *proj = nullptr, *w0 = nullptr, *w1 = nullptr, *w2 = nullptr;  // kernels (proj: projection only)
  S *d_proj = nullptr, *d_w0 = nullptr, *d_w1 = nullptr, *d_w2 = nullptr; // their gradients (+=)
};
// Activations kept for backward: sc (out_size, projection only), a (a_size), c (c_size), y (out_size).
template <class S>
struct BottleneckCache {
  S *sc = nullptr, *a = nullptr, *c = nullptr, *y = nullptr;
};
// Scratch: col, dcol (col_size each), d_a (a_size), d_c (c_size).
template <class S>
struct BottleneckScratch {
  S *col = nullptr, *dcol = nullptr, *d_a = nullptr, *d_c = nullptr;
};

template <class S>
void bottleneck_forward(const BottleneckGeom& g, const BottleneckParams<S>& p, const S* x, const BottleneckCache<S>& k, S* col) {
  if (g.projection) conv2d_forward(g.proj, x, p.proj, k.sc, col);
  conv2d_forward(g.c0, x, p.w0, k.a, col);
  relu_forward(k.a, g.a_size());
  conv2d_forward(g.c1, k.a, p.w1, k.c, col);
  relu_forward(k.c, g.c_size());
  conv2d_forward(g.c2, k.c, p.w2, k.y, col);
  const S* shortcut = g.projection ? k.sc : x;
  const std::ptrdiff_t out = g.out_size();
  for (std::ptrdiff_t j = 0; j < out; ++j) k.y[j] = std::max(k.y[j] + shortcut[j], S(0));
}

// dy (out_size) is consumed (turned into the gradient at the pre-ReLU sum, in place); dx (in_size) is
// OVERWRITTEN with dLoss/dx; kernel gradients accumulate.
template <class S>
void bottleneck_backward(const BottleneckGeom& g, const BottleneckParams<S>& p, const S* x, const BottleneckCache<S>& k, S* dy, S* dx,
                         const BottleneckScratch<S>& t) {
  relu_backward(k.y, dy, g.out_size());
  if (g.projection) {
    std::fill(dx, dx + g.in_size(), S(0));
    conv2d_backward(g.proj, x, p.proj, dy, p.d_proj, dx, t.col, t.dcol);
  } else {
    std::copy(dy, dy + g.out_size(), dx);  // identity shortcut: same shape as x
  }
  std::fill(t.d_c, t.d_c + g.c_size(), S(0));
  conv2d_backward(g.c2, k.c, p.w2, dy, p.d_w2, t.d_c, t.col, t.dcol);
  relu_backward(k.c, t.d_c, g.c_size());
  std::fill(t.d_a, t.d_a + g.a_size(), S(0));
  conv2d_backward(g.c1, k.a, p.w1, t.d_c, p.d_w1, t.d_a, t.col, t.dcol);
  relu_backward(k.a, t.d_a, g.a_size());
  conv2d_backward(g.c0, x, p.w0, t.d_a, p.d_w0, dx, t.col, t.dcol);
}

}  // namespace icl::layers
