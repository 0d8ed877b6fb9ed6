#pragma once
// Aligned plain-text tables for the terminal (summary, status, list).
#include <string>
#include <vector>

namespace icl::cli {

class Table {
 public:
  void header(std::vector<std::string> cells) { header_ = std::move(cells); }
  void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  std::string render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// Four significant digits; "nan" for NaN.
std::string format_cell(double v);

}  // namespace icl::cli
