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
  g_stem_ = layers::stem_geom(side_, side_);
  const int chunk = std::min(n, kChunk);
  std::ptrdiff_t col = 0, a = 0, c = 0;
  int h = g_stem_.pool.ho, cin = kStemChannels;
  for (Block& k : blocks_) {
    k.in_side = h;
    k.cin = cin;
    k.per_image = k.geom(1);
    const auto& g = k.per_image;
    grow(k.sc, g.projection ? n * g.out_size() : 0);
    grow(k.a, n * g.a_size());
    grow(k.c, n * g.c_size());
    grow(k.y, n * g.out_size());
    grow(k.dy, n * g.out_size());
    col = std::max(col, chunk * g.col_size());
    a = std::max(a, chunk * g.a_size());
    c = std::max(c, chunk * g.c_size());
    h = g.c2.ho;
    cin = k.features;
  }
  grow(padded_, static_cast<std::size_t>(n) * g_stem_.padded_size());
  grow(stem_conv_, g_stem_.conv_size());
  grow(stem_dconv_, g_stem_.conv_size());
  grow(pooled_, static_cast<std::size_t>(n) * g_stem_.pool_size());
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
  const S* Ws = store.value(stem_w_).data();
  const std::ptrdiff_t pool_size = g_stem_.pool_size(), padded_size = g_stem_.padded_size();
  for (int first = 0; first < n; first += kChunk) {
    const int count = std::min(kChunk, n - first);
    // ---- stem, image by image: (S·S) -> zero-padded -> conv (conv pixels, 64) -> ReLU∘max-pool -> pooled (pool pixels, 64) ----
    for (int i = first; i < first + count; ++i) {
      S* padded = padded_.data() + i * padded_size;
      layers::stem_pad_image(g_stem_, inputs.row(i).data(), padded);
      layers::stem_forward(g_stem_, padded, Ws, stem_conv_.data(), pooled_.data() + i * pool_size, argmax_.data() + i * pool_size);
    }
    // ---- bottleneck blocks on the chunk ----
    for (std::size_t b = 0; b < blocks_.size(); ++b)
      layers::bottleneck_forward(blocks_[b].geom(count), blocks_[b].params(store), block_input(b, first), blocks_[b].cache(first), col_.data());
  }
  const Block& last = blocks_.back();
  layers::mean_pool_forward(n, last.per_image.c2.ho * last.per_image.c2.wo, kTokenDim, last.y.data(), tokens.data(), tokens.outerStride());
}

template <class S>
void ResNetV1Tokenizer<S>::backward(ParamStore<S>& store, const CMatRef<S>& d_tokens) {
  const int n = batch_;
  if (d_tokens.rows() != n) throw Error("internal: resnet_v1 backward with a batch size other than the last forward's");
  Block& last = blocks_.back();
  layers::mean_pool_backward(n, last.per_image.c2.ho * last.per_image.c2.wo, kTokenDim, d_tokens.data(), d_tokens.outerStride(),
                             last.dy.data());
  const layers::BottleneckScratch<S> scratch{col_.data(), dcol_.data(), d_a_.data(), d_c_.data()};
  S* dWs = store.grad(stem_w_).data();
  const std::ptrdiff_t pool_size = g_stem_.pool_size(), padded_size = g_stem_.padded_size();
  for (int first = 0; first < n; first += kChunk) {
    const int count = std::min(kChunk, n - first);
    for (std::size_t b = blocks_.size(); b-- > 0;) {
      Block& k = blocks_[b];
      layers::bottleneck_backward(k.geom(count), k.params(store), block_input(b, first), k.cache(first),
                                  k.dy.data() + first * k.per_image.out_size(), block_input_grad(b, first), scratch);
    }
    // ---- stem: kernel gradient only (dW (49, 64) += patches ⊗ d conv, d conv routed through ReLU and the argmax) ----
    for (int i = first; i < first + count; ++i)
      layers::stem_backward_weights(g_stem_, padded_.data() + i * padded_size, pooled_.data() + i * pool_size, argmax_.data() + i * pool_size,
                                    d_pooled_.data() + i * pool_size, stem_dconv_.data(), dWs);
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
