#include "iclsweep/sweep/engine.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <new>
#include <optional>
#include <utility>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/timing.hpp"
#include "iclsweep/sweep/model_kinds.hpp"
#include "iclsweep/sweep/progress_line.hpp"
#include "iclsweep/sweep/scheduler.hpp"
#include "iclsweep/sweep/signals.hpp"
#include "local_worker.hpp"
#include "mpi_transport.hpp"

namespace icl {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

SchedulePolicy policy_of(const EngineOptions& opt) {
  SchedulePolicy p;
  p.grace_seconds = opt.grace_seconds;
  p.point_timeout_seconds = opt.point_timeout_seconds;
  p.min_point_timeout_seconds = opt.min_point_timeout_seconds;
  p.seconds_per_cost = opt.seconds_per_cost;
  p.commit_delay_seconds = opt.commit_delay_seconds;
  p.abandon_wait_seconds = opt.abandon_wait_seconds;
  return p;
}

}  // namespace

std::string host_name() {
  char buf[256] = {0};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

double unix_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

wire::Result run_point(const wire::Assignment& a, int rank, const ProgressFn& progress) {
  wire::Result r;
  r.index = a.index;
  r.rank = rank;
  r.host = host_name();
  r.start_time = unix_time();
  const double cpu_start = thread_cpu_seconds();
  try {
    const auto& kind = model_kind(a.params.get_string("run.model_kind"));
    r.record = kind.run(a.params, progress);
    r.ok = true;
  } catch (const std::bad_alloc&) {
    // The rank's memory ran out (the kernel's limit or ulimit -v): say so, with the estimate, not "std::bad_alloc".
    r.ok = false;
    r.record = {};
    double need = 0;
    try {
      need = model_kind(a.params.get_string("run.model_kind")).memory_bytes(a.params);
    } catch (...) {
    }
    char need_text[96] = "";
    if (need > 0) std::snprintf(need_text, sizeof need_text, " while this point needs ~%.3g GB by the estimate", need / 1e9);
    r.error = "out of memory on " + r.host + " (std::bad_alloc)" + need_text +
              ": give each rank more memory (Slurm: --mem-per-cpu) or make the point smaller (model size, batch size)";
  } catch (const std::exception& e) {
    r.ok = false;
    r.error = e.what();
    r.record = {};
  }
  r.end_time = unix_time();
  r.cpu_time = thread_cpu_seconds() - cpu_start;
  return r;
}

namespace {

// Rank 0's hands: carries out the scheduler's actions, in order, on the remote ranks, the local worker
// thread, the sink and the log.
class ActionRunner {
 public:
  ActionRunner(CoordinatorLink& link, ResultSink& sink, const EngineOptions& opt, const char* nl)
      : link_(link), sink_(sink), opt_(opt), nl_(nl), local_(std::make_unique<LocalWorker>()) {}

  void carry_out(std::vector<SchedulerAction> actions) {
    for (auto& action : actions) {
      switch (action.kind) {
        case SchedulerAction::Kind::Assign: {
          wire::Assignment a{action.index, opt_.params_of(action.index)};
          if (action.rank == 0)
            local_->assign(std::move(a));
          else
            link_.assign(action.rank, a);
          break;
        }
        case SchedulerAction::Kind::Stop: link_.stop(action.rank); break;
        case SchedulerAction::Kind::Abandon:
          if (action.rank == 0)
            local_->abandon();
          else
            link_.abandon(action.rank);
          break;
        case SchedulerAction::Kind::ReplaceLocalWorker:
          retired_.push_back(LocalWorker::retire(std::move(local_)));
          local_ = std::make_unique<LocalWorker>();
          break;
        case SchedulerAction::Kind::Commit: sink_.commit_batch(action.results); break;  // durable before we go on
        case SchedulerAction::Kind::Notice:
          if (!opt_.quiet) std::fprintf(stderr, "%s%s\n", nl_, action.text.c_str());
          break;
      }
    }
  }

  LocalWorker& local() { return *local_; }
  // At the end: a local worker still inside a point is retired too. True when a retired worker's thread is
  // still stuck in a point (the process must end with _Exit: its thread cannot be joined).
  bool local_worker_hung() {
    if (local_->busy()) retired_.push_back(LocalWorker::retire(std::move(local_)));
    bool hung = false;
    for (const auto* w : retired_) hung = hung || w->busy();
    return hung;
  }
  const LocalWorker* local_or_null() const { return local_.get(); }

 private:
  CoordinatorLink& link_;
  ResultSink& sink_;
  const EngineOptions& opt_;
  const char* nl_;
  std::unique_ptr<LocalWorker> local_;
  std::vector<LocalWorker*> retired_;  // timed-out local workers, told to abandon; possibly stuck for good
};

// The progress line on stderr: rewritten in place on a terminal, one line each time otherwise.
void print_progress(const Scheduler& scheduler, const LocalWorker* local, double elapsed, bool show_point_status,
                    bool tty, bool final_line) {
  const bool local_busy = local && local->busy();
  ProgressSnapshot s;
  s.done = scheduler.counts().done;
  s.failed = scheduler.counts().failed;
  s.total_points = scheduler.total_points();
  s.running = scheduler.running();
  s.elapsed_seconds = elapsed;
  s.completed_cost = scheduler.completed_cost(
      local_busy ? std::optional(std::pair(local->current(), local->fraction())) : std::nullopt);
  s.total_cost = scheduler.total_cost();
  s.draining = scheduler.draining();
  if (show_point_status && local_busy) s.point_status = local->status_text();
  const bool overwrite = tty && !final_line;
  std::fprintf(stderr, "%s%s%s", overwrite ? "\r" : "", progress_line(s).c_str(), overwrite ? "   " : "\n");
  std::fflush(stderr);
}

}  // namespace

// The driver: feeds the Scheduler what happened (signals, MPI messages, the local worker) once per loop turn
// and has its actions carried out. All decisions are the Scheduler's (scheduler.hpp); this function only
// owns the clocks, the order of a turn and the progress line.
SweepSummary coordinate(MPI_Comm comm, std::vector<WorkItem> work, ResultSink& sink, const EngineOptions& opt) {
  if (!opt.params_of) throw Error("coordinate: EngineOptions::params_of is not set");
  CoordinatorLink link(comm);
  const double t0 = now_seconds(), cpu0 = thread_cpu_seconds();
  const bool tty = isatty(STDERR_FILENO);
  const double progress_every = opt.progress_seconds > 0 ? opt.progress_seconds : (tty ? 2.0 : 30.0);
  const SchedulePolicy policy = policy_of(opt);
  Scheduler scheduler(std::move(work), link.size(), policy, t0, host_name());
  ActionRunner runner(link, sink, opt, /*nl=*/tty ? "\n" : "");  // on a terminal, a log line leaves the progress line first
  auto carry_out = [&] { runner.carry_out(scheduler.take_actions()); };

  double last_print = t0;
  while (true) {
    double now = now_seconds();
    scheduler.begin_turn(now, drain_signal(), drain_signal_count());
    carry_out();

    // Serve every pending MPI message.
    bool got_message = false;
    while (link.size() > 1) {
      auto m = link.poll();
      if (!m) break;
      got_message = true;
      switch (m->kind) {
        case WorkerMessage::Kind::Ready: scheduler.on_ready(m->rank, now_seconds()); break;
        case WorkerMessage::Kind::Result: scheduler.on_result(m->rank, std::move(m->result), now_seconds()); break;
        case WorkerMessage::Kind::Progress: scheduler.on_progress(m->rank, m->index, m->fraction, now_seconds()); break;
        case WorkerMessage::Kind::Other: break;
      }
      carry_out();
    }
    // Collect the local outcome, sleeping briefly when idle (this is the coordinator's only wait).
    if (auto out = runner.local().wait_outcome(std::chrono::milliseconds(got_message ? 0 : 2))) {
      scheduler.on_local_outcome(out->index, out->abandoned, std::move(out->result), now_seconds());
      carry_out();
    }

    now = now_seconds();
    if (runner.local().busy()) scheduler.on_local_progress(runner.local().current(), runner.local().fraction(), now);
    const bool over = scheduler.end_turn(now, unix_time());
    carry_out();
    if (over) break;
    if (now - last_print >= progress_every) {
      if (!opt.quiet) print_progress(scheduler, runner.local_or_null(), now_seconds() - t0, opt.show_point_status, tty, false);
      last_print = now;
    }
  }
  scheduler.finish();
  carry_out();

  SweepSummary summary;
  const ScheduleCounts& counts = scheduler.counts();
  summary.done = counts.done;
  summary.failed = counts.failed;
  summary.abandoned = counts.abandoned;
  summary.timed_out = counts.timed_out;
  summary.commits = counts.commits;
  summary.unresponsive_ranks = scheduler.unresponsive_ranks();
  if (!opt.quiet) print_progress(scheduler, runner.local_or_null(), now_seconds() - t0, opt.show_point_status, tty, true);
  summary.local_worker_hung = runner.local_worker_hung();
  summary.seconds = now_seconds() - t0;
  summary.coordinator_cpu_seconds = thread_cpu_seconds() - cpu0;
  summary.outcome = scheduler.outcome();
  if (summary.unresponsive_ranks.empty() && !sleepy_barrier(comm, policy.final_wait_seconds)) {
    // A rank stopped (SIGSTOP) while idle never reaches the barrier.
    for (int r = 1; r < link.size(); ++r) summary.unresponsive_ranks.push_back(r);
  }
  return summary;
}

}  // namespace icl
