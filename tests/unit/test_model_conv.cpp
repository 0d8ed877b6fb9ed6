// The ResNet-v1 tokenizer's layers (model/conv.hpp) and the tokenizer itself (PAPER-SPEC §5.3): SAME
// geometry, the fast convolution against the naive reference, finite-difference gradient checks of every
// layer, of the whole tokenizer and of the whole Omniglot model (tokenizer + §2 transformer), in double.
#define BOOST_TEST_MODULE model_conv
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <functional>
#include <vector>

#include "iclsweep/core/error.hpp"
#include "iclsweep/model/conv.hpp"
#include "iclsweep/model/gradcheck.hpp"
#include "iclsweep/model/resnet_tokenizer.hpp"
#include "iclsweep/model/stem_kernel.hpp"
#include "iclsweep/model/transformer.hpp"
#include "model_test_util.hpp"

using namespace icl;
using namespace icl::layers;
using V = std::vector<double>;

namespace {

V randv(std::size_t n, std::uint64_t tag, double scale = 1.0) {
  const auto m = test::random_matrix(1, static_cast<int>(n), tag, scale);
  return V(m.data(), m.data() + n);
}
double dot(const V& a, const V& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}
double max_abs_diff(const V& a, const V& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

struct ConvCase {
  int n, h, w, cin, cout, k, stride;
};
const ConvCase kConvCases[] = {
    {2, 9, 9, 3, 5, 3, 2},    // pad 1/1
    {2, 8, 8, 2, 4, 3, 2},    // pad 0/1: the extra pixel on the high side
    {1, 12, 12, 1, 6, 7, 2},  // the stem at S = 12: pad 2/3
    {2, 11, 11, 1, 4, 7, 2},  // the stem at odd S: pad 3/3
    {2, 7, 5, 4, 3, 3, 1},    // non-square, stride 1
    {3, 7, 7, 4, 6, 1, 2},    // strided projection (a row gather)
    {2, 6, 6, 5, 3, 1, 1},    // pointwise: one GEMM, no im2col
    // the tokenizer's widths (the fixed-width product kernels): forward N = cout, input gradient N = k·k·cin
    {2, 9, 9, 3, 8, 3, 2},    // N 8, 27
    {2, 8, 8, 8, 12, 1, 1},   // N 12, 8
    {2, 7, 7, 12, 32, 1, 2},  // N 32, 12
    {1, 6, 6, 64, 3, 1, 1},   // N 3, 64
    {2, 5, 5, 16, 16, 3, 2},  // N 16, 144
    {3, 5, 5, 8, 64, 1, 1},   // N 64 (odd row count: the row tail), 8
    {2, 7, 7, 8, 8, 3, 1},    // N 8, 72
};

}  // namespace

BOOST_AUTO_TEST_CASE(same_padding_matches_tensorflow) {
  // out = ceil(in / s); total pad = max((out − 1)·s + k − in, 0), low side = total / 2.
  const auto stem = same_geom(1, 105, 105, 1, 64, 7, 2);
  BOOST_TEST(stem.ho == 53);
  BOOST_TEST(stem.pad_h == 3);  // total 6
  const auto pool = same_geom(1, 53, 53, 64, 64, 3, 2);
  BOOST_TEST(pool.ho == 27);
  BOOST_TEST(pool.pad_h == 1);
  const auto c14 = same_geom(1, 14, 14, 8, 8, 3, 2);  // total 1: all of it on the high side
  BOOST_TEST(c14.ho == 7);
  BOOST_TEST(c14.pad_h == 0);
  const auto s28 = same_geom(1, 28, 28, 1, 64, 7, 2);  // total 5: 2 low, 3 high
  BOOST_TEST(s28.ho == 14);
  BOOST_TEST(s28.pad_h == 2);
  ResNetV1Tokenizer<double> tok(105);
  BOOST_TEST(tok.spatial_sizes() == (std::vector<int>{105, 53, 27, 27, 14, 7, 4}), boost::test_tools::per_element());
  ResNetV1Tokenizer<double> small(28);
  BOOST_TEST(small.spatial_sizes() == (std::vector<int>{28, 14, 7, 7, 4, 2, 1}), boost::test_tools::per_element());
  // The hand count of torch_omniglot_bench.py: 10,602,430 forward and 12,395,836 backward MACs per 105² image.
  BOOST_TEST(tok.forward_macs_per_image() == 10602430.0);
  BOOST_TEST(tok.backward_macs_per_image() == 12395836.0);
}

BOOST_AUTO_TEST_CASE(fast_convolution_matches_naive_reference) {
  for (const auto& c : kConvCases) {
    const auto g = same_geom(c.n, c.h, c.w, c.cin, c.cout, c.k, c.stride);
    const V x = randv(g.in_pixels() * c.cin, 1), W = randv(static_cast<std::size_t>(g.patch()) * c.cout, 2);
    const V dy = randv(g.out_pixels() * c.cout, 3);
    V y_fast(g.out_pixels() * c.cout), y_ref(y_fast.size()), col(g.out_pixels() * g.patch()), dcol(col.size());
    conv2d_forward(g, x.data(), W.data(), y_fast.data(), col.data());
    conv2d_naive_forward(g, x.data(), W.data(), y_ref.data());
    BOOST_TEST(max_abs_diff(y_fast, y_ref) < 1e-12, "forward k" << c.k << " s" << c.stride << " h" << c.h);
    V dW_fast(W.size(), 0.5), dW_ref(W.size(), 0.5), dx_fast(x.size(), 0.25), dx_ref(x.size(), 0.25);  // both accumulate
    conv2d_backward(g, x.data(), W.data(), dy.data(), dW_fast.data(), dx_fast.data(), col.data(), dcol.data());
    conv2d_naive_backward(g, x.data(), W.data(), dy.data(), dW_ref.data(), dx_ref.data());
    BOOST_TEST(max_abs_diff(dW_fast, dW_ref) < 1e-11, "dW k" << c.k << " s" << c.stride << " h" << c.h);
    BOOST_TEST(max_abs_diff(dx_fast, dx_ref) < 1e-11, "dx k" << c.k << " s" << c.stride << " h" << c.h);
    // The reference is the literal sum: one output entry by hand.
    double by_hand = 0;
    const int oy = g.ho - 1, ox = 0, co = c.cout - 1;
    for (int ky = 0; ky < c.k; ++ky)
      for (int kx = 0; kx < c.k; ++kx) {
        const int iy = oy * c.stride - g.pad_h + ky, ix = ox * c.stride - g.pad_w + kx;
        if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
        for (int ci = 0; ci < c.cin; ++ci) by_hand += x[(iy * c.w + ix) * c.cin + ci] * W[((ky * c.k + kx) * c.cin + ci) * c.cout + co];
      }
    BOOST_TEST(std::fabs(y_ref[(oy * g.wo + ox) * c.cout + co] - by_hand) < 1e-12);
  }
}

BOOST_AUTO_TEST_CASE(float_convolution_matches_double_reference) {
  const auto g = same_geom(2, 21, 21, 1, 64, 7, 2);  // a stem-shaped GEMM in float
  const V x = randv(g.in_pixels(), 4), W = randv(static_cast<std::size_t>(g.patch()) * 64, 5, 0.15);
  V y_ref(g.out_pixels() * 64);
  conv2d_naive_forward(g, x.data(), W.data(), y_ref.data());
  std::vector<float> xf(x.begin(), x.end()), Wf(W.begin(), W.end()), yf(y_ref.size()), col(g.out_pixels() * g.patch());
  conv2d_forward(g, xf.data(), Wf.data(), yf.data(), col.data());
  double worst = 0;
  for (std::size_t i = 0; i < yf.size(); ++i) worst = std::max(worst, std::fabs(yf[i] - y_ref[i]));
  BOOST_TEST(worst < 1e-5);
}

BOOST_AUTO_TEST_CASE(convolution_gradients) {
  for (const auto& c : kConvCases) {
    const auto g = same_geom(c.n, c.h, c.w, c.cin, c.cout, c.k, c.stride);
    V x = randv(g.in_pixels() * c.cin, 11), W = randv(static_cast<std::size_t>(g.patch()) * c.cout, 12);
    V y(g.out_pixels() * c.cout), col(g.out_pixels() * g.patch()), dcol(col.size());
    auto fwd = [&] {
      conv2d_forward(g, x.data(), W.data(), y.data(), col.data());
      return y;
    };
    const V R = randv(y.size(), 13);
    V dW(W.size(), 0.0), dx(x.size(), 0.0);
    conv2d_backward(g, x.data(), W.data(), R.data(), dW.data(), dx.data(), col.data(), dcol.data());
    // Linear in W and x: a large step has no truncation error and little rounding.
    const auto r = check_gradients([&] { return dot(fwd(), R); }, {{"W", W.data(), dW.data(), W.size()}, {"x", x.data(), dx.data(), x.size()}},
                                   GradCheckOptions{1e-3, 1e-6, 0});
    BOOST_TEST(r.checked == W.size() + x.size());
    BOOST_TEST(r.max_rel_error < 1e-6, "k" << c.k << " s" << c.stride << " h" << c.h << ": " << r.worst);
  }
}

BOOST_AUTO_TEST_CASE(relu_and_maxpool_gradients) {
  for (int h : {5, 6, 9}) {  // pad 1/1, 0/1 and 1/1
    const auto g = same_geom(2, h, h, 3, 3, 3, 2);
    V x = randv(g.in_pixels() * 3, 21);
    V y(g.out_pixels() * 3);
    std::vector<std::int32_t> arg(y.size());
    auto fwd = [&] {
      V r = x;
      relu_forward(r.data(), static_cast<std::ptrdiff_t>(r.size()));
      maxpool_forward(g, r.data(), y.data(), arg.data());
      return y;
    };
    fwd();
    // −∞ padding: every output is a real pixel's value (with ReLU, ≥ 0).
    for (double v : y) BOOST_TEST(v >= 0.0);
    const V R = randv(y.size(), 22);
    V r = x;
    relu_forward(r.data(), static_cast<std::ptrdiff_t>(r.size()));
    V dx(x.size(), 0.0);
    maxpool_backward_add(g, arg.data(), R.data(), dx.data());
    relu_backward(r.data(), dx.data(), static_cast<std::ptrdiff_t>(dx.size()));
    const auto res = check_gradients([&] { return dot(fwd(), R); }, {{"x", x.data(), dx.data(), x.size()}}, GradCheckOptions{1e-6, 1e-7, 0});
    BOOST_TEST(res.max_rel_error < 1e-7, "h " << h << ": " << res.worst);
  }
  // Without ReLU, −∞ padding matters: an all-negative window at the border keeps its negative maximum.
  const auto g = same_geom(1, 4, 4, 1, 1, 3, 2);  // pad 0/1
  V x(16, -5.0);
  x[15] = -7.0;
  V y(g.out_pixels());
  std::vector<std::int32_t> arg(y.size());
  maxpool_forward(g, x.data(), y.data(), arg.data());
  BOOST_TEST(y[3] == -5.0);  // window rows 2..3 (+ one −∞ row), a zero pad would give 0
}

BOOST_AUTO_TEST_CASE(mean_pool_gradient) {
  const int n = 3, hw = 7, c = 5;
  V x = randv(static_cast<std::size_t>(n) * hw * c, 31), t(n * c);
  auto fwd = [&] {
    mean_pool_forward(n, hw, c, x.data(), t.data(), c);
    return t;
  };
  const V R = randv(t.size(), 32);
  V dx(x.size());
  mean_pool_backward(n, hw, c, R.data(), c, dx.data());
  const auto r = check_gradients([&] { return dot(fwd(), R); }, {{"x", x.data(), dx.data(), x.size()}}, GradCheckOptions{1e-6, 1e-7, 0});
  BOOST_TEST(r.max_rel_error < 1e-8, r.worst);
  BOOST_TEST(std::fabs(t[0] - [&] { double s = 0; for (int p = 0; p < hw; ++p) s += x[p * c]; return s / hw; }()) < 1e-14);
}

BOOST_AUTO_TEST_CASE(bottleneck_gradients) {
  struct Case {
    int h, cin, features, stride;
    bool projection;
  };
  for (const Case& c : {Case{7, 8, 12, 1, true}, Case{7, 12, 12, 1, false}, Case{8, 12, 32, 2, true}, Case{5, 6, 16, 2, true}}) {
    const int n = 2;
    const auto g = bottleneck_geom(n, c.h, c.h, c.cin, c.features, c.stride, c.projection);
    const int fb = c.features / 4;
    V x = randv(g.in_size(), 41), wp = randv(static_cast<std::size_t>(c.cin) * c.features, 42, 0.5), w0 = randv(c.cin * fb, 43, 0.5),
      w1 = randv(9 * fb * fb, 44, 0.5), w2 = randv(fb * c.features, 45, 0.5);
    V sc(g.out_size()), a(g.a_size()), cc(g.c_size()), y(g.out_size()), col(g.col_size()), dcol(g.col_size()), da(g.a_size()),
        dc(g.c_size());
    V dwp(wp.size()), dw0(w0.size()), dw1(w1.size()), dw2(w2.size()), dx(x.size());
    BottleneckParams<double> p{c.projection ? wp.data() : nullptr, w0.data(), w1.data(), w2.data(),
                               c.projection ? dwp.data() : nullptr, dw0.data(), dw1.data(), dw2.data()};
    const BottleneckCache<double> k{sc.data(), a.data(), cc.data(), y.data()};
    auto fwd = [&] {
      bottleneck_forward(g, p, x.data(), k, col.data());
      return y;
    };
    fwd();
    const V R = randv(y.size(), 46);
    V dy = R;
    bottleneck_backward(g, p, x.data(), k, dy.data(), dx.data(), BottleneckScratch<double>{col.data(), dcol.data(), da.data(), dc.data()});
    std::vector<GradTensor> tensors{{"w0", w0.data(), dw0.data(), w0.size()},
                                    {"w1", w1.data(), dw1.data(), w1.size()},
                                    {"w2", w2.data(), dw2.data(), w2.size()},
                                    {"x", x.data(), dx.data(), x.size()}};
    if (c.projection) tensors.push_back({"proj", wp.data(), dwp.data(), wp.size()});
    // Small steps (ReLU kinks); the floor keeps the rounding noise of the loss difference (~2e-8 in the
    // gradient at this step and loss size) out of the relative error. A wrong gradient is off by O(1).
    const auto r = check_gradients([&] { return dot(fwd(), R); }, tensors, GradCheckOptions{1e-6, 1e-4, 0});
    BOOST_TEST(r.max_rel_error < 1e-3, "h " << c.h << " F " << c.features << " s " << c.stride << ": " << r.worst);
    // Block output is ReLU'd: non-negative, and some units are active.
    double active = 0;
    for (double v : y) active += v > 0;
    BOOST_TEST(active > 0.2 * y.size());
  }
}

namespace {
// The direct stem kernel against naive conv -> ReLU -> max-pool, and its kernel gradient against the
// naive conv backward of the routed gradient.
template <class S>
void check_stem_kernel(int side, double tol) {
  const auto g = stem_geom(side, side);
  const V img_d = randv(static_cast<std::size_t>(side) * side, 90 + side), W_d = randv(49 * 64, 91, 0.15), dy_d = randv(g.pool_size(), 92);
  const std::vector<S> img(img_d.begin(), img_d.end()), W(W_d.begin(), W_d.end()), dy(dy_d.begin(), dy_d.end());
  std::vector<S> padded(g.padded_size()), conv(g.conv_size()), y(g.pool_size()), dconv(g.conv_size(), S(7)), dW(49 * 64, S(0.5));  // dconv: garbage in
  std::vector<std::int32_t> arg(g.pool_size());
  stem_pad_image(g, img.data(), padded.data());
  stem_forward(g, padded.data(), W.data(), conv.data(), y.data(), arg.data());
  stem_backward_weights(g, padded.data(), y.data(), arg.data(), dy.data(), dconv.data(), dW.data());
  // reference in double
  V cref(g.conv_size()), yref(g.pool_size()), dcref(g.conv_size(), 0.0), dWref(49 * 64, 0.5);
  std::vector<std::int32_t> aref(g.pool_size());
  const V imgr(img.begin(), img.end()), Wr(W.begin(), W.end());
  conv2d_naive_forward(g.conv, imgr.data(), Wr.data(), cref.data());
  relu_forward(cref.data(), static_cast<std::ptrdiff_t>(cref.size()));
  maxpool_forward(g.pool, cref.data(), yref.data(), aref.data());
  double worst_y = 0;
  for (std::size_t j = 0; j < y.size(); ++j) worst_y = std::max(worst_y, std::fabs(double(y[j]) - yref[j]));
  BOOST_TEST(worst_y < tol, "side " << side << " forward: " << worst_y);
  V routed(g.pool_size());
  for (std::size_t j = 0; j < y.size(); ++j) routed[j] = yref[j] > 0 ? dy_d[j] : 0.0;
  maxpool_backward_add(g.pool, aref.data(), routed.data(), dcref.data());
  conv2d_naive_backward(g.conv, imgr.data(), Wr.data(), dcref.data(), dWref.data(), static_cast<double*>(nullptr));
  double worst_dw = 0, scale = 0;
  for (std::size_t j = 0; j < dW.size(); ++j) {
    worst_dw = std::max(worst_dw, std::fabs(double(dW[j]) - dWref[j]));
    scale = std::max(scale, std::fabs(dWref[j]));
  }
  BOOST_TEST(worst_dw < tol * scale, "side " << side << " dW: " << worst_dw << " of " << scale);
  if (std::is_same_v<S, double>) {  // exact same window choice: identical argmax
    std::size_t same = 0;
    for (std::size_t j = 0; j < arg.size(); ++j) same += (yref[j] <= 0) || arg[j] == aref[j];
    BOOST_TEST(same == arg.size());
  }
}

// The tokenizer as the composition of naive layers, for the parity test.
RowMat<double> reference_tokens(ParamStore<double>& st, int side, const RowMat<double>& images) {
  const int n = static_cast<int>(images.rows());
  const auto gs = same_geom(n, side, side, 1, 64, 7, 2);
  V conv(gs.out_pixels() * 64);
  conv2d_naive_forward(gs, images.data(), st.value(st.find("tokenizer/stem/w")).data(), conv.data());
  relu_forward(conv.data(), static_cast<std::ptrdiff_t>(conv.size()));
  const auto gp = same_geom(n, gs.ho, gs.wo, 64, 64, 3, 2);
  V x(gp.out_pixels() * 64);
  std::vector<std::int32_t> arg(x.size());
  maxpool_forward(gp, conv.data(), x.data(), arg.data());
  int h = gp.ho, cin = 64;
  const int features[4] = {12, 32, 32, 64}, strides[4] = {1, 2, 2, 2};
  for (int gi = 0; gi < 4; ++gi)
    for (int b = 0; b < 2; ++b) {
      const std::string p = "tokenizer/group" + std::to_string(gi) + "/block" + std::to_string(b) + "/";
      const int F = features[gi], s = b == 0 ? strides[gi] : 1;
      const auto g0 = same_geom(n, h, h, cin, F / 4, 1, 1), g1 = same_geom(n, h, h, F / 4, F / 4, 3, s),
                 g2 = same_geom(n, g1.ho, g1.wo, F / 4, F, 1, 1), gpj = same_geom(n, h, h, cin, F, 1, s);
      V a(g0.out_pixels() * (F / 4)), c(g1.out_pixels() * (F / 4)), y(g2.out_pixels() * F), sc;
      conv2d_naive_forward(g0, x.data(), st.value(st.find(p + "conv0/w")).data(), a.data());
      relu_forward(a.data(), static_cast<std::ptrdiff_t>(a.size()));
      conv2d_naive_forward(g1, a.data(), st.value(st.find(p + "conv1/w")).data(), c.data());
      relu_forward(c.data(), static_cast<std::ptrdiff_t>(c.size()));
      conv2d_naive_forward(g2, c.data(), st.value(st.find(p + "conv2/w")).data(), y.data());
      if (b == 0) {
        sc.resize(y.size());
        conv2d_naive_forward(gpj, x.data(), st.value(st.find(p + "proj/w")).data(), sc.data());
      } else {
        sc = x;
      }
      for (std::size_t j = 0; j < y.size(); ++j) y[j] = std::max(y[j] + sc[j], 0.0);
      x = y;
      h = g1.ho;
      cin = F;
    }
  RowMat<double> tok(n, 64);
  mean_pool_forward(n, h * h, 64, x.data(), tok.data(), 64);
  return tok;
}

RowMat<double> random_images(int n, int side, std::uint64_t tag) {
  // Omniglot-like: mostly background 1.0, some strokes 0.0, plus N(0, 0.1²) noise.
  RowMat<double> m = test::random_matrix(n, side * side, tag, 0.1);
  const RowMat<double> u = test::random_matrix(n, side * side, tag + 1);
  for (int i = 0; i < m.size(); ++i) m.data()[i] += u.data()[i] > 0.8 ? 0.0 : 1.0;
  return m;
}
}  // namespace

BOOST_AUTO_TEST_CASE(stem_kernel_matches_naive_layers) {
  for (int side : {7, 12, 17, 28, 105}) {  // pads 3/3 (7: 4 -> 2 -> ...), 2/3, 3/3, 2/3, 3/3; tails of the 6-pixel tiles
    check_stem_kernel<double>(side, 1e-12);
    check_stem_kernel<float>(side, 2e-5);
  }
}

BOOST_AUTO_TEST_CASE(tokenizer_matches_naive_composition) {
  for (int side : {12, 17, 28}) {
    for (int n : {1, 3, 6}) {  // chunks of 4 images: 6 leaves a short last chunk
      ResNetV1Tokenizer<double> tok(side);
      ParamStore<double> st;
      tok.declare_parameters(st);
      st.finalize();
      st.initialize(7);
      const RowMat<double> img = random_images(n, side, 50 + side);
      RowMat<double> out(n, 64);
      tok.forward(st, img, out);
      const RowMat<double> ref = reference_tokens(st, side, img);
      BOOST_TEST((out - ref).cwiseAbs().maxCoeff() < 1e-12, "side " << side << " n " << n);
      BOOST_TEST(out.cwiseAbs().maxCoeff() > 1e-3);  // not all units dead
    }
  }
}

BOOST_AUTO_TEST_CASE(tokenizer_parameters_and_init) {
  ResNetV1Tokenizer<double> tok(105);
  ParamStore<double> st;
  tok.declare_parameters(st);
  st.finalize();
  st.initialize(0);
  std::size_t total = 0;
  for (const auto& t : st.tensors) {
    total += t.size();
    BOOST_TEST(t.fan_in == t.rows);  // kernels (k·k·Cin, Cout): lecun fan_in = k·k·Cin
    BOOST_TEST((t.init == Init::LecunNormal));
  }
  BOOST_TEST(total == 20206u);  // = the PyTorch peer's parameter count (no biases, no BatchNorm)
  BOOST_TEST(st.find("tokenizer/stem/w") == 0);
  const auto W = st.value(0);
  BOOST_TEST(W.rows() == 49);
  BOOST_TEST(W.cols() == 64);
  // lecun_normal: std = sqrt(1/fan_in), truncated at ±2 std.
  const double sd = std::sqrt((W.array() - W.mean()).square().mean());
  BOOST_TEST(std::fabs(sd - std::sqrt(1.0 / 49)) < 0.15 * std::sqrt(1.0 / 49));
  BOOST_TEST(W.cwiseAbs().maxCoeff() <= 2.0 * std::sqrt(1.0 / 49) / 0.87962566103423978 + 1e-12);
}

BOOST_AUTO_TEST_CASE(tokenizer_gradient) {
  for (int side : {9, 16}) {
    const int n = 5;  // two chunks of images
    ResNetV1Tokenizer<double> tok(side);
    ParamStore<double> st;
    tok.declare_parameters(st);
    st.finalize();
    st.initialize(3);
    const RowMat<double> img = random_images(n, side, 60 + side);
    const RowMat<double> R = test::random_matrix(n, 64, 61);
    RowMat<double> out(n, 64);
    tok.forward(st, img, out);
    st.zero_grad();
    tok.backward(st, R);
    const AlignedVector<double> grads = st.grads;
    std::vector<GradTensor> tensors;
    for (const auto& t : st.tensors) tensors.push_back({t.name, st.values.data() + t.offset, grads.data() + t.offset, t.size()});
    const auto r = check_gradients(
        [&] {
          tok.forward(st, img, out);
          return out.cwiseProduct(R).sum();
        },
        tensors, GradCheckOptions{1e-6, 1e-6, 0});  // rounding of the loss difference is ~5e-10 at this step
    BOOST_TEST_MESSAGE("side " << side << ": " << r.checked << " entries, worst " << r.max_rel_error << " at " << r.worst);
    BOOST_TEST(r.checked == 20206u);
    BOOST_TEST(r.max_rel_error < 2e-3, "side " << side << ": " << r.worst);
  }
}

BOOST_AUTO_TEST_CASE(omniglot_model_gradient) {
  // ResNet tokenizer + the §2 transformer, a few classes, small images: every parameter.
  ModelConfig c;
  c.input_tokenizer = "resnet_v1";
  const int side = 10, C = 5, L = 2, B = 2;
  TransformerT<double> model(c, C, L, side * side, 4);
  Batch batch = test::random_batch(B, L, side * side, C, 9);
  const RowMat<double> img = random_images(B * (L + 1), side, 70);
  for (std::size_t i = 0; i < batch.inputs.size(); ++i) batch.inputs[i] = static_cast<float>(img.data()[i]);
  model.loss_and_gradient(batch);
  const AlignedVector<double> grads = model.store().grads;
  auto& st = model.store();
  std::vector<GradTensor> tensors;
  for (const auto& t : st.tensors) tensors.push_back({t.name, st.values.data() + t.offset, grads.data() + t.offset, t.size()});
  // Every tensor, up to 60 evenly strided entries each (all of every tokenizer kernel but the largest).
  const auto r = check_gradients([&] { return model.loss(batch); }, tensors, GradCheckOptions{1e-6, 1e-4, 60});
  BOOST_TEST_MESSAGE("omniglot model: " << r.checked << " entries, worst " << r.max_rel_error << " at " << r.worst);
  BOOST_TEST(r.checked > 30 * st.tensors.size());
  BOOST_TEST(r.max_rel_error < 1e-5, r.worst);
  // The tokenizer's stem kernel gets a gradient (the transformer back-propagates into it).
  double stem = 0;
  for (std::size_t i = 0; i < st.tensors[0].size(); ++i) stem += std::fabs(grads[st.tensors[0].offset + i]);
  BOOST_TEST(stem > 0.0);
}

BOOST_AUTO_TEST_CASE(make_input_tokenizer_checks) {
  const auto t = make_input_tokenizer<float>("resnet_v1", 28 * 28, 64);
  BOOST_TEST(t->input_dim() == 784);
  BOOST_TEST(t->output_dim() == 64);
  BOOST_TEST(t->trainable());
  BOOST_CHECK_THROW(make_input_tokenizer<float>("resnet_v1", 28 * 28 + 1, 64), InputError);
  BOOST_CHECK_THROW(make_input_tokenizer<float>("resnet_v1", 28 * 28, 32), ParamError);
  ModelConfig c;
  c.input_tokenizer = "resnet_v1";
  c.embed_dim = 32;
  BOOST_CHECK_THROW(c.validate(), ParamError);
  c.input_tokenizer = "resnet";
  c.embed_dim = 64;
  BOOST_CHECK_THROW(c.validate(), ParamError);
}

BOOST_AUTO_TEST_CASE(float_tokenizer_runs_at_paper_size) {
  ResNetV1Tokenizer<float> tok(105);
  ParamStore<float> st;
  tok.declare_parameters(st);
  st.finalize();
  st.initialize(1);
  const RowMat<float> img = random_images(5, 105, 80).cast<float>();
  RowMat<float> out(5, 64);
  tok.forward(st, img, out);
  BOOST_TEST(out.allFinite());
  st.zero_grad();
  tok.backward(st, RowMat<float>::Ones(5, 64));
  float g = 0;
  for (float v : st.grads) g += std::fabs(v);
  BOOST_TEST(std::isfinite(g));
  BOOST_TEST(g > 0.0f);
}
