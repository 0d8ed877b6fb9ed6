#pragma once
// Internal to the sweep room: the worker thread on rank 0, and the exception both kinds of worker use to
// drop a point the coordinator gave up (engine.cpp, mpi_transport.cpp).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "iclsweep/sweep/wire.hpp"

namespace icl {

// Thrown out of a point's progress callback when the coordinator gives the point up (a cut-short
// drain). Deliberately not a std::exception: run_point must not record it as the point's failure.
struct PointAbandoned {};

// The local worker thread on rank 0: runs assignments handed over in-process, never calls MPI, so rank 0
// trains too while its main thread coordinates. A worker whose point timed out is retired (its thread
// may be stuck for good) and replaced.
class LocalWorker {
 public:
  struct Outcome {
    bool abandoned = false;  // the point was dropped on request: no result
    std::int64_t index = -1;
    wire::Result result;
  };

  LocalWorker();
  ~LocalWorker();
  // Never returns while the thread is inside a point: only for a worker that may be stuck for good.
  // The object is leaked on purpose (its thread still uses it); the process ends around it.
  static LocalWorker* retire(std::unique_ptr<LocalWorker> w);

  bool busy() const { return busy_; }
  std::int64_t current() const { return current_; }
  void assign(wire::Assignment a);
  void abandon() { abandon_ = true; }  // the running point ends at its next progress report
  // Waits up to `timeout` for the outcome of the running point.
  std::optional<Outcome> wait_outcome(std::chrono::milliseconds timeout);
  double fraction() const { return fraction_.load(); }
  // The running point's own status text ("step 1200/5000 loss 0.41 | eval @ step 1000: ...").
  std::string status_text() const;

 private:
  void loop();

  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  std::optional<wire::Assignment> pending_;
  std::optional<Outcome> outcome_;
  std::atomic<bool> busy_{false}, abandon_{false};
  std::atomic<std::int64_t> current_{-1};
  std::atomic<double> fraction_{0};
  mutable std::mutex text_m_;
  std::string text_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace icl
