#pragma once
// The coordinator's decisions as a pure state machine: events in, actions out.
//
// The Scheduler owns the hand-out policy (most expensive first, a point that shows no progress for its
// timeout is handed out again once and then recorded as failed), the drain (no new points after the first
// signal; a second signal, or --grace running out, abandons the running points), worker loss and the
// commit batching. It knows nothing of MPI, threads or clocks: every event carries the time, and every
// decision comes back as an Action that the driver (coordinate() in engine.cpp) carries out in order.
// This is what makes the policy testable in virtual time (tests/unit/test_sweep_scheduler.cpp).
//
// Ranks: 0 is the local worker thread on the coordinator's rank; 1..ranks-1 are remote MPI ranks.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "iclsweep/sweep/wire.hpp"

namespace icl {

// A point to run: its canonical index and cost estimate. Its parameters are built when it is handed out
// (EngineOptions::params_of), so a large sweep keeps no ParamMap per point.
struct WorkItem {
  std::int64_t index = -1;
  double cost = 1.0;
};

// Orders work for hand-out: most expensive first, ties by canonical index (deterministic).
void order_by_cost(std::vector<WorkItem>& work);

struct SchedulePolicy {
  double grace_seconds = 120;             // after a drain signal, wait this long for in-flight points
  // A running point without progress (a larger fraction: the heartbeat) for this long is handed out again.
  // 0 = max(min_point_timeout, 10 x cost x seconds per cost unit), the rate being the larger of
  // `seconds_per_cost` and the slowest measured so far.
  double point_timeout_seconds = 0;
  double min_point_timeout_seconds = 300;
  double seconds_per_cost = 1.0;  // costs are core-seconds (ModelKind::cost)
  double commit_delay_seconds = 0.25;     // commit once the oldest finished result waited this long...
  std::size_t max_batch = 256;            // ...or this many are waiting
  double abandon_wait_seconds = 10;       // after abandoning, how long ranks get to drop their point
  int max_attempts = 2;                   // a point that times out this often is recorded as failed
  double stall_seconds = 1.0;             // a longer gap between turns: the coordinator itself stalled
  double final_wait_seconds = 30;         // ranks that never asked for work, once nothing is left: lost
};

struct SchedulerAction {
  enum class Kind {
    Assign,              // hand point `index` to `rank` (rank 0: the local worker thread)
    Stop,                // remote `rank`: no more work
    Abandon,             // `rank` drops its running point (rank 0: the local worker thread)
    ReplaceLocalWorker,  // rank 0's point timed out: retire its worker (it may be stuck for good), start a fresh one
    Commit,              // make `results` durable together (the counts already include them)
    Notice,              // one line for the log: `text`
  };
  Kind kind = Kind::Notice;
  int rank = -1;
  std::int64_t index = -1;
  std::vector<wire::Result> results;
  std::string text;
};

enum class SweepOutcome { Complete, CompleteWithFailures, Drained };

struct ScheduleCounts {
  std::int64_t done = 0, failed = 0, abandoned = 0;
  std::int64_t timed_out = 0;  // point attempts that ran into the point timeout
  std::int64_t commits = 0;    // commit steps (batches) for done + failed points
};

class Scheduler {
 public:
  // `work` is already in hand-out order (order_by_cost); `ranks` counts rank 0; `host` (the coordinator's)
  // is named in the result of a point recorded as failed for a timeout.
  Scheduler(std::vector<WorkItem> work, int ranks, const SchedulePolicy& policy, double now, std::string host = "");

  // One turn of the coordinator's loop calls, in this order:
  //   begin_turn, then on_ready / on_result / on_progress per message, on_local_outcome,
  //   on_local_progress (while the local worker is busy), end_turn.
  // first_signal: the first drain signal (0 = none); signal_count: drain requests so far.
  void begin_turn(double now, int first_signal, int signal_count);
  void on_ready(int rank, double now);  // first request, or the rank dropped its point after Abandon
  void on_result(int rank, wire::Result result, double now);
  void on_progress(int rank, std::int64_t index, double fraction, double now);
  void on_local_outcome(std::int64_t index, bool abandoned, wire::Result result, double now);
  void on_local_progress(std::int64_t index, double fraction, double now);
  // Timeouts, parked ranks, commits, the end. `wall_now` (unix seconds) stamps points recorded as failed
  // for a timeout. Returns true when the sweep is over (then call finish()).
  bool end_turn(double now, double wall_now);
  void finish();  // commits what is left; fixes the outcome and the unresponsive ranks

  // What the driver carries out, in order. Calls append; this empties the list.
  std::vector<SchedulerAction> take_actions();

  const ScheduleCounts& counts() const { return counts_; }
  SweepOutcome outcome() const;
  std::vector<int> unresponsive_ranks() const;  // remote ranks given up on (timed out or never answered)
  bool draining() const { return drain_started_.has_value(); }
  std::size_t running() const { return in_flight_.size(); }
  std::int64_t total_points() const { return static_cast<std::int64_t>(items_.size()); }
  double total_cost() const { return total_cost_; }
  // Cost of finished points plus the done fraction of running ones (for the ETA). Rank 0's fraction is
  // read live from its thread: pass it when the local worker is busy with `local_index`.
  double completed_cost(std::optional<std::pair<std::int64_t, double>> local_progress) const;

 private:
  struct Running {
    int rank;
    double cost;
    double alive;  // time of the hand-out or the last progress; moved forward over coordinator stalls
    int attempt;
    double fraction = 0;
  };
  enum class Rank { Active, Idle, Stopped, Lost };  // Idle: parked until a point is handed out again

  double timeout_for(const Running& r) const;
  std::optional<std::int64_t> next_point(int rank, double now);
  void feed_remote(int rank, double now);
  void stop_remote(int rank);
  void accept(wire::Result r, double now);
  void commit_batch();
  void check_timeouts(double now, double wall_now);
  void start_abandon(const char* why, double now);
  bool remote_waiting() const;
  void notice(std::string text);
  void act(SchedulerAction::Kind kind, int rank, std::int64_t index = -1);
  Rank& state(int rank) { return rank_state_[static_cast<std::size_t>(rank)]; }

  SchedulePolicy policy_;
  int ranks_;
  std::string host_;
  double total_cost_ = 0;
  std::map<std::int64_t, WorkItem> items_;  // index -> point, kept for hand-out again after a timeout
  std::deque<std::int64_t> queue_;
  std::map<std::int64_t, Running> in_flight_;          // the current attempt of every running point
  std::map<std::int64_t, double> fractions_;           // index -> progress of a running remote point
  std::map<std::int64_t, std::vector<int>> tried_on_;  // index -> ranks of attempts that timed out
  std::map<std::int64_t, int> attempts_;
  std::set<std::int64_t> finished_;                    // committed, or waiting in the commit batch
  std::vector<Rank> rank_state_;
  std::vector<std::int64_t> holding_;                  // point a remote rank runs
  bool local_busy_ = false;                            // rank 0's worker has a point (until its outcome)
  double done_cost_ = 0;
  double seconds_per_cost_;
  double last_tick_;
  std::optional<double> drain_started_, abandon_started_, nothing_left_since_;
  int drain_signal_ = 0;
  std::vector<wire::Result> batch_;
  double batch_since_ = 0;
  ScheduleCounts counts_;
  std::vector<SchedulerAction> actions_;
};

}  // namespace icl
