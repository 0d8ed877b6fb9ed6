#pragma once
// Job files: fixed parameters plus a [grid], expanded into points with stable identities.
//
//   [run]
//   model_kind = transformer
//   [data]
//   input_noise_std = 0.2
//   [train]
//   steps = 100000
//   [grid]
//   data.p_relevant_context = 0.0, 0.9, 1.0
//   data.dataset_size = 2^6..2^20 step 2
//   seeds = 0..4
//
// Syntax is Boost.Program_options' config-file syntax; the full description (list forms, --set overrides,
// error reporting) is docs/job-files.md. Loading validates everything before anything runs and throws
// ONE InputError listing every problem, one per line, as "file:line: message".
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "iclsweep/core/params.hpp"
#include "iclsweep/sweep/grid.hpp"

namespace icl {

// The sweep room's own keys: run.model_kind (one of the families' kinds, docs/families.md).
std::vector<ParamSpec> sweep_param_specs();

struct JobPoint {
  std::size_t index = 0;  // canonical index: position in the product order (first grid key slowest, seeds fastest)
  std::string id;         // point_id(params): 16 hex digits
  ParamMap params;        // defaults <- job fixed values <- grid values <- --set
  std::vector<std::pair<std::string, std::string>> grid_values;  // (key, canonical value) in grid-key order
  // "data.dataset_size=64, data.seed=0": names the point in messages.
  std::string describe() const;
};

// A cross-key check of one point's parameters; returns problem messages (empty = valid). Each message
// should name the key it is about ("parameter 'data.p_high' = ...") so it can be mapped to a file line.
using PointValidator = std::function<std::vector<std::string>(const ParamMap&)>;

// Validators run on every point at load. The data room's rules (DataParams::collect_errors) are
// registered from the start; other rooms add theirs once (e.g. from cli/registry.cpp or the model-kind
// registry) before jobs are loaded. Adding a validator under an existing name replaces it.
void add_point_validator(const std::string& name, PointValidator validator);
std::vector<std::pair<std::string, PointValidator>> point_validators();

// Called now and then while a job's points are checked (done of total), so a command can show progress
// for a million-point job.
using PointCheckProgress = std::function<void(std::size_t done, std::size_t total)>;

class Job {
 public:
  // Reads and validates a job file. `overrides` are the --set arguments ("train.steps=2000",
  // "grid.data.dataset_size=2^6,2^8", "seeds=0..1"), applied after the file. Refuses a directory, an
  // empty or binary file; strips a UTF-8 BOM.
  static Job load(const std::string& path, const std::vector<std::string>& overrides, const ParamRegistry& registry,
                  const PointCheckProgress& progress = {});
  // The same from text; `source_name` stands in for the file name in messages.
  static Job parse(const std::string& text, const std::string& source_name, const std::vector<std::string>& overrides,
                   const ParamRegistry& registry, const PointCheckProgress& progress = {});

  const std::string& source_name() const { return source_name_; }
  std::size_t size() const { return size_; }
  // Point `index` (< size()), built on demand from the grid: a million-point job costs no memory until
  // its points are asked for. `iclsweep list` streams with it.
  JobPoint point(std::size_t index) const;
  // Every point, built on first call and kept (a full ParamMap each, ~5 KB): for callers that need them all.
  const std::vector<JobPoint>& points() const;
  const Grid& grid() const { return grid_; }
  std::vector<std::string> grid_keys() const { return grid_.keys(); }
  // Every key at its value outside the grid: defaults <- fixed values <- fixed --set overrides.
  const ParamMap& base_params() const { return base_; }
  const std::vector<std::string>& overrides() const { return overrides_; }
  // xxh64 over the ordered point ids, 16 hex digits: same job and overrides -> same hash; reordering the grid changes it.
  const std::string& grid_hash() const { return grid_hash_; }
  // The job file text followed by the --set overrides as comment lines: what a results file stores.
  std::string text() const;

 private:
  std::string source_name_, file_text_, grid_hash_;
  std::vector<std::string> overrides_;
  ParamMap base_, defaults_;
  Grid grid_;
  std::size_t size_ = 0;
  mutable std::vector<JobPoint> points_;
};

// A point's identity: the keys whose value differs from the registry default, "key=value;..." in key
// order. Keys added to iclsweep later (with defaults that keep the old behaviour) leave existing ids,
// grid hashes and results files valid; changing a default changes the ids of points that use it.
std::string identity_text(const ParamMap& params, const ParamRegistry& registry);
// xxh64 (seed 0) of identity_text() as 16 lower-case hex digits.
std::string point_id(const ParamMap& params, const ParamRegistry& registry);
std::string to_hex64(std::uint64_t value);

// A point's cost is its model kind's estimate in core-seconds (ModelKind::cost, core/cost_model.hpp).

}  // namespace icl
