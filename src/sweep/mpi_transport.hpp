#pragma once
// Internal to the sweep room: the coordinator/worker protocol over MPI. Only the main thread of a rank
// calls these (MPI_THREAD_FUNNELED). The worker side is serve_as_worker (engine.hpp).
#include <mpi.h>

#include <cstdint>
#include <optional>

#include "iclsweep/sweep/wire.hpp"

namespace icl {

// What a worker rank said.
struct WorkerMessage {
  enum class Kind {
    Ready,     // idle: send work (first request, or the rank dropped its point after an abandon)
    Result,    // `result`; the rank is idle afterwards
    Progress,  // point `index` is `fraction` done (the heartbeat)
    Other,     // anything else (ignored)
  };
  Kind kind = Kind::Other;
  int rank = -1;
  wire::Result result;
  std::int64_t index = -1;
  double fraction = 0;
};

// Rank 0's end of the protocol: receives without waiting, sends assignments, stops and abandons.
class CoordinatorLink {
 public:
  explicit CoordinatorLink(MPI_Comm comm);
  int size() const { return size_; }  // ranks in the job, rank 0 included
  std::optional<WorkerMessage> poll();  // the next pending message, if any (MPI_Iprobe: never blocks)
  void assign(int rank, const wire::Assignment& a);
  void stop(int rank);
  void abandon(int rank);

 private:
  MPI_Comm comm_;
  int size_ = 1;
};

// Waits for all ranks without spinning a core: Open MPI's blocking collectives busy-poll, which would
// steal a core from a rank still training. Returns false when `deadline_seconds` (> 0) passed first
// (a rank is stopped or hung); the caller then cannot finalize and ends the job with MPI_Abort.
bool sleepy_barrier(MPI_Comm comm, double deadline_seconds = 0);

}  // namespace icl
