#pragma once
// The sweep engine: hands grid points out to MPI ranks dynamically (most expensive first), runs them,
// and passes every result to one ResultSink on rank 0 (the results file).
//
// Rank 0's main thread is the coordinator and the only writer; it also runs a local worker thread,
// so N ranks keep N cores training and the coordinator itself sleeps between messages instead of
// spinning in MPI (it polls with MPI_Iprobe and waits on a condition variable in between).
// Only the main thread calls MPI (MPI_THREAD_FUNNELED).
//
// The coordinator is in parts: the Scheduler decides (scheduler.hpp: pure, tested in virtual time),
// coordinate() drives it (engine.cpp), the MPI protocol is src/sweep/mpi_transport.*, rank 0's worker
// thread src/sweep/local_worker.*, the drain signals signals.hpp and the progress line progress_line.hpp.
#include <functional>
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "iclsweep/core/params.hpp"
#include "iclsweep/core/model_kind.hpp"
#include "iclsweep/sweep/progress_line.hpp"
#include "iclsweep/sweep/scheduler.hpp"
#include "iclsweep/sweep/signals.hpp"
#include "iclsweep/sweep/wire.hpp"

namespace icl {

class ResultSink {
 public:
  virtual ~ResultSink() = default;
  // Makes the result durable before returning (a point reported done is never lost).
  virtual void commit(const wire::Result& result) = 0;
  // Makes several results durable together (one commit step for all of them, see ResultsFile::commit_staged).
  virtual void commit_batch(const std::vector<wire::Result>& results) {
    for (const auto& r : results) commit(r);
  }
};

struct EngineOptions {
  double grace_seconds = 120;      // after a drain signal, wait this long for in-flight points
  double progress_seconds = 0;     // 0 = 2 s on a terminal, 30 s otherwise
  bool show_point_status = false;  // append the locally running point's status text (iclsweep train)
  bool quiet = false;
  // A running point that shows no progress (no progress report with a larger fraction: the heartbeat) for
  // this long is handed out again (once), then recorded as failed.
  // 0 = derived from the cost model: max(min_point_timeout, 10 x cost x seconds per cost unit), where
  // seconds per cost unit is the larger of `seconds_per_cost` and the slowest rate measured so far.
  double point_timeout_seconds = 0;
  double min_point_timeout_seconds = 300;
  double seconds_per_cost = 1.0;  // prior for the auto timeout: costs are core-seconds (ModelKind::cost)
  // Finished results are committed together once the oldest has waited this long (or 256 are waiting):
  // short points are not bound by one commit each; a kill loses at most this much finished work.
  double commit_delay_seconds = 0.25;
  // After a cut-short drain (second signal, or --grace ran out), how long ranks get to drop their point.
  double abandon_wait_seconds = 10;
  // Required: the parameters of the point with this canonical index (called when it is handed out).
  std::function<ParamMap(std::int64_t index)> params_of;
};

struct SweepSummary {
  SweepOutcome outcome = SweepOutcome::Complete;
  std::int64_t done = 0, failed = 0, abandoned = 0;
  std::int64_t timed_out = 0;           // point attempts that ran into the point timeout
  std::int64_t commits = 0;             // commit steps (batches) for done + failed points
  double seconds = 0;
  double coordinator_cpu_seconds = 0;  // main thread CPU time: shows the coordinator does not spin
  // Ranks (or rank 0's worker thread, reported as rank 0) that never answered after a timeout or an
  // abandon: the job cannot end with MPI_Finalize; the caller ends it with MPI_Abort(exit code).
  std::vector<int> unresponsive_ranks;
  bool local_worker_hung = false;       // rank 0's worker thread is stuck in a point: end with _Exit
};

// Rank 0: run `work` (already ordered) to completion or drain; ranks > 0: call serve_as_worker.
SweepSummary coordinate(MPI_Comm comm, std::vector<WorkItem> work, ResultSink& sink, const EngineOptions& options);
void serve_as_worker(MPI_Comm comm);

// Runs one point in this process (any model kind), catching errors into the result.
wire::Result run_point(const wire::Assignment& assignment, int rank, const ProgressFn& progress);

// Broadcasts one int from rank 0 without busy-polling (Open MPI's blocking MPI_Bcast spins a core on the
// workers for as long as rank 0 expands the job and creates the file).
void sleepy_broadcast(MPI_Comm comm, int& value);

std::string host_name();
double unix_time();

}  // namespace icl
