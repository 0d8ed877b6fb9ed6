#include "iclsweep/sweep/engine.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <new>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include "iclsweep/core/error.hpp"
#include "iclsweep/sweep/model_kinds.hpp"

namespace icl {
namespace {

// MPI tags of the coordinator/worker protocol.
constexpr int kTagReady = 1;     // worker -> coordinator: idle, send work (empty message)
constexpr int kTagAssign = 2;    // coordinator -> worker: wire::Assignment
constexpr int kTagResult = 3;    // worker -> coordinator: wire::Result (the worker is idle afterwards)
constexpr int kTagProgress = 4;  // worker -> coordinator: {index, fraction} as two doubles
constexpr int kTagStop = 5;      // coordinator -> worker: no more work
constexpr int kTagAbandon = 6;   // coordinator -> worker: drop the running point, answer kTagReady

// Written by the handler, read by the main loop. Lock-free atomics: safe in a handler, and two handlers
// running at once on different threads (MPI's progress threads can take a signal too) cannot both
// count as the first signal.
std::atomic<int> g_drain_signal{0};
std::atomic<int> g_drain_signal_count{0};
std::atomic<std::int64_t> g_first_drain_signal_ns{0};
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<std::int64_t>::is_always_lock_free,
              "the drain signal handler needs lock-free atomics");

// One cancellation often reaches a rank by several paths within milliseconds: Slurm's scancel signals
// every process of the job (the rank itself, and srun, which forwards it again), Ctrl-C reaches srun and
// the ranks. Signals within this window of the first are that one request; a later one is a second
// request and cuts the drain short.
constexpr std::int64_t kSameRequestNs = 1'000'000'000;

extern "C" void on_drain_signal(int sig) {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // async-signal-safe (POSIX.1-2008)
  const std::int64_t now = std::max<std::int64_t>(1, std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec);
  std::int64_t first = 0;
  if (g_first_drain_signal_ns.compare_exchange_strong(first, now)) {
    g_drain_signal = sig;
    g_drain_signal_count.fetch_add(1);
  } else if (now - first >= kSameRequestNs) {
    g_drain_signal_count.fetch_add(1);
  }
}

// Thrown out of a point's progress callback when the coordinator gives the point up (a cut-short
// drain). Deliberately not a std::exception: run_point must not record it as the point's failure.
struct PointAbandoned {};

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double thread_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

void send_bytes(MPI_Comm comm, int dest, int tag, const std::vector<char>& bytes) {
  MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_CHAR, dest, tag, comm);
}

std::vector<char> recv_bytes(MPI_Comm comm, const MPI_Status& probed) {
  int count = 0;
  MPI_Get_count(&probed, MPI_CHAR, &count);
  std::vector<char> bytes(static_cast<std::size_t>(count));
  MPI_Recv(bytes.data(), count, MPI_CHAR, probed.MPI_SOURCE, probed.MPI_TAG, comm, MPI_STATUS_IGNORE);
  return bytes;
}

