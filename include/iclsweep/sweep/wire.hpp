#pragma once
// Byte encoding of what crosses MPI between coordinator and workers: assignments (point index and
// its canonical parameters) and results (PointRecord plus run metadata). Little-endian native layout:
// all ranks of one job run the same binary on the same architecture.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "iclsweep/core/params.hpp"
#include "iclsweep/core/record.hpp"

namespace icl::wire {

struct Assignment {
  std::int64_t index = -1;
  ParamMap params;
};

struct Result {
  std::int64_t index = -1;
  bool ok = false;
  std::string error;       // when !ok
  int rank = 0;
  std::string host;
  double start_time = 0;   // unix seconds
  double end_time = 0;
  double cpu_time = std::numeric_limits<double>::quiet_NaN();  // CPU seconds of the thread that ran it
  PointRecord record;      // when ok
};

std::vector<char> encode(const Assignment& a);
Assignment decode_assignment(const std::vector<char>& bytes);
std::vector<char> encode(const Result& r);
Result decode_result(const std::vector<char>& bytes);

}  // namespace icl::wire
