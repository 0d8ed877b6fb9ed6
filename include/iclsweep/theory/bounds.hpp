#pragma once
// The IW and IC loss bounds of PAPER-SPEC §4.2-§4.3 and the theory-figure recipes of §4.6.
//
// All losses are cross-entropies in nats. N_x = number of training queries equal to x; k = number of
// irrelevant context pairs out of L. The figure draws, per k, a horizontal IC band [lower, upper]
// against the IW curve that falls in N_x; where the IW curve crosses below the band, the theory says
// the gate switches to in-weight prediction (§4.5).
#include <cstdint>
#include <string>
#include <vector>

#include "iclsweep/core/params.hpp"
#include "iclsweep/core/record.hpp"

namespace icl {

enum class TheoryVersion { V2, V1 };

// The reference notebook's three deviations (Q9-Q11); all off = the correct formulas.
struct TheoryCompatFlags {
  bool axis_natural_log = false;          // Q9: x = ln N_x under a "log2" label
  bool entropy_uses_C = false;            // Q10: -p ln p - C q ln q
  bool ic_lower_without_eps_term = false; // Q11: drop +eps(C-1) from the IC lower bound
  static TheoryCompatFlags reference() { return {true, true, true}; }
};

struct TheoryParams {
  TheoryVersion version = TheoryVersion::V2;
  int num_contexts = 8;       // L
  int num_classes = 10;       // C
  double epsilon = 0.001;     // IC floor eps
  double B = 1.0;             // similarity bound
  double label_noise = 0.001; // 1 - p
  TheoryCompatFlags flags;

  // Reads theory.* (theory.compat_reference turns all three flags on) and validates.
  static TheoryParams from(const ParamMap& params);
  void validate() const;  // throws ParamError naming the key
};

// ---- §4.2 in-weight side ----
// Entropy of y*(x) with mass p = 1 - label_noise on the true class and q = label_noise/(C-1) on each
// other class: -p ln p - (C-1) q ln q (or C q ln q with entropy_uses_C, Q10).
double label_entropy(double label_noise, int num_classes, bool entropy_uses_C = false);
// Binary entropy in nats, H2(p) = -p ln p - (1-p) ln(1-p).
double binary_entropy(double p);
// v2: H + ((C-1)/2) ln(N_x)/N_x, the add-1/2 (KT) regret rate.
double iw_curve_v2(double entropy, int num_classes, double n_x);
// v2: the Theta(1/N_x) band the figure draws, half-width 4096/N_x; the lower edge is clipped at 0.
double iw_band_lower_v2(double entropy, int num_classes, double n_x);
double iw_band_upper_v2(double entropy, int num_classes, double n_x);
// v1: H2(0.99) + 10/sqrt(N_x) (the v1 draft's constants; independent of theory.* values).
double iw_curve_v1(double n_x);

// ---- §4.3 in-context side (k irrelevant out of L) ----
// v2 lower: (1-eps C) k/(k + (L-k) e^{2 sqrt B}) + eps(C-1) (the last term dropped with Q11).
// For k = L the loss is exactly ln(1/eps), which both v2 functions return.
double ic_lower_v2(int k, int num_contexts, int num_classes, double epsilon, double B, bool without_eps_term = false);
// v2 upper: -ln((1-eps C)(L-k)/L + eps).
double ic_upper_v2(int k, int num_contexts, int num_classes, double epsilon);
// v1 draft: lower 2k/(k + (L-k) e^4), upper ln(L/(L-k)) (upper is +inf at k = L).
double ic_lower_v1(int k, int num_contexts);
double ic_upper_v1(int k, int num_contexts);

// ---- §4.6 figure data ----
// N_x grid (2^j)^2: j = 2..19 (v2, 18 points) or j = 6..17 (v1, 12 points).
std::vector<double> theory_nx_grid(TheoryVersion version);
// x coordinate of N_x: log2 N_x, or ln N_x with axis_natural_log (Q9; v2 only: the v1 axis was correct).
double theory_axis_coordinate(double n_x, bool natural_log);

struct TheoryFigure {
  std::vector<double> n_x, x;                          // (G)
  std::vector<double> iw_curve, iw_lower, iw_upper;    // (G); band is NaN for v1 (not drawn)
  std::vector<double> ic_lower, ic_upper;              // (L): k = 0..L-1, one panel each
  double ic_all_irrelevant = 0;                        // k = L: ln(1/eps) (v2); NaN (v1, undefined)
  double iw_best = 0;                                  // H(y*) (v2) or H2(0.99) (v1)
  double y_min = -0.01, y_max = 0;                     // v2: max(max_k IC lower, max IW) + 0.1
};
TheoryFigure theory_figure(const TheoryParams& params);

// Model kind `theory`: fields under "theory/..." with per-point shapes from the params.
ResultSchema theory_schema(const ParamMap& params);
PointRecord run_theory(const ParamMap& params);

}  // namespace icl