// Waits for all ranks without spinning a core: Open MPI's blocking collectives busy-poll, which would
// steal a core from a rank still training. Returns false when `deadline_seconds` (> 0) passed first
// (a rank is stopped or hung); the caller then cannot finalize and ends the job with MPI_Abort.
bool sleepy_barrier(MPI_Comm comm, double deadline_seconds = 0) {
  MPI_Request req;
  MPI_Ibarrier(comm, &req);
  const double t0 = now_seconds();
  int flag = 0;
  while (true) {
    MPI_Test(&req, &flag, MPI_STATUS_IGNORE);
    if (flag) return true;
    if (deadline_seconds > 0 && now_seconds() - t0 > deadline_seconds) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// The local worker thread on rank 0: runs assignments handed over in-process, never calls MPI.
// A worker whose point timed out is retired (its thread may be stuck for good) and replaced.
class LocalWorker {
 public:
  struct Outcome {
    bool abandoned = false;  // the point was dropped on request: no result
    std::int64_t index = -1;
    wire::Result result;
  };

  LocalWorker() : thread_([this] { loop(); }) {}
  ~LocalWorker() {
    abandon();  // a running point ends at its next progress report
    {
      std::lock_guard<std::mutex> g(m_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  // Never returns while the thread is inside a point: only for a worker that may be stuck for good.
  // The object is leaked on purpose (its thread still uses it); the process ends around it.
  static LocalWorker* retire(std::unique_ptr<LocalWorker> w) {
    w->abandon();
    w->thread_.detach();
    return w.release();  // intentionally leaked, see above
  }
  bool busy() const { return busy_; }
  std::int64_t current() const { return current_; }
  void assign(wire::Assignment a) {
    {
      std::lock_guard<std::mutex> g(m_);
      current_ = a.index;
      pending_ = std::move(a);
      busy_ = true;
      abandon_ = false;
      fraction_ = 0;
    }
    cv_.notify_all();
  }
  void abandon() { abandon_ = true; }
  // Waits up to `timeout` for the outcome of the running point.
  std::optional<Outcome> wait_outcome(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lk(m_);
    if (timeout.count() > 0) done_cv_.wait_for(lk, timeout, [this] { return outcome_.has_value(); });
    std::optional<Outcome> r;
    r.swap(outcome_);
    return r;
  }
  double fraction() const { return fraction_.load(); }
  // The running point's own status text ("step 1200/5000 loss 0.41 | eval @ step 1000: ...").
  std::string status_text() const {
    std::lock_guard<std::mutex> g(text_m_);
    return text_;
  }

 private:
  void loop() {
    while (true) {
      wire::Assignment a;
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [this] { return stop_ || pending_.has_value(); });
        if (stop_ && !pending_) return;
        a = std::move(*pending_);
        pending_.reset();
      }
      Outcome out;
      out.index = a.index;
      try {
        out.result = run_point(a, 0, [this](double f, const std::string& text) {
          if (abandon_) throw PointAbandoned{};
          fraction_ = f;
          std::lock_guard<std::mutex> g(text_m_);
          text_ = text;
        });
      } catch (const PointAbandoned&) {
        out.abandoned = true;
      }
      {
        std::lock_guard<std::mutex> g(m_);
        outcome_ = std::move(out);
        busy_ = false;
      }
      done_cv_.notify_all();
    }
  }

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

}  // namespace

std::string format_duration(double s) {
  if (!(s >= 0) || s > 1e8) return "?";
  char buf[64];
  const long t = static_cast<long>(s + 0.5);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

void install_drain_handlers() {
  struct sigaction sa{};
  sa.sa_handler = on_drain_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGUSR1, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}
bool drain_requested() { return g_drain_signal != 0; }
int drain_signal() { return g_drain_signal; }
int drain_signal_count() { return g_drain_signal_count; }

void sleepy_broadcast(MPI_Comm comm, int& value) {
  MPI_Request req;
  MPI_Ibcast(&value, 1, MPI_INT, 0, comm, &req);
  int flag = 0;
  while (true) {
    MPI_Test(&req, &flag, MPI_STATUS_IGNORE);
    if (flag) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::string host_name() {
  char buf[256] = {0};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

double unix_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void order_by_cost(std::vector<WorkItem>& work) {
  std::stable_sort(work.begin(), work.end(), [](const WorkItem& a, const WorkItem& b) {
    if (a.cost != b.cost) return a.cost > b.cost;
    return a.index < b.index;
  });
}

wire::Result run_point(const wire::Assignment& a, int rank, const ProgressFn& progress) {
  wire::Result r;
  r.index = a.index;
  r.rank = rank;
  r.host = host_name();
  r.start_time = unix_time();
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
  return r;
}

SweepSummary coordinate(MPI_Comm comm, std::vector<WorkItem> work, ResultSink& sink, const EngineOptions& opt) {
  int size = 1;
  MPI_Comm_size(comm, &size);
  const double t0 = now_seconds(), cpu0 = thread_cpu_seconds();
  const bool tty = isatty(STDERR_FILENO);
  const char* nl = tty ? "\n" : "";
  const double progress_every = opt.progress_seconds > 0 ? opt.progress_seconds : (tty ? 2.0 : 30.0);
  constexpr int kMaxAttempts = 2;              // a point that times out twice is recorded as failed
  constexpr std::size_t kMaxBatch = 256;        // results per commit step
  constexpr double kStallSeconds = 1.0;         // a longer gap between loop turns: the coordinator itself stalled
  constexpr double kFinalBarrierSeconds = 30;   // idle ranks reach the final barrier at once; longer = stopped

  if (!opt.params_of) throw Error("coordinate: EngineOptions::params_of is not set");
  double total_cost = 0;
  std::map<std::int64_t, WorkItem> items;  // index -> point, kept for hand-out again after a timeout
  std::deque<std::int64_t> queue;
  for (auto& w : work) {
    total_cost += w.cost;
    queue.push_back(w.index);
    items.emplace(w.index, std::move(w));
  }
  const auto total_points = static_cast<std::int64_t>(items.size());

  struct Running {
    int rank;
    double cost;
    double alive;  // steady seconds of the hand-out or the last progress; moved forward over coordinator stalls
    int attempt;
    double fraction = 0;
  };
  std::map<std::int64_t, Running> in_flight;                 // the current attempt of every running point
  std::map<std::int64_t, double> fractions;                  // index -> progress of a running remote point
  std::map<std::int64_t, std::vector<int>> tried_on;         // index -> ranks of attempts that timed out
  std::map<std::int64_t, int> attempts;
  std::set<std::int64_t> finished;                           // committed, or waiting in the commit batch
  enum class Rank { Active, Idle, Stopped, Lost };           // Idle: parked until a point is handed out again
  std::vector<Rank> rank_state(static_cast<std::size_t>(size), Rank::Active);
  std::vector<std::int64_t> holding(static_cast<std::size_t>(size), -1);  // point a remote rank runs
  SweepSummary summary;
  double done_cost = 0, last_print = t0, last_tick = t0;
  double seconds_per_cost = opt.seconds_per_cost > 0 ? opt.seconds_per_cost : 1.0;
  std::optional<double> drain_started, abandon_started, nothing_left_since;
  std::vector<wire::Result> batch;
  double batch_since = 0;

  auto local = std::make_unique<LocalWorker>();
  std::vector<LocalWorker*> retired;  // timed-out local workers, told to abandon; possibly stuck for good

  auto timeout_for = [&](const Running& r) {
    if (opt.point_timeout_seconds > 0) return opt.point_timeout_seconds;
    return std::max(opt.min_point_timeout_seconds, 10.0 * r.cost * seconds_per_cost);
  };

  auto print_progress = [&](bool final_line) {
    if (opt.quiet) return;
    const double el = now_seconds() - t0;
    double partial = done_cost;
    for (const auto& [idx, f] : fractions)
      if (const auto it = in_flight.find(idx); it != in_flight.end()) partial += f * it->second.cost;
    for (const auto& [idx, run] : in_flight)
      if (run.rank == 0 && local && local->busy() && local->current() == idx) partial += local->fraction() * run.cost;
    const double rate = el > 0 ? (summary.done + summary.failed) / el * 60.0 : 0.0;
    const double eta = partial > 0 ? (total_cost - partial) / (partial / el) : -1;
    // One point (iclsweep train): its own step, loss and last evaluation, as W&B / Lightning users expect.
    const std::string point = opt.show_point_status && local && local->busy() ? " | " + local->status_text() : "";
    std::fprintf(stderr, "%s[sweep] %lld/%lld points done, %lld failed, %zu running | %.2f points/min | elapsed %s | ETA %s%s%s",
                 tty && !final_line ? "\r" : "", static_cast<long long>(summary.done + summary.failed),
                 static_cast<long long>(total_points), static_cast<long long>(summary.failed), in_flight.size(), rate,
                 format_duration(el).c_str(), drain_started ? "draining" : format_duration(eta).c_str(), point.c_str(),
                 tty && !final_line ? "   " : "\n");
    std::fflush(stderr);
  };

  auto next_assignment = [&](int rank) -> std::optional<wire::Assignment> {
    if (drain_started) return std::nullopt;
    while (!queue.empty()) {
      const std::int64_t idx = queue.front();
      queue.pop_front();
      if (finished.count(idx) || in_flight.count(idx)) continue;  // a late result arrived meanwhile
      const WorkItem& w = items.at(idx);
      in_flight[idx] = Running{rank, w.cost, now_seconds(), ++attempts[idx], 0.0};
      return wire::Assignment{idx, opt.params_of(idx)};
    }
    return std::nullopt;
  };

  auto stop_remote = [&](int rank) {
    MPI_Send(nullptr, 0, MPI_CHAR, rank, kTagStop, comm);
    rank_state[static_cast<std::size_t>(rank)] = Rank::Stopped;
  };

  // An idle remote rank: work if there is any; parked while running points may still time out and be
  // handed out again; stopped otherwise.
  auto feed_remote = [&](int rank) {
    holding[static_cast<std::size_t>(rank)] = -1;
    if (auto a = next_assignment(rank)) {
      holding[static_cast<std::size_t>(rank)] = a->index;
      rank_state[static_cast<std::size_t>(rank)] = Rank::Active;
      send_bytes(comm, rank, kTagAssign, wire::encode(*a));
    } else if (!drain_started && !in_flight.empty()) {
      rank_state[static_cast<std::size_t>(rank)] = Rank::Idle;
    } else {
      stop_remote(rank);
    }
  };

  auto commit_batch = [&] {
    if (batch.empty()) return;
    sink.commit_batch(batch);  // durable before we count them
    ++summary.commits;
    for (const auto& r : batch) {
      if (r.ok)
        ++summary.done;
      else
        ++summary.failed;
      if (!r.ok && !opt.quiet)
        std::fprintf(stderr, "%s[sweep] point %lld failed on rank %d: %s\n", nl, static_cast<long long>(r.index), r.rank,
                     r.error.c_str());
    }
    batch.clear();
  };

  // First result of a point wins; a late copy (from a rank that timed out, or the second attempt after a
  // late first one) is dropped: the numbers are the same, and the file holds each point once.
  auto accept = [&](wire::Result r) {
    if (finished.count(r.index) || !items.count(r.index)) {
      if (!opt.quiet)
        std::fprintf(stderr, "%s[sweep] late result of point %lld from rank %d ignored: already recorded\n", nl,
                     static_cast<long long>(r.index), r.rank);
      return;
    }
    finished.insert(r.index);
    const double cost = items.at(r.index).cost;
    if (r.ok && cost > 0 && r.end_time > r.start_time)
      seconds_per_cost = std::max(seconds_per_cost, (r.end_time - r.start_time) / cost);
    done_cost += cost;
    in_flight.erase(r.index);
    fractions.erase(r.index);
    if (batch.empty()) batch_since = now_seconds();
    batch.push_back(std::move(r));
  };

  // A point without progress (or a result) within its timeout: the rank (or rank 0's thread) is given up on, and the
  // point goes back to the front of the queue, or is recorded as failed after kMaxAttempts.
  auto check_timeouts = [&](double now) {
    std::vector<std::int64_t> expired;
    for (const auto& [idx, run] : in_flight)
      if (now - run.alive > timeout_for(run)) expired.push_back(idx);
    for (const std::int64_t idx : expired) {
      const Running run = in_flight.at(idx);
      const double limit = timeout_for(run);
      in_flight.erase(idx);
      fractions.erase(idx);
      ++summary.timed_out;
      tried_on[idx].push_back(run.rank);
      if (run.rank == 0) {
        retired.push_back(LocalWorker::retire(std::move(local)));
        local = std::make_unique<LocalWorker>();
      } else {
        rank_state[static_cast<std::size_t>(run.rank)] = Rank::Lost;
      }
      const bool give_up = run.attempt >= kMaxAttempts;
      if (!opt.quiet)
        std::fprintf(stderr,
                     "%s[sweep] point %lld: no progress from rank %d for %.0f s (point timeout; the rank is stopped "
                     "or hung): %s\n",
                     nl, static_cast<long long>(idx), run.rank, limit,
                     give_up ? "recorded as failed" : drain_started ? "left pending" : "handed out again");
      if (give_up) {
        std::string ranks;
        for (const int r : tried_on[idx]) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
        char msg[160];
        std::snprintf(msg, sizeof msg, "timed out: no progress for %.0f s, %d attempts (ranks %s); ", limit,
                      run.attempt, ranks.c_str());
        wire::Result r;
        r.index = idx;
        r.ok = false;
        r.rank = run.rank;
        r.host = host_name();
        r.start_time = r.end_time = unix_time();
        r.error = std::string(msg) +
                  "a worker hung or was stopped, or the point is slower than the timeout: rerun with --retry-failed "
                  "(and a larger --point-timeout if it is just slow)";
        accept(std::move(r));
      } else if (!drain_started) {
        queue.push_front(idx);
      }
    }
  };

  auto start_abandon = [&](const char* why) {
    abandon_started = now_seconds();
    summary.abandoned = static_cast<std::int64_t>(in_flight.size());
    if (!opt.quiet && !in_flight.empty())
      std::fprintf(stderr, "%s[sweep] %s: abandoning %zu running point(s); they stay pending\n", nl, why,
                   in_flight.size());
    for (const auto& [idx, run] : in_flight) {
      if (run.rank == 0)
        local->abandon();
      else
        MPI_Send(nullptr, 0, MPI_CHAR, run.rank, kTagAbandon, comm);
    }
  };

  auto remote_waiting = [&] {  // remote ranks we still expect a message from
    for (int r = 1; r < size; ++r)
      if (rank_state[static_cast<std::size_t>(r)] == Rank::Active) return true;
    return false;
  };

  while (true) {
    double now = now_seconds();
    if (now - last_tick > kStallSeconds)  // the coordinator was stopped or starved: do not blame the workers
      for (auto& [idx, run] : in_flight) run.alive += now - last_tick;
    last_tick = now;

    if (drain_requested() && !drain_started) {
      drain_started = now;
      if (!opt.quiet)
        std::fprintf(stderr,
                     "%s[sweep] signal %d: no new points; waiting up to %.0f s for %zu running point(s) (a second "
                     "signal stops at once)\n",
                     nl, drain_signal(), opt.grace_seconds, in_flight.size());
      for (int r = 1; r < size; ++r)
        if (rank_state[static_cast<std::size_t>(r)] == Rank::Idle) stop_remote(r);
    }
    if (drain_started && !abandon_started) {
      if (drain_signal_count() >= 2)
        start_abandon("second signal");
      else if (now - *drain_started > opt.grace_seconds && !in_flight.empty())
        start_abandon("--grace ran out");
    }

    // Keep the local worker busy.
    if (!local->busy() && !abandon_started)
      if (auto a = next_assignment(0)) local->assign(std::move(*a));

    // Serve every pending MPI message.
    bool got_message = false;
    while (size > 1) {
      int flag = 0;
      MPI_Status st;
      MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &flag, &st);
      if (!flag) break;
      got_message = true;
      auto bytes = recv_bytes(comm, st);
      const int src = st.MPI_SOURCE;
      const auto s = static_cast<std::size_t>(src);
      if (st.MPI_TAG == kTagReady) {
        // First request, or the rank dropped its point after kTagAbandon.
        if (const std::int64_t h = holding[s]; h >= 0) {
          const auto it = in_flight.find(h);
          if (it != in_flight.end() && it->second.rank == src) in_flight.erase(it);
          fractions.erase(h);
        }
        feed_remote(src);
      } else if (st.MPI_TAG == kTagResult) {
        if (rank_state[s] == Rank::Lost && !opt.quiet)
          std::fprintf(stderr, "%s[sweep] rank %d answers again\n", nl, src);
        rank_state[s] = Rank::Active;
        auto r = wire::decode_result(bytes);
        const auto it = in_flight.find(r.index);
        const bool current = it != in_flight.end() && it->second.rank == src;
        if (!current && !finished.count(r.index)) {
          // A late first attempt beats the second one still running elsewhere.
          in_flight.erase(r.index);
          fractions.erase(r.index);
        }
        accept(std::move(r));
        if (abandon_started)
          stop_remote(src);
        else
          feed_remote(src);
      } else if (st.MPI_TAG == kTagProgress && bytes.size() == 2 * sizeof(double)) {
        double v[2];
        std::memcpy(v, bytes.data(), sizeof v);
        const auto idx = static_cast<std::int64_t>(v[0]);
        if (const auto it = in_flight.find(idx); it != in_flight.end() && it->second.rank == src) {
          fractions[idx] = v[1];
          if (v[1] > it->second.fraction) {  // a heartbeat: the point moves
            it->second.fraction = v[1];
            it->second.alive = now_seconds();
          }
        }
      }
    }
    // Collect the local outcome, sleeping briefly when idle (this is the coordinator's only wait).
    if (auto out = local->wait_outcome(std::chrono::milliseconds(got_message ? 0 : 2))) {
      const auto it = in_flight.find(out->index);
      const bool current = it != in_flight.end() && it->second.rank == 0;
      if (out->abandoned) {
        if (current) in_flight.erase(it);
      } else {
        if (!current && !finished.count(out->index)) in_flight.erase(out->index);
        accept(std::move(out->result));
      }
    }

    now = now_seconds();
    if (local->busy())
      if (const auto it = in_flight.find(local->current()); it != in_flight.end() && it->second.rank == 0 &&
                                                            local->fraction() > it->second.fraction) {
        it->second.fraction = local->fraction();
        it->second.alive = now;
      }
    check_timeouts(now);
    // Parked ranks take points handed out again.
    for (int r = 1; r < size && !queue.empty() && !drain_started; ++r)
      if (rank_state[static_cast<std::size_t>(r)] == Rank::Idle) feed_remote(r);

    const bool running = !in_flight.empty() || local->busy();
    const bool nothing_left = !running && (queue.empty() || drain_started);
    if (!batch.empty() && (nothing_left || batch.size() >= kMaxBatch || now - batch_since >= opt.commit_delay_seconds))
      commit_batch();
    if (nothing_left) {
      for (int r = 1; r < size; ++r)
        if (rank_state[static_cast<std::size_t>(r)] == Rank::Idle) stop_remote(r);
      if (!remote_waiting()) break;
      // Only ranks that never asked for work are left (stopped before their first message).
      if (!nothing_left_since) nothing_left_since = now;
      if (now - *nothing_left_since > kFinalBarrierSeconds) {
        for (int r = 1; r < size; ++r)
          if (rank_state[static_cast<std::size_t>(r)] == Rank::Active) rank_state[static_cast<std::size_t>(r)] = Rank::Lost;
        break;
      }
    } else {
      nothing_left_since.reset();
    }
    if (abandon_started && now - *abandon_started > opt.abandon_wait_seconds) {
      for (const auto& [idx, run] : in_flight)
        if (run.rank != 0) rank_state[static_cast<std::size_t>(run.rank)] = Rank::Lost;
      in_flight.clear();
      for (int r = 1; r < size; ++r)
        if (rank_state[static_cast<std::size_t>(r)] == Rank::Active) rank_state[static_cast<std::size_t>(r)] = Rank::Lost;
      break;
    }
    if (now - last_print >= progress_every) {
      print_progress(false);
      last_print = now;
    }
  }
  commit_batch();
  for (int r = 1; r < size; ++r)
    if (rank_state[static_cast<std::size_t>(r)] == Rank::Lost) summary.unresponsive_ranks.push_back(r);
  print_progress(true);
  if (local->busy()) retired.push_back(LocalWorker::retire(std::move(local)));
  for (const auto* w : retired) summary.local_worker_hung = summary.local_worker_hung || w->busy();
  summary.seconds = now_seconds() - t0;
  summary.coordinator_cpu_seconds = thread_cpu_seconds() - cpu0;
  const bool unfinished = !queue.empty() || summary.abandoned > 0 || finished.size() < items.size();
  summary.outcome = unfinished ? SweepOutcome::Drained
                    : summary.failed ? SweepOutcome::CompleteWithFailures
                                     : SweepOutcome::Complete;
  if (summary.unresponsive_ranks.empty() && !sleepy_barrier(comm, kFinalBarrierSeconds)) {
    // A rank stopped (SIGSTOP) while idle never reaches the barrier.
    for (int r = 1; r < size; ++r) summary.unresponsive_ranks.push_back(r);
  }
  return summary;
}

void serve_as_worker(MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  MPI_Send(nullptr, 0, MPI_CHAR, 0, kTagReady, comm);
  while (true) {
    MPI_Status st;
    int flag = 0;
    // Poll with a short sleep rather than a spinning blocking receive.
    while (!flag) {
      MPI_Iprobe(0, MPI_ANY_TAG, comm, &flag, &st);
      if (!flag) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    auto bytes = recv_bytes(comm, st);
    if (st.MPI_TAG == kTagStop) break;
    if (st.MPI_TAG != kTagAssign) continue;  // e.g. a kTagAbandon that crossed our result
    const auto a = wire::decode_assignment(bytes);
    double last = 0;
    auto progress = [&](double f, const std::string&) {
      int abandon = 0;
      MPI_Status ast;
      MPI_Iprobe(0, kTagAbandon, comm, &abandon, &ast);
      if (abandon) {
        recv_bytes(comm, ast);
        throw PointAbandoned{};
      }
      const double t = now_seconds();
      if (t - last < 2.0) return;
      last = t;
      const double v[2] = {static_cast<double>(a.index), f};
      MPI_Send(v, static_cast<int>(sizeof v), MPI_CHAR, 0, kTagProgress, comm);
    };
    try {
      const auto result = run_point(a, rank, progress);
      send_bytes(comm, 0, kTagResult, wire::encode(result));
    } catch (const PointAbandoned&) {
      MPI_Send(nullptr, 0, MPI_CHAR, 0, kTagReady, comm);
    }
  }
  sleepy_barrier(comm);
}


}  // namespace icl
