#pragma once
// Step timing for `iclsweep bench`: wall clock beside this thread's CPU time (which excludes the time other
// processes hold the core, so it stays meaningful on a shared machine), median over chunks of steps.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <vector>

namespace icl {

inline double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct ChunkTimes {
  double ms_per_step = 0;                      // wall clock, median over chunks
  double cpu_ms_per_step = 0;                  // thread CPU time, median over chunks
  std::vector<double> chunk_ms, chunk_cpu_ms;  // per-step time of each chunk, sorted
};

// Calls step(i) for i = 0, 1, ... in `chunks` chunks of `steps_per_chunk` calls and reports per-step times.
template <class Step>
ChunkTimes time_chunks(int chunks, int steps_per_chunk, Step&& step) {
  ChunkTimes t;
  int i = 0;
  for (int c = 0; c < chunks; ++c) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = thread_cpu_seconds();
    for (int k = 0; k < steps_per_chunk; ++k) step(i++);
    t.chunk_cpu_ms.push_back((thread_cpu_seconds() - c0) * 1e3 / steps_per_chunk);
    t.chunk_ms.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 1e3 / steps_per_chunk);
  }
  std::sort(t.chunk_ms.begin(), t.chunk_ms.end());
  std::sort(t.chunk_cpu_ms.begin(), t.chunk_cpu_ms.end());
  t.ms_per_step = t.chunk_ms[t.chunk_ms.size() / 2];
  t.cpu_ms_per_step = t.chunk_cpu_ms[t.chunk_cpu_ms.size() / 2];
  return t;
}

}  // namespace icl
