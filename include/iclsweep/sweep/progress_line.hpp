#pragma once
// The coordinator's progress line: "[sweep] 12/24 points done, 0 failed, 2 running | 3.10 points/min |
// elapsed 3m52s | ETA 4m01s". Pure formatting of a snapshot, so its arithmetic is testable without a sweep.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace icl {

// "42s", "3m07s", "2h05m" ("?" for negative or absurd values): elapsed times and ETAs in progress lines.
std::string format_duration(double seconds);

struct ProgressSnapshot {
  std::int64_t done = 0, failed = 0, total_points = 0;
  std::size_t running = 0;
  double elapsed_seconds = 0;
  double completed_cost = 0;  // finished points plus the done fraction of running ones
  double total_cost = 0;
  bool draining = false;      // the ETA reads "draining"
  std::optional<std::string> point_status;  // the local point's own status text, appended after " | "
};

// The line without its terminal decoration; the ETA extrapolates the cost done so far per second.
std::string progress_line(const ProgressSnapshot& s);

}  // namespace icl
