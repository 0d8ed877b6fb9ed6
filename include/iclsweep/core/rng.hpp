#pragma once
// Counter-based random streams (PAPER-SPEC §1.9).
//
// Every random number iclsweep draws is a pure function of (seed, purpose, sub-ids, cell, draw index):
// a Philox4x32-10 block cipher (Random123) keyed by a 64-bit stream key and fed a 128-bit counter.
// Nothing depends on the order in which points, sequences or ranks are processed, which is what makes
// a grid point's numbers independent of the rank that ran it and of the number of ranks.
//
//   StreamKey key = stream_key(seed, Purpose::TrainPool);      // one stream per purpose
//   Philox rng(key, /*cell=*/n);                                 // sub-stream per sequence n
//   double u = rng.uniform(); double z = rng.normal();           // any number of draws per cell
#include <Random123/philox.h>

#include <cmath>
#include <cstdint>

namespace icl {

// What a stream is for. Values are part of the on-disk reproducibility contract: never renumber.
enum class Purpose : std::uint32_t {
  Prototypes = 1,    // class prototypes mu_c
  TrainPool = 2,     // the fixed training pool (labels, relevance)
  TrainBatches = 3,  // minibatch positions drawn with replacement
  EvalPool = 4,      // an evaluation pool, sub-ids (relevance, conditioning)
  EvalDraws = 5,     // positions drawn from an evaluation pool, shared by flip twins
  ModelInit = 6,     // parameter initialisation, sub-id = parameter tensor index
  PretrainDraws = 7, // the `pretraining` split's positions in the training pool
  InputNoise = 8,    // xi[n][j] of a pool, sub-id = pool id
  LabelNoise = 9,    // label-noise mask M[n][j] of a pool, sub-id = pool id
  Online = 10,       // Algorithm 1 simulation (theory room)
  Sampling = 11,     // sampled-class metrics (ic_pred / iw_pred)
  EpochShuffle = 12, // Omniglot: the permutation of the training pool for epoch e (cell = e)
  HeldoutExemplar = 13,  // Omniglot: the drawing shown at (n, j) in a heldout split, sub-id = pool id
};

struct StreamKey {
  std::uint64_t value = 0;
};

// SplitMix64 finaliser: a bijective 64-bit mixer, used to fold ids into stream keys.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

constexpr StreamKey stream_key(std::uint64_t seed, Purpose purpose, std::uint64_t sub_a = 0,
                               std::uint64_t sub_b = 0) {
  std::uint64_t k = mix64(seed);
  k = mix64(k ^ static_cast<std::uint64_t>(purpose));
  k = mix64(k ^ sub_a);
  k = mix64(k ^ (sub_b * 0xD1B54A32D192ED03ULL));
  return StreamKey{k};
}

// Draws from one cell of a stream. Cheap to construct (no state beyond a 4-word buffer), so
// construct one per (sequence, position) rather than sharing one across loops.
class Philox {
 public:
  using Engine = r123::Philox4x32_R<10>;

  Philox(StreamKey key, std::uint64_t cell) {
    key_ = Engine::key_type{{static_cast<std::uint32_t>(key.value), static_cast<std::uint32_t>(key.value >> 32)}};
    ctr_ = Engine::ctr_type{{static_cast<std::uint32_t>(cell), static_cast<std::uint32_t>(cell >> 32), 0u, 0u}};
  }

  std::uint32_t next_u32() {
    if (avail_ == 0) refill();
    return block_[4 - avail_--];
  }
  std::uint64_t next_u64() {
    std::uint64_t hi = next_u32();
    return (hi << 32) | next_u32();
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  // Uniform in (0, 1]: safe for log().
  double uniform_pos() { return 1.0 - uniform(); }
  // Unbiased integer in [0, n) (Lemire's multiply-shift with rejection).
  std::uint64_t below(std::uint64_t n) {
    if (n <= 1) return 0;
    if (n <= 0xFFFFFFFFULL) {
      const std::uint32_t n32 = static_cast<std::uint32_t>(n);
      std::uint64_t m = static_cast<std::uint64_t>(next_u32()) * n32;
      auto low = static_cast<std::uint32_t>(m);
      if (low < n32) {
        const std::uint32_t threshold = static_cast<std::uint32_t>(-n32) % n32;
        while (low < threshold) {
          m = static_cast<std::uint64_t>(next_u32()) * n32;
          low = static_cast<std::uint32_t>(m);
        }
      }
      return m >> 32;
    }
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t x;
    do x = next_u64();
    while (x >= limit);
    return x % n;
  }
  bool bernoulli(double p) { return uniform() < p; }
  // Standard normal by Box-Muller; both values of a pair are used.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double r = std::sqrt(-2.0 * std::log(uniform_pos()));
    const double theta = 6.283185307179586476925 * uniform();
    spare_ = r * std::sin(theta);
    has_spare_ = true;
    return r * std::cos(theta);
  }

 private:
  void refill() {
    const auto out = Engine()(ctr_, key_);
    for (int i = 0; i < 4; ++i) block_[i] = out.v[i];
    if (++ctr_.v[2] == 0) ++ctr_.v[3];
    avail_ = 4;
  }

  Engine::key_type key_;
  Engine::ctr_type ctr_;
  std::uint32_t block_[4] = {0, 0, 0, 0};
  int avail_ = 0;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace icl
