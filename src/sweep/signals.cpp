#include "iclsweep/sweep/signals.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdint>
#include <ctime>

namespace icl {
namespace {

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
int drain_signal_count() { return g_drain_signal_count; }

}  // namespace icl
