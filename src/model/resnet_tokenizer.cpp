#include "iclsweep/model/resnet_tokenizer.hpp"

#include <algorithm>
#include <string>

#include "iclsweep/core/error.hpp"

namespace icl {

namespace {
template <class V>
void grow(V& v, std::size_t n) {
  if (v.size() < n) v.resize(n);
}
}  // namespace

template <class S>
ResNetV1Tokenizer<S>::ResNetV1Tokenizer(int image_side) : side_(image_side) {
  if (image_side < 1) throw InputError("resnet_v1 tokenizer: image side " + std::to_string(image_side) + " must be >= 1");
  for (int g = 0; g < kGroups; ++g)
    for (int b = 0; b < kBlocksPerGroup; ++b) {
      Block k;
      k.features = kFeatures[g];
      k.stride = b == 0 ? kStrides[g] : 1;
      k.projection = b == 0;
      blocks_.push_back(k);
    }
}

template <class S>
void ResNetV1Tokenizer<S>::declare_parameters(ParamStore<S>& store) {
  // Tensor order fixes the ModelInit sub-ids: never reorder. Kernels (k·k·Cin, Cout), fan_in = k·k·Cin.
  const int stem_rows = kStemKernel * kStemKernel;
  stem_w_ = store.add("tokenizer/stem/w", stem_rows, kStemChannels, Init::LecunNormal, stem_rows);
  int cin = kStemChannels;
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    Block& k = blocks_[i];
    const int F = k.features, Fb = F / 4;
    const std::string p = "tokenizer/group" + std::to_string(i / kBlocksPerGroup) + "/block" + std::to_string(i % kBlocksPerGroup) + "/";
    if (k.projection) k.w_proj = store.add(p + "proj/w", cin, F, Init::LecunNormal, cin);
    k.w0 = store.add(p + "conv0/w", cin, Fb, Init::LecunNormal, cin);
    k.w1 = store.add(p + "conv1/w", 9 * Fb, Fb, Init::LecunNormal, 9 * Fb);
    k.w2 = store.add(p + "conv2/w", Fb, F, Init::LecunNormal, Fb);
    cin = F;
  }
}

template <class S>
std::vector<int> ResNetV1Tokenizer<S>::spatial_sizes() const {
  std::vector<int> s{side_};
  s.push_back(layers::same_out(s.back(), kStemStride));
  s.push_back(layers::same_out(s.back(), kPoolStride));
  for (int g = 0; g < kGroups; ++g) s.push_back(layers::same_out(s.back(), kStrides[g]));
  return s;
}

template <class S>
layers::BottleneckParams<S> ResNetV1Tokenizer<S>::Block::params(ParamStore<S>& store) const {
  layers::BottleneckParams<S> p;
  if (w_proj >= 0) {
    p.proj = store.value(w_proj).data();
    p.d_proj = store.grad(w_proj).data();
  }
  p.w0 = store.value(w0).data(), p.d_w0 = store.grad(w0).data();
  p.w1 = store.value(w1).data(), p.d_w1 = store.grad(w1).data();
  p.w2 = store.value(w2).data(), p.d_w2 = store.grad(w2).data();
  return p;
}

template <class S>
void ResNetV1Tokenizer<S>::set_batch(int n) {
  if (n == batch_) return;
  batch_ = n;
  using layers::same_geom;
  g_stem_ = same_geom(n, side_, side_, 1, kStemChannels, kStemKernel, kStemStride);
  g_pool_ = same_geom(n, g_stem_.ho, g_stem_.wo, kStemChannels, kStemChannels, kPoolWindow, kPoolStride);
  std::ptrdiff_t col = 0, a = 0, c = 0;
  int h = g_pool_.ho, cin = kStemChannels;
  for (Block& k : blocks_) {
    k.geom = layers::bottleneck_geom(n, h, h, cin, k.features, k.stride, k.projection);
    const auto& g = k.geom;
    grow(k.sc, g.projection ? g.out_size() : 0);
    grow(k.a, g.a_size());
    grow(k.c, g.c_size());
    grow(k.y, g.out_size());
    grow(k.dy, g.out_size());
    col = std::max(col, g.col_size());
    a = std::max(a, g.a_size());
    c = std::max(c, g.c_size());
    h = g.c2.ho;
    cin = k.features;
  }
  const std::size_t chunk_pixels = static_cast<std::size_t>(kStemChunk) * g_stem_.ho * g_stem_.wo;
  grow(images_, static_cast<std::size_t>(n) * side_ * side_);
  grow(stem_col_, chunk_pixels * g_stem_.patch());
  grow(stem_out_, chunk_pixels * kStemChannels);
  grow(pooled_, static_cast<std::size_t>(g_pool_.out_pixels()) * kStemChannels);
  grow(d_pooled_, pooled_.size());
  grow(argmax_, pooled_.size());
  grow(col_, col);
  grow(dcol_, col);
  grow(d_a_, a);
  grow(d_c_, c);
}

