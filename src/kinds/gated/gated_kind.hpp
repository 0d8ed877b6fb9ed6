#pragma once
// The gated model kind (run.model_kind = gated, PAPER-SPEC §3, §5.2): one grid point runs the whole
// protocol chain for its parameters and seed, so no point depends on another point's output:
//
//   P0-g   g alone from its init, Adam (train.learning_rate)           fields under iw/
//   P0-h   h alone (θ) from θ = 0, Adam                                fields under ic/
//   mixture, by model.gated_protocol:                                   fields under alpha/
//     p1        α fresh on frozen g, h (from P0), Adam
//     p2        α fresh, g and h from P0, all trained jointly, Adam (default)
//     p2_fresh  α, g and h all from their fresh inits (the same init P0 started from), trained jointly,
//               Adam: what the paper's stylized figures show (PAPER-SPEC §3 "Measured"; docs/gated-protocols.md).
//               P0 still runs, as the g-alone and h-alone baselines.
//     p3        α fresh on frozen g, h, plain SGD with gated.sgd_learning_rate (1e-5; the Lo sweep)
//
// P0 runs gated.p0_steps steps (default train.steps) with gated.p0_checkpoint_interval (default
// train.checkpoint_interval); the mixture runs train.steps / train.checkpoint_interval. All stages
// draw the same minibatch stream and are evaluated on the same fixed splits (trainer.hpp).
//
// Besides the trainer's fields per stage, the mixture logs per checkpoint and split the §3 gate
// statistics and evaluates the same parameters as h alone and g alone (see gated_kind.cpp for the
// field list, also documented in the schema's descriptions). The mixture's g and h are also read each
// at its own selected checkpoint (the last minimal pretraining loss of g alone / h alone over the
// mixture's checkpoints; alpha/own_selected_iw/, alpha/own_selected_ic/), as the authors' figures do.
#include <cstdint>
#include <string>
#include <vector>

#include "iclsweep/core/model_kind.hpp"
#include "iclsweep/data/splits.hpp"
#include "iclsweep/model/gated.hpp"
#include "iclsweep/train/metrics.hpp"

namespace icl {

struct GatedParams {
  IcTemperature temperature = IcTemperature::DoubleExp;  // model.ic_temperature
  std::string protocol = "p2";                           // model.gated_protocol: p1 | p2 | p2_fresh | p3
  std::int64_t p0_steps = 0;                             // gated.p0_steps (resolved; train.steps when unset)
  std::int64_t p0_checkpoint_interval = 0;               // gated.p0_checkpoint_interval (resolved)
  double learning_rate = 3e-4;                           // train.learning_rate: Adam, P0/P1/P2
  double sgd_learning_rate = 1e-5;                       // gated.sgd_learning_rate: P3

  static GatedParams from(const ParamMap& point);  // throws ParamError naming key, value and rule
};

std::vector<ParamSpec> gated_param_specs();

// The mixture's extra per-split metrics at one checkpoint (§3 "Logged").
struct GatedSplitMetrics {
  double alpha_sum = 0;            // Σ α
  double alpha_ge_half = 0;        // #{α ≥ 0.5}
  double with_context = 0;         // #{context holds the query class}
  double alpha_ge_half_context = 0;// #{α ≥ 0.5 and context holds the query class}
  double ic_correct = 0;           // #{class sampled from h == observed query label}
  double iw_correct = 0;           // #{class sampled from p_g == observed query label}
  SplitMetrics ic, iw;             // h alone, g alone (§6.1 error and loss, both precisions)
  std::int64_t count = 0;

  double p_iwl() const;
  double p_iwl_ge_half() const;
  double p_iwl_ge_half_given_context() const;  // NaN when no sample's context holds its query class
  double ic_pred() const;
  double iw_pred() const;
};

// Evaluates the model's current parameters on every valid split; sampled classes come from
// Philox(stream_key(seed, Purpose::Sampling, kGatedSamplingTag + split, checkpoint), sample index).
std::vector<GatedSplitMetrics> evaluate_gated_splits(GatedModel& model, const EvalSet& eval, std::uint64_t seed,
                                                     std::size_t checkpoint);
inline constexpr std::uint64_t kGatedSamplingTag = 0x6A7ED000;

class GatedKind final : public ModelKind {
 public:
  std::string name() const override { return "gated"; }
  std::vector<std::string> validate(const ParamMap& point) const override;
  ResultSchema schema(const ParamMap& point) const override;
  std::vector<CostConstant> cost_constants() const override;
  std::vector<CostTerm> cost_terms(const ParamMap& point) const override;
  std::vector<std::vector<std::string>> calibration_points() const override;
  double memory_bytes(const ParamMap& point) const override;
  PointRecord run(const ParamMap& point, const ProgressFn& progress) const override;
  std::vector<std::pair<std::string, std::string>> summary_fields() const override;
  std::vector<std::string> size_keys() const override;
  bool reads_stylized_sequences() const override { return true; }
  std::vector<std::string> shared_keys() const override { return {"data.", "model.", "train.", "eval."}; }
  // g alone (iw/), h alone (ic/) and the mixture (alpha/, with its g and h at their own selection).
  std::vector<ResultView> result_views() const override;
};

}  // namespace icl
