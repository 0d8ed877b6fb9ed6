#pragma once
// The sweep engine: hands grid points out to MPI ranks dynamically (most expensive first), runs them,
// and passes every result to one ResultSink on rank 0 (the results file).
//
// Rank 0's main thread is the coordinator and the only writer; it also runs a local worker thread,
// so N ranks keep N cores training and the coordinator itself sleeps between messages instead of
// spinning in MPI (it polls with MPI_Iprobe and waits on a condition variable in between).
// Only the main thread calls MPI (MPI_THREAD_FUNNELED).
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "iclsweep/core/params.hpp"
#include "iclsweep/core/model_kind.hpp"
#include "iclsweep/sweep/wire.hpp"

namespace icl {

struct WorkItem {
  std::int64_t index = -1;
  std::string id;
  ParamMap params;
  double cost = 1.0;
};

class ResultSink {
 public:
  virtual ~ResultSink() = default;
  // Makes the result durable before returning (a point reported done is never lost).
  virtual void commit(const wire::Result& result) = 0;
};

struct EngineOptions {
  double grace_seconds = 120;      // after a drain signal, wait this long for in-flight points
  double progress_seconds = 0;     // 0 = 2 s on a terminal, 30 s otherwise
  bool show_point_status = false;  // append the locally running point's status text (iclsweep train)
  bool quiet = false;
};

enum class SweepOutcome { Complete, CompleteWithFailures, Drained };

struct SweepSummary {
  SweepOutcome outcome = SweepOutcome::Complete;
  std::int64_t done = 0, failed = 0, abandoned = 0;
  double seconds = 0;
  double coordinator_cpu_seconds = 0;  // main thread CPU time: shows the coordinator does not spin
};

// Rank 0: run `work` (already ordered) to completion or drain; ranks > 0: call serve_as_worker.
SweepSummary coordinate(MPI_Comm comm, std::vector<WorkItem> work, ResultSink& sink, const EngineOptions& options);
void serve_as_worker(MPI_Comm comm);

// Runs one point in this process (any model kind), catching errors into the result.
wire::Result run_point(const wire::Assignment& assignment, int rank, const ProgressFn& progress);

// Installs SIGTERM/SIGUSR1/SIGINT handlers that request a drain; drain_requested() reads the flag.
void install_drain_handlers();
bool drain_requested();
int drain_signal();

// Orders work for hand-out: most expensive first, ties by canonical index (deterministic).
void order_by_cost(std::vector<WorkItem>& work);

std::string host_name();
double unix_time();

}  // namespace icl
