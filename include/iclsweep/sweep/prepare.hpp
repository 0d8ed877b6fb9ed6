#pragma once
// Sweep preparation on rank 0, before the engine starts: checks the job fits in memory and its inputs
// exist, creates the results file (or opens it to resume, refusing one of another grid), records the
// launch, copies done points from --from files, and returns the pending points in hand-out order.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "iclsweep/core/params.hpp"
#include "iclsweep/store/results_file.hpp"
#include "iclsweep/sweep/job.hpp"
#include "iclsweep/sweep/scheduler.hpp"

namespace icl {

// What `iclsweep run` (or `train`) asks for.
struct SweepRequest {
  std::string out;  // the results file: created, or resumed when it exists (unless overwrite)
  bool overwrite = false, sync = false, retry_failed = false;
  bool accept_changed_inputs = false;  // resume / --from although an input's fingerprint changed
  std::vector<std::string> from;  // --from: older results files whose done points of this job are copied
  int num_ranks = 1;
  std::string command_line;  // recorded with the launch
  std::vector<std::pair<std::string, std::string>> provenance;  // extra root attributes of a new file
};

// Returns the points still to run, most expensive first. Throws InputError (the job is too large for
// this machine's memory, input data is missing), StoreError (the file cannot be created or belongs to
// another grid). `registry` is the full one: it names the numeric keys a new file records.
std::vector<WorkItem> prepare_sweep(const SweepRequest& request, const Job& job, const ParamRegistry& registry,
                                    std::optional<ResultsFile>& file);

}  // namespace icl