template <class S>
void ResNetV1Tokenizer<S>::forward(ParamStore<S>& store, const CMatRef<S>& inputs, MatRef<S> tokens) {
  const int n = static_cast<int>(inputs.rows()), D = side_ * side_;
  if (inputs.cols() != D)
    throw InputError("resnet_v1 tokenizer: inputs have " + std::to_string(inputs.cols()) + " values per image, expected " +
                     std::to_string(D) + " (" + std::to_string(side_) + "x" + std::to_string(side_) + ")");
  set_batch(n);
  for (int i = 0; i < n; ++i) std::copy(inputs.row(i).data(), inputs.row(i).data() + D, images_.data() + static_cast<std::ptrdiff_t>(i) * D);

  // ---- stem: (n·S·S, 1) -> conv (chunk·conv pixels, 64) -> ReLU∘max-pool -> pooled (n·pool pixels, 64) ----
  const S* Ws = store.value(stem_w_).data();
  const std::ptrdiff_t conv_px = static_cast<std::ptrdiff_t>(g_stem_.ho) * g_stem_.wo, pool_px = static_cast<std::ptrdiff_t>(g_pool_.ho) * g_pool_.wo;
  for (int first = 0; first < n; first += kStemChunk) {
    const int count = std::min(kStemChunk, n - first);
    layers::im2col(g_stem_, images_.data(), stem_col_.data(), first, count);
    MatMap<S>(stem_out_.data(), count * conv_px, kStemChannels).noalias() =
        CMatMap<S>(stem_col_.data(), count * conv_px, g_stem_.patch()) * CMatMap<S>(Ws, g_stem_.patch(), kStemChannels);
    layers::ConvGeom gp = g_pool_;
    gp.n = count;
    S* y = pooled_.data() + first * pool_px * kStemChannels;
    layers::maxpool_forward(gp, stem_out_.data(), y, argmax_.data() + first * pool_px * kStemChannels);
    layers::relu_forward(y, count * pool_px * kStemChannels);  // max then ReLU = max-pool of ReLU
  }

  // ---- bottleneck blocks ----
  for (std::size_t i = 0; i < blocks_.size(); ++i)
    layers::bottleneck_forward(blocks_[i].geom, blocks_[i].params(store), block_input(i), blocks_[i].cache(), col_.data());
  const Block& last = blocks_.back();
  layers::mean_pool_forward(n, last.geom.c2.ho * last.geom.c2.wo, kTokenDim, last.y.data(), tokens.data(), tokens.outerStride());
}

template <class S>
void ResNetV1Tokenizer<S>::backward(ParamStore<S>& store, const CMatRef<S>& d_tokens) {
  const int n = batch_;
  if (d_tokens.rows() != n) throw Error("internal: resnet_v1 backward with a batch size other than the last forward's");
  Block& last = blocks_.back();
  layers::mean_pool_backward(n, last.geom.c2.ho * last.geom.c2.wo, kTokenDim, d_tokens.data(), d_tokens.outerStride(), last.dy.data());
  const layers::BottleneckScratch<S> scratch{col_.data(), dcol_.data(), d_a_.data(), d_c_.data()};
  for (std::size_t i = blocks_.size(); i-- > 0;) {
    S* dx = i == 0 ? d_pooled_.data() : blocks_[i - 1].dy.data();
    layers::bottleneck_backward(blocks_[i].geom, blocks_[i].params(store), block_input(i), blocks_[i].cache(), blocks_[i].dy.data(), dx,
                                scratch);
  }

  // ---- stem: kernel gradient only. Per chunk: patches again, d conv = d pooled routed through ReLU and the
  // argmax, dW (49, 64) += patchesᵀ · d conv.
  MatMap<S> dWs = store.grad(stem_w_);
  const std::ptrdiff_t conv_px = static_cast<std::ptrdiff_t>(g_stem_.ho) * g_stem_.wo, pool_px = static_cast<std::ptrdiff_t>(g_pool_.ho) * g_pool_.wo;
  for (int first = 0; first < n; first += kStemChunk) {
    const int count = std::min(kStemChunk, n - first);
    const std::ptrdiff_t conv_size = count * conv_px * kStemChannels, pool_size = count * pool_px * kStemChannels;
    const std::ptrdiff_t base = first * pool_px * kStemChannels;
    std::fill(stem_out_.data(), stem_out_.data() + conv_size, S(0));
    for (std::ptrdiff_t j = 0; j < pool_size; ++j)
      if (pooled_[base + j] > S(0)) stem_out_[argmax_[base + j]] += d_pooled_[base + j];
    layers::im2col(g_stem_, images_.data(), stem_col_.data(), first, count);
    dWs.noalias() += CMatMap<S>(stem_col_.data(), count * conv_px, g_stem_.patch()).transpose() *
                     CMatMap<S>(stem_out_.data(), count * conv_px, kStemChannels);
  }
}

template <class S>
double ResNetV1Tokenizer<S>::forward_macs_per_image() const {
  const auto sz = spatial_sizes();
  double macs = double(sz[1]) * sz[1] * kStemChannels * kStemKernel * kStemKernel;
  int h = sz[2], cin = kStemChannels;
  for (const Block& k : blocks_) {
    const int F = k.features, Fb = F / 4, ho = layers::same_out(h, k.stride);
    if (k.projection) macs += double(ho) * ho * cin * F;  // projection shortcut
    macs += double(h) * h * cin * Fb + double(ho) * ho * 9 * Fb * Fb + double(ho) * ho * Fb * F;
    h = ho;
    cin = F;
  }
  return macs;
}

template <class S>
double ResNetV1Tokenizer<S>::backward_macs_per_image() const {
  const auto sz = spatial_sizes();
  const double stem = double(sz[1]) * sz[1] * kStemChannels * kStemKernel * kStemKernel;
  return stem + 2 * (forward_macs_per_image() - stem);
}

template class ResNetV1Tokenizer<float>;
template class ResNetV1Tokenizer<double>;

}  // namespace icl
