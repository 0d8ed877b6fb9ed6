#pragma once
// A model kind is what one grid point runs: the transformer, the gated g/h/alpha model, the theory
// curves, the Algorithm 1 simulation, and later the Omniglot transformer or a language-model analog.
// The sweep engine knows nothing else about them: it validates points, sizes the results file from
// their schemas, orders work by cost, and stores what run() returns.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "iclsweep/core/cost_model.hpp"
#include "iclsweep/core/params.hpp"
#include "iclsweep/core/record.hpp"

namespace icl {

// Reports a running point's progress: fraction in [0,1] and a short status text ("step 1200/5000 loss 0.41").
using ProgressFn = std::function<void(double fraction, const std::string& status)>;

// The most memory one point may need (ModelKind::memory_bytes): a single-threaded rank is no place for
// a model beyond this, and a job asking for one is refused when it is loaded, not after an allocation fails.
inline constexpr double kMaxPointMemoryBytes = 64.0 * 1024 * 1024 * 1024;

// The most entries one logged curve of a point may have (train.log_interval, lm.*_log_interval): each
// point stores them all in the results file.
inline constexpr std::int64_t kMaxLogEntries = 1'000'000;

// One view `iclsweep show` prints of a point (ModelKind::result_views): the selected checkpoint of the fields
// under `prefix` ("" for the fields at the root) and its selected/<split>/<metric> table, titled `name`;
// each of `extra_heads` (field head, column tag) adds its <head><split>/<metric> fields as "<tag><metric>" columns.
struct ResultView {
  std::string prefix;
  std::string name;
  std::vector<std::pair<std::string, std::string>> extra_heads;
};

class ModelKind {
 public:
  virtual ~ModelKind() = default;
  virtual std::string name() const = 0;
  // Problems with one point's parameters beyond the per-key checks (cross-key rules), as messages
  // naming the key, the value and the rule. Empty = valid.
  virtual std::vector<std::string> validate(const ParamMap& point) const = 0;
  // Problems with external inputs the point reads (a data folder), as messages naming the file and the
  // fix. `iclsweep run`/`train` refuse to start on any (before a results file is created or touched);
  // `iclsweep list` shows them as warnings, so a job can be sized before its data is downloaded.
  virtual std::vector<std::string> check_inputs(const ParamMap&) const { return {}; }
  // What the point's results depend on outside its parameters (a data folder's contents, a built-in
  // corpus generator), as (input name, fingerprint text) pairs; called after check_inputs found no
  // problem. `iclsweep run` stores them in a new results file (root attribute input_fingerprints) and
  // refuses to resume it, to --from it or to merge it when one changed (docs/results-format.md).
  virtual std::vector<std::pair<std::string, std::string>> input_fingerprints(const ParamMap&) const { return {}; }
  // Every field this point will write, with its maximal per-point shape.
  virtual ResultSchema schema(const ParamMap& point) const = 0;
  // The machine constants this kind's cost is priced in (core/cost_model.hpp), with reference values.
  virtual std::vector<CostConstant> cost_constants() const = 0;
  // What one point needs of each constant. Its core-seconds, cost(), order the work most-expensive-first,
  // size jobs (`iclsweep list`, slurm/submit), drive the ETA and the automatic point timeout.
  virtual std::vector<CostTerm> cost_terms(const ParamMap& point) const = 0;
  // Work a point shares with the other points of one key when they run in the same process (lm_facts'
  // pretraining, cached per rank): paid once per key and rank. cost() includes it (an upper bound for
  // one point); `iclsweep list` counts it once per key. Empty key: nothing shared.
  virtual std::pair<std::string, std::vector<CostTerm>> shared_cost_terms(const ParamMap&) const { return {}; }
  // Small real points, as KEY=VALUE overrides of the defaults, whose terms differ in proportion: what
  // `iclsweep calibrate` runs (a few seconds each) to fit this kind's constants on a machine.
  virtual std::vector<std::vector<std::string>> calibration_points() const { return {}; }
  // Core-seconds of one point: its terms priced by the active constants (CostConstants::active()).
  double cost(const ParamMap& point) const;
  // Peak bytes one point needs (weights, gradients, optimizer state, the largest batch's activations),
  // a rough upper estimate; 0 = not estimated. Points beyond kMaxPointMemoryBytes are refused at load.
  virtual double memory_bytes(const ParamMap&) const { return 0; }
  // Runs the point. Throws NumericError on divergence, other icl::Error on bad input; the engine
  // records the message and the sweep goes on.
  virtual PointRecord run(const ParamMap& point, const ProgressFn& progress) const = 0;
  // Scalar fields shown in the end-of-sweep summary table and `iclsweep report`, as (column, path).
  virtual std::vector<std::pair<std::string, std::string>> summary_fields() const { return {}; }

  // ---- what the rooms ask of a kind instead of its name (docs/families.md) ----
  // Whether the data room's rules of the stylized distribution (data.*, DataParams) apply to this kind's
  // points when a job is loaded. A kind that reads its data elsewhere checks its data.* keys in validate().
  virtual bool follows_stylized_data_rules() const { return true; }
  // The keys that size one point, named first (in this order, those set) when memory_bytes() is refused.
  virtual std::vector<std::string> size_keys() const { return {}; }
  // Whether the kind trains on the stylized distribution's sequences, the ones `iclsweep sample` writes.
  virtual bool reads_stylized_sequences() const { return false; }
  // The views `iclsweep show` prints of one of this kind's points.
  virtual std::vector<ResultView> result_views() const { return {{"", "the model", {}}}; }
  // The rooms' shared keys this kind reads, as sections ("train.") or keys ("data.seed"); its family's own
  // keys, run.* and data.seed (every point's seed) always apply. A job that sets a key none of its points'
  // kinds reads is warned about when it is listed or run (sweep/model_kinds.hpp).
  virtual std::vector<std::string> shared_keys() const { return {}; }
};

// Calibration points that share settings: `base`, then each point's own overrides (later ones win).
inline std::vector<std::vector<std::string>> calibration_variants(const std::vector<std::string>& base,
                                                                  std::vector<std::vector<std::string>> points) {
  for (auto& p : points) p.insert(p.begin(), base.begin(), base.end());
  return points;
}

// Each kind is implemented and registered by its family, src/kinds/<family>/ (core/family.hpp,
// docs/families.md); sweep/model_kinds.hpp looks kinds up by run.model_kind.

}  // namespace icl
