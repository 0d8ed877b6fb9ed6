#pragma once
// Combining results files: `iclsweep merge A.h5 B.h5 --out C.h5` and `iclsweep run JOB --from OLD.h5`
// (growing a sweep: more seeds or N values, reusing the points already computed).
//
// A point's identity is its id, the hash of its parameters (sweep/job.cpp point_id), so the same id in two
// files is the same computation. Merging keeps each id once: a point done in one file and pending or failed
// in the other is taken as done; done in both with different recorded values (or a different parameter
// text) is a conflict, and the merge refuses, naming the points, before writing anything.
#include <cstddef>
#include <string>
#include <vector>

#include "iclsweep/store/results_file.hpp"

namespace icl {

// The ParamMap of a /points/params_text entry ("key=value;key=value").
ParamMap params_from_text(const std::string& text);

// Copies point `from` of `src` (meta, status and every recorded field) into row `to` of `dst`. Pending
// points copy nothing. Throws StoreError naming the field when `dst`'s schema cannot hold a field.
void copy_point(const ResultsFile& src, std::size_t from, ResultsFile& dst, std::size_t to);

// "" when both points have the same parameters, status and recorded values; else what differs.
std::string point_difference(const ResultsFile& a, std::size_t i, const ResultsFile& b, std::size_t j);

struct MergeSummary {
  std::size_t points = 0, done = 0, failed = 0, pending = 0, duplicates = 0;
};

// Writes the union of `inputs` (by point id, in input order) to a new file `out`; refuses an existing `out`
// and conflicting points. The output is built and filled under a temporary name (OutputFile) and published
// by an atomic no-replace rename, so `out` is either absent or complete.
// Inputs made from different data (ModelKind::input_fingerprints) are refused unless accept_changed_inputs;
// a damaged input (a recorded shape outside its field) is refused before anything is written.
struct MergeOptions {
  bool accept_changed_inputs = false;
};
MergeSummary merge_results(const std::vector<std::string>& inputs, const std::string& out,
                           const MergeOptions& options = MergeOptions{});

}  // namespace icl
