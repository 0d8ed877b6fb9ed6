#pragma once
// The trainable ResNet-v1 image tokenizer of PAPER-SPEC §5.3 (the authors' ResNetV1Module with
// use_batch_norm = False), registered as model.input_tokenizer = resnet_v1:
//
//   image (S, S, 1), value/255 + noise
//   stem   conv 7×7/64 stride 2 -> ReLU -> max-pool 3×3 stride 2 (−∞ padding)     S -> ceil(S/2) -> ceil(S/4)
//   4 groups × 2 bottleneck blocks, features F = [12, 32, 32, 64], strides [1, 2, 2, 2]:
//     out = conv1×1(F)(ReLU(conv3×3(F/4, stride s)(ReLU(conv1×1(F/4)(x)))))
//     y   = ReLU(out + shortcut), shortcut = conv1×1(F, stride s)(x) in block 1 of a group, x in block 2
//   mean over H×W -> 64-d token (no dense layer)
// No BatchNorm, no conv bias, TF SAME padding (extra pad on the high side), lecun_normal kernels with
// fan_in = k·k·Cin. For S = 105 the spatial sizes are 105 -> 53 -> 27 -> 27 -> 14 -> 7 -> 4.
//
// Activations are channels-last (layers in model/conv.hpp); every buffer is sized once per batch size
// and reused. The stem is a direct kernel (model/stem_kernel.hpp) run image by image, ReLU fused into the
// max-pool, so the full-resolution conv output exists for one image at a time; its backward computes only
// the kernel gradient (the images are data: no input gradient).
#include <cstdint>
#include <vector>

#include "iclsweep/model/conv.hpp"
#include "iclsweep/model/stem_kernel.hpp"
#include "iclsweep/model/tokenizer.hpp"

namespace icl {

template <class S>
class ResNetV1Tokenizer final : public InputTokenizer<S> {
 public:
  static constexpr int kTokenDim = 64;
  static constexpr int kStemChannels = 64, kStemKernel = 7, kStemStride = 2, kPoolWindow = 3, kPoolStride = 2;
  static constexpr int kGroups = 4, kBlocksPerGroup = 2;
  // Images that go through stem and blocks together: their activations and scratch (~0.4 MB per 105²
  // image) stay in L2 between layers, while each GEMM still has thousands of rows.
  static constexpr int kChunk = 4;
  static constexpr int kFeatures[kGroups] = {12, 32, 32, 64};
  static constexpr int kStrides[kGroups] = {1, 2, 2, 2};

  explicit ResNetV1Tokenizer(int image_side);
  int input_dim() const override { return side_ * side_; }
  int output_dim() const override { return kTokenDim; }
  void declare_parameters(ParamStore<S>& store) override;
  // inputs (n, S·S): row i is image i, row-major pixels -> tokens (n, 64).
  void forward(ParamStore<S>& store, const CMatRef<S>& inputs, MatRef<S> tokens) override;
  // d_tokens (n, 64) -> kernel gradients += into store.grads.
  void backward(ParamStore<S>& store, const CMatRef<S>& d_tokens) override;
  bool trainable() const override { return true; }

  int image_side() const { return side_; }
  // Spatial side after the stem conv, the pool and each group: {S, conv, pool, g1, g2, g3, g4}.
  std::vector<int> spatial_sizes() const;
  // Multiply-adds per image: forward (all convs) and backward (stem: kernel gradient only; the other convs:
  // kernel and input gradient). FLOPs of a training step = 2·(forward + backward) per image.
  double forward_macs_per_image() const;
  double backward_macs_per_image() const;

 private:
  struct Block {
    int features = 0, stride = 1;
    bool projection = false;                       // block 1 of a group
    int w_proj = -1, w0 = -1, w1 = -1, w2 = -1;  // ParamStore tensor ids (w_proj: block 1 of a group)
    int in_side = 0, cin = 0;                      // input H = W and channels
    layers::BottleneckGeom per_image;              // n = 1: per-image buffer sizes
    layers::BottleneckGeom geom(int n) const { return layers::bottleneck_geom(n, in_side, in_side, cin, features, stride, projection); }
    AlignedVector<S> sc, a, c, y, dy;              // shortcut (proj), conv0+ReLU, conv1+ReLU, block output, dLoss/dy
    layers::BottleneckParams<S> params(ParamStore<S>& store) const;
    // Activations of images [first, …): buffers are image-major, so a run of images is one slice of each.
    layers::BottleneckCache<S> cache(int first) {
      const auto& g = per_image;
      return {projection ? sc.data() + first * g.out_size() : nullptr, a.data() + first * g.a_size(), c.data() + first * g.c_size(),
              y.data() + first * g.out_size()};
    }
  };
  void set_batch(int n);
  S* block_input(std::size_t b, int first) {
    return (b == 0 ? pooled_.data() : blocks_[b - 1].y.data()) + first * blocks_[b].per_image.in_size();
  }
  S* block_input_grad(std::size_t b, int first) {
    return (b == 0 ? d_pooled_.data() : blocks_[b - 1].dy.data()) + first * blocks_[b].per_image.in_size();
  }

  int side_;
  int stem_w_ = -1;
  std::vector<Block> blocks_;
  int batch_ = -1;
  layers::StemGeom g_stem_;
  AlignedVector<S> padded_;          // (n, padded_h·padded_w): the last forward's images, zero-padded (backward needs them)
  AlignedVector<S> stem_conv_;       // (conv pixels, 64) one image's conv output
  AlignedVector<S> stem_dconv_;      // (conv pixels, 64) its gradient
  AlignedVector<S> pooled_, d_pooled_;  // (n·pool pixels, 64) stem output = ReLU(max-pool(conv)) and its gradient
  std::vector<std::int32_t> argmax_;    // (n·pool pixels·64) index into its image's conv output of each window's maximum
  AlignedVector<S> col_, dcol_, d_a_, d_c_;  // im2col scratch and block-internal gradients, for one chunk of the largest layer
};

}  // namespace icl
