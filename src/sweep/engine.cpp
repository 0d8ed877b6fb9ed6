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
#include <optional>
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

volatile std::sig_atomic_t g_drain_signal = 0;

extern "C" void on_drain_signal(int sig) { g_drain_signal = sig; }

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double thread_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

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
// steal a core from a rank still training.
void sleepy_barrier(MPI_Comm comm) {
  MPI_Request req;
  MPI_Ibarrier(comm, &req);
  int flag = 0;
  while (true) {
    MPI_Test(&req, &flag, MPI_STATUS_IGNORE);
    if (flag) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// The local worker thread on rank 0: runs assignments handed over in-process, never calls MPI.
class LocalWorker {
 public:
  LocalWorker() : thread_([this] { loop(); }) {}
  ~LocalWorker() {
    {
      std::lock_guard<std::mutex> g(m_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
      if (busy_)
        thread_.detach();  // abandoned after a drain timeout: the process exits around it
      else
        thread_.join();
    }
  }
  bool busy() const { return busy_; }
  void assign(wire::Assignment a) {
    {
      std::lock_guard<std::mutex> g(m_);
      pending_ = std::move(a);
      busy_ = true;
      fraction_ = 0;
    }
    cv_.notify_all();
  }
  // Waits up to `timeout` for a finished result.
  std::optional<wire::Result> wait_result(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lk(m_);
    done_cv_.wait_for(lk, timeout, [this] { return result_.has_value(); });
    std::optional<wire::Result> r;
    r.swap(result_);
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
      wire::Result r = run_point(a, 0, [this](double f, const std::string& text) {
        fraction_ = f;
        std::lock_guard<std::mutex> g(text_m_);
        text_ = text;
      });
      {
        std::lock_guard<std::mutex> g(m_);
        result_ = std::move(r);
        busy_ = false;
      }
      done_cv_.notify_all();
    }
  }

  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  std::optional<wire::Assignment> pending_;
  std::optional<wire::Result> result_;
  std::atomic<bool> busy_{false};
  std::atomic<double> fraction_{0};
  mutable std::mutex text_m_;
  std::string text_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

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
  const double progress_every = opt.progress_seconds > 0 ? opt.progress_seconds : (tty ? 2.0 : 30.0);

  std::deque<WorkItem> queue(work.begin(), work.end());
  double total_cost = 0;
  for (const auto& w : work) total_cost += w.cost;
  const auto total_points = static_cast<std::int64_t>(work.size());

  std::map<std::int64_t, std::pair<int, double>> in_flight;  // index -> (rank, cost)
  std::map<std::int64_t, double> fractions;                  // index -> progress of a running point
  std::vector<bool> remote_active(static_cast<std::size_t>(size), true);
  int remote_alive = size - 1;
  SweepSummary summary;
  double done_cost = 0, last_print = t0;
  std::optional<double> drain_started;

  LocalWorker local;

  auto print_progress = [&](bool final_line) {
    if (opt.quiet) return;
    const double el = now_seconds() - t0;
    double partial = done_cost;
    for (const auto& [idx, f] : fractions) partial += f * in_flight[idx].second;
    if (local.busy())
      for (const auto& [idx, rc] : in_flight)
        if (rc.first == 0) partial += local.fraction() * rc.second;
    const double rate = el > 0 ? (summary.done + summary.failed) / el * 60.0 : 0.0;
    const double eta = partial > 0 ? (total_cost - partial) / (partial / el) : -1;
    // One point (iclsweep train): its own step, loss and last evaluation, as W&B / Lightning users expect.
    const std::string point = opt.show_point_status && local.busy() ? " | " + local.status_text() : "";
    std::fprintf(stderr, "%s[sweep] %lld/%lld points done, %lld failed, %zu running | %.2f points/min | elapsed %s | ETA %s%s%s",
                 tty && !final_line ? "\r" : "", static_cast<long long>(summary.done + summary.failed),
                 static_cast<long long>(total_points), static_cast<long long>(summary.failed), in_flight.size(), rate,
                 format_duration(el).c_str(), drain_started ? "draining" : format_duration(eta).c_str(), point.c_str(),
                 tty && !final_line ? "   " : "\n");
    std::fflush(stderr);
  };

  auto next_assignment = [&](int rank) -> std::optional<wire::Assignment> {
    if (drain_started || queue.empty()) return std::nullopt;
    WorkItem w = std::move(queue.front());
    queue.pop_front();
    in_flight[w.index] = {rank, w.cost};
    return wire::Assignment{w.index, std::move(w.params)};
  };

  auto feed_remote = [&](int rank) {
    if (auto a = next_assignment(rank)) {
      send_bytes(comm, rank, kTagAssign, wire::encode(*a));
    } else {
      MPI_Send(nullptr, 0, MPI_CHAR, rank, kTagStop, comm);
      remote_active[static_cast<std::size_t>(rank)] = false;
      --remote_alive;
    }
  };

  auto accept = [&](const wire::Result& r) {
    sink.commit(r);  // durable before we count it
    const auto it = in_flight.find(r.index);
    if (it != in_flight.end()) {
      done_cost += it->second.second;
      in_flight.erase(it);
    }
    fractions.erase(r.index);
    if (r.ok)
      ++summary.done;
    else
      ++summary.failed;
    if (!r.ok && !opt.quiet) {
      std::fprintf(stderr, "%s[sweep] point %lld failed on rank %d: %s\n", tty ? "\n" : "", static_cast<long long>(r.index),
                   r.rank, r.error.c_str());
    }
  };

  while (true) {
    if (drain_requested() && !drain_started) {
      drain_started = now_seconds();
      if (!opt.quiet)
        std::fprintf(stderr, "%s[sweep] signal %d: no new points; waiting up to %.0f s for %zu running point(s)\n",
                     tty ? "\n" : "", drain_signal(), opt.grace_seconds, in_flight.size());
    }
    // Keep the local worker busy.
    if (!local.busy()) {
      if (auto a = next_assignment(0)) local.assign(std::move(*a));
    }
    // Serve every pending MPI message.
    bool got_message = false;
    while (size > 1) {
      int flag = 0;
      MPI_Status st;
      MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &flag, &st);
      if (!flag) break;
      got_message = true;
      auto bytes = recv_bytes(comm, st);
      if (st.MPI_TAG == kTagReady) {
        feed_remote(st.MPI_SOURCE);
      } else if (st.MPI_TAG == kTagResult) {
        accept(wire::decode_result(bytes));
        feed_remote(st.MPI_SOURCE);
      } else if (st.MPI_TAG == kTagProgress && bytes.size() == 2 * sizeof(double)) {
        double v[2];
        std::memcpy(v, bytes.data(), sizeof v);
        if (in_flight.count(static_cast<std::int64_t>(v[0]))) fractions[static_cast<std::int64_t>(v[0])] = v[1];
      }
    }
    // Collect the local result, sleeping briefly when idle (this is the coordinator's only wait).
    if (auto r = local.wait_result(std::chrono::milliseconds(got_message ? 0 : 2))) accept(*r);

    const bool nothing_left = (queue.empty() || drain_started) && in_flight.empty() && !local.busy();
    if (nothing_left && remote_alive == 0) break;
    if (drain_started && now_seconds() - *drain_started > opt.grace_seconds && !in_flight.empty()) {
      summary.abandoned = static_cast<std::int64_t>(in_flight.size());
      break;
    }
    if (now_seconds() - last_print >= progress_every) {
      print_progress(false);
      last_print = now_seconds();
    }
  }
  summary.seconds = now_seconds() - t0;
  summary.coordinator_cpu_seconds = thread_cpu_seconds() - cpu0;
  const bool unfinished = !queue.empty() || summary.abandoned > 0;
  summary.outcome = unfinished ? SweepOutcome::Drained
                    : summary.failed ? SweepOutcome::CompleteWithFailures
                                     : SweepOutcome::Complete;
  print_progress(true);
  if (summary.abandoned == 0) sleepy_barrier(comm);
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
    if (st.MPI_TAG != kTagAssign) continue;
    const auto a = wire::decode_assignment(bytes);
    double last = 0;
    auto progress = [&](double f, const std::string&) {
      const double t = now_seconds();
      if (t - last < 2.0) return;
      last = t;
      const double v[2] = {static_cast<double>(a.index), f};
      MPI_Send(v, static_cast<int>(sizeof v), MPI_CHAR, 0, kTagProgress, comm);
    };
    const auto result = run_point(a, rank, progress);
    send_bytes(comm, 0, kTagResult, wire::encode(result));
  }
  sleepy_barrier(comm);
}

}  // namespace icl
