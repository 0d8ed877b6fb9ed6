#pragma once
// Reddy 2024 data (PEERS-SPEC §1.1): K classes of D-dim Gaussian means, L fixed random label vectors,
// class k -> label k mod L, sequences of N item-label pairs and a target item, burstiness B, Zipf alpha,
// p_B (bursty fraction), p_C (novel-class fraction), a random positional offset; and the four
// evaluation sets Test / IC / IC2 / IW, generated once per point from its seed.
#include <cstdint>
#include <string>
#include <vector>

#include "iclsweep/core/params.hpp"
#include "iclsweep/core/rng.hpp"
#include "iclsweep/model/tensor.hpp"

namespace icl::reddy {

// Every random number of the family comes from these streams: Purpose values 20..23, reserved here rather
// than in core/rng.hpp's enum so that the family edits no shared header (existing ids 1..13 untouched).
inline constexpr Purpose kReddyWorld = static_cast<Purpose>(20);
inline constexpr Purpose kReddyBatches = static_cast<Purpose>(21);
inline constexpr Purpose kReddyEval = static_cast<Purpose>(22);
inline constexpr Purpose kReddyInit = static_cast<Purpose>(23);
//   ReddyWorld    sub_a 0: class means (cell = class), 1: label vectors (cell = label)
//   ReddyBatches  sub_a = training step: cell = sequence; novel means at cells kNovelCell + c
//   ReddyEval     sub_a = evaluation set index: as ReddyBatches
//   ReddyInit     sub_a = parameter tensor index
inline constexpr std::uint64_t kNovelCell = std::uint64_t{1} << 48;

struct DataConfig {
  int K = 256, L = 32, N = 8, Nmax = 32, D = 63;
  double eps = 0.1;
  int B = 1;
  double alpha = 0, p_bursty = 1, p_novel = 0;
  int novel_classes = 128;
  bool no_repeats = true, random_offset = true;

  int pos_width() const { return 2 * Nmax + 1; }
  int width() const { return pos_width() + D; }
  int seq_len() const { return 2 * N + 1; }
  // Reads the reddy.* data keys; throws ParamError naming the key, the rule and the fix.
  static DataConfig from(const ParamMap& p);
};

// The per-run fixed quantities: class means, label vectors and the Zipf law over classes.
struct World {
  RowMat<double> means;   // K x D, coordinates N(0, 1/D)
  RowMat<double> labels;  // L x D, coordinates N(0, 1/D)
  std::vector<double> cdf;  // cumulative f(k) ∝ (k+1)^-alpha, k = 0..K-1
  static World make(const DataConfig& c, std::uint64_t seed);
  int sample_class(Philox& rng) const;
};

// How one call of the generator draws sequences (the training distribution or an evaluation set).
struct GenSettings {
  int B = 1;            // burstiness; 0 = every sequence i.i.d. (p_B forced to 0; novel sequences use N/2)
  double p_bursty = 1;  // p_B
  double p_novel = 0;   // p_C
  bool flip_labels = false;  // IC2: label tokens show (label+1) mod L, and that is the answer scored
};

GenSettings training_settings(const DataConfig& c);
// The four evaluation sets of §1.1, in this order.
inline const char* const kEvalSetNames[] = {"test", "ic", "ic2", "iw"};
inline constexpr int kNumEvalSets = 4;
GenSettings eval_settings(const DataConfig& c, int set);

struct SeqBatch {
  int size = 0, T = 0, W = 0, N = 0;
  RowMat<float> tokens;          // (size*T) x W: sequence s occupies rows s*T .. s*T+T-1
  std::vector<int> answer;       // size: the label scored as correct (shifted for IC2)
  std::vector<int> target_class; // size: class of the target (novel classes: K + c)
  std::vector<int> ctx_class;    // size*N: class of each context item (novel: K + c)
  std::vector<int> ctx_label;    // size*N: the label shown after each context item
  std::vector<int> offset;       // size: positional offset s
};

// Generates `count` sequences from one call: novel-class means (K_c of them) are drawn once per call
// from `key` at cells kNovelCell + c; sequence i draws from `key` at cell i.
void generate(const DataConfig& c, const World& w, const GenSettings& g, StreamKey key, int count, SeqBatch& out);

}  // namespace icl::reddy
