#include "iclsweep/sweep/progress_line.hpp"

#include <cstdio>

namespace icl {

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

std::string progress_line(const ProgressSnapshot& s) {
  const double el = s.elapsed_seconds;
  const double rate = el > 0 ? (s.done + s.failed) / el * 60.0 : 0.0;
  const double eta = s.completed_cost > 0 ? (s.total_cost - s.completed_cost) / (s.completed_cost / el) : -1;
  char buf[256];
  std::snprintf(buf, sizeof buf, "[sweep] %lld/%lld points done, %lld failed, %zu running | %.2f points/min | elapsed %s | ETA %s",
                static_cast<long long>(s.done + s.failed), static_cast<long long>(s.total_points),
                static_cast<long long>(s.failed), s.running, rate, format_duration(el).c_str(),
                s.draining ? "draining" : format_duration(eta).c_str());
  // One point (iclsweep train): its own step, loss and last evaluation, as W&B / Lightning users expect.
  return s.point_status ? std::string(buf) + " | " + *s.point_status : std::string(buf);
}

}  // namespace icl
