#pragma once
// Algorithm 1 of PAPER-SPEC §4.4 as a tabular online simulation on the stylized distribution (§1).
//
// Each of t = 1..N examples is drawn fresh and processed once:
//   g  tabular over a key (see below): add-1/2 Krichevsky-Trofimov estimate (n_{key,y} + 1/2)/(n_key + C/2)
//   h  eps-floored softmax similarity: h = (1 - eps C) sum_i softmax_i(-|x_i - x_q|^2 / T) onehot(y_i) + eps
//   alpha  tabular over the same key, learned by a no-regret learner on m_t(alpha) = alpha (l_t(g) - l_t(h)):
//          Hedge over the two experts {g, h} or projected OGD on [0,1]
//   f  = alpha g + (1 - alpha) h; losses are cross-entropies of the noisy query label (nats).
//
// The key. The theory's g and alpha are tabular in the query input x. With input noise sigma the input
// is not the class, so by default (online.iw_key = decoded) g and alpha are keyed by the nearest
// prototype of the noisy query, argmax_c mu_c . x_q; it errs more often as sigma grows, so g's loss
// floors at H(y | decoded class) > H(y*) and "IW cannot beat IC" (§4.5) becomes possible.
// online.iw_key = true_class is the idealised table over the class (sigma then affects only h).
//
// Inputs without D-dim vectors. x = mu_c + sigma xi with unit prototypes mu_c ~ U(S^{D-1}) (sampled from
// the Online stream). h needs only the distances d_i = |x_i - x_q|^2; the decoder needs mu_c . x_q. Writing
// u = xi_q in an orthonormal basis of span{mu_c} (r = min(C, D) normals z, plus |u_perp|^2 ~ chi2(D - r)):
//   mu_c . u = a_c . z,   v_i = mu_{c_i} - mu_q - sigma u,
//   |v_i|^2 = 2 - 2 mu_{c_i}.mu_q - 2 sigma (mu_{c_i}.u - mu_q.u) + sigma^2 |u|^2,
//   d_i = |v_i + sigma xi_i|^2 = (|v_i| + sigma z_i)^2 + sigma^2 chi2(D - 1)      (z_i ~ N(0,1))
// which has exactly the distribution of the D-dim computation, at O(r + L) draws per step.
//
// Sampling (per_sequence relevance, §1.2): q ~ w (or uniform in the conditioned group); relevant with
// probability p_rel: m ~ Binomial(L, w_q) truncated to m >= 1 (or m = L_rel) contexts of class q, the other
// L - m from w | != q; irrelevant: all L from w | != q. Label noise sends each label (contexts and query)
// to (c+1) mod C with probability eps_lab. The pool's class-coverage step has no online analogue and is
// skipped. Every step t draws from its own Philox cell (Purpose::Online), so results depend only on the
// parameters and seed.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "iclsweep/core/model_kind.hpp"
#include "iclsweep/core/params.hpp"
#include "iclsweep/core/record.hpp"
#include "iclsweep/core/rng.hpp"
#include "iclsweep/data/params.hpp"

namespace icl {

enum class GateLearner { Hedge, Ogd };
enum class StepSchedule { SqrtT, Fixed };
enum class RecordSpacing { Log, Linear };
enum class IwKey { Decoded, TrueClass };

struct OnlineParams {
  DataParams data;                       // dataset_size = horizon N, num_contexts, p_high, H, Lo, p_rel, sigma, eps_lab, seed
  GateLearner learner = GateLearner::Hedge;
  StepSchedule schedule = StepSchedule::SqrtT;
  double step_size = 0;                  // eta0 (resolved: theory-guided when online.step_size is unset)
  double temperature = 1.0;              // T
  double epsilon = 0.001;                // h's floor
  int records = 64;
  RecordSpacing spacing = RecordSpacing::Log;
  IwKey iw_key = IwKey::Decoded;

  // Reads data.* and online.*; throws ParamError naming the key. Rejects what the simulation does not
  // model (per_slot relevance, flip_label).
  static OnlineParams from(const ParamMap& params);
  // eta0 without an explicit online.step_size: Hedge sqrt(8 ln 2)/R, OGD 1/R, with R = ln(1/eps)
  // the range of h's loss (the standard anytime rates for losses in [0, R]).
  static double theory_step_size(GateLearner learner, double epsilon);
  // Steps t (1-based) at which the curves are recorded, ascending, last = N.
  std::vector<std::int64_t> record_steps() const;
};

// Curves along t, one entry per record step; "high"/"low" = keys in C_H / C_L.
struct OnlineTrace {
  std::vector<double> t;
  std::vector<double> alpha_high, alpha_low;                  // mean over the group's classes of alpha_c
  std::vector<double> queries_high, queries_low;              // steps so far with a key in the group
  std::vector<double> loss_f_high, loss_g_high, loss_h_high;  // cumulative losses (nats)
  std::vector<double> loss_f_low, loss_g_low, loss_h_low;
  // Regret of f against the best fixed gate per key in hindsight, summed over the group's keys:
  // sum_t l(f_t) - sum_c min_alpha sum_{t: key=c} [alpha l(g_t) + (1-alpha) l(h_t)] (min at an endpoint).
  std::vector<double> regret_high, regret_low;
  // The same for the linearised loss alpha_t l(g_t) + (1-alpha_t) l(h_t): the gate learner's own regret,
  // an upper bound of the regret above (CE is convex).
  std::vector<double> regret_mix_high, regret_mix_low;
  std::vector<double> alpha_final;    // (C) alpha_c after N steps
  std::vector<double> switch_step;    // (C) first t after which alpha_c > 0.5; -1 if never
  double decode_error = 0;            // fraction of steps whose key differs from the query class
  double steps_per_second = 0;       // per CPU second (std::clock) of the simulation loop
};

// The simulation's unit prototypes mu_c ~ U(S^{D-1}), row-major (C, D), from the Online stream of data.seed.
std::vector<double> online_prototypes(const DataParams& data);

// The geometry of one example without D-dim vectors (derivation above); public so tests can check its
// moments against the D-dim definition.
class OnlineGeometry {
 public:
  explicit OnlineGeometry(const DataParams& data);
  // For a query of class q and L contexts of classes ctx_class[0..L): draws the input noise and fills
  // dist[i] = |x_i - x_q|^2. Returns the nearest prototype of x_q when decode is set, else q.
  int draw(Philox& rng, int q, const int* ctx_class, int L, double* dist, bool decode);

 private:
  int C_, D_, r_;
  double sigma_;
  std::vector<double> coords_;  // (r, C): column c = mu_c in an orthonormal basis of span{mu}
  std::vector<double> gram_;    // (C, C): mu_a . mu_b
  std::vector<double> proj_;    // (C): mu_c . u of the current query, scratch
  std::vector<double> z_;       // (r): query noise coordinates, scratch
};

OnlineTrace simulate_online(const OnlineParams& params, const std::function<void(double fraction)>& progress = {});

// Model kind `online`.
ResultSchema online_schema(const ParamMap& params);
PointRecord run_online(const ParamMap& params, const std::function<void(double fraction)>& progress = {});

}  // namespace icl
