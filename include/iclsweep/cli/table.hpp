#pragma once
// Aligned plain-text tables for the terminal (summary, status, list).
#include <string>
#include <vector>

namespace icl::cli {

class Table {
 public:
  // Cells can hold strings read from a results file (hosts, ids, errors): they are escaped like every
  // echoed value (printable(), 200 characters at most) as they are added.
  void header(std::vector<std::string> cells);
  void row(std::vector<std::string> cells);
  std::string render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// "2026-12-02 05:00:00" (+ " UTC" with `zone`) for a Unix time; "-" when it is not finite or outside
// what gmtime can represent (a damaged results file must not crash `status` or `show`).
std::string format_utc(double unix_seconds, bool zone = false);

// Four significant digits; "nan" for NaN.
std::string format_cell(double v);

}  // namespace icl::cli
