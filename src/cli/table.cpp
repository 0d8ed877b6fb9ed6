#include "iclsweep/cli/table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "iclsweep/core/quote.hpp"

namespace icl::cli {

namespace {
constexpr std::size_t kMaxCellChars = 200;
std::vector<std::string> escaped(std::vector<std::string> cells) {
  for (auto& c : cells) c = printable(c, kMaxCellChars);
  return cells;
}
}  // namespace

void Table::header(std::vector<std::string> cells) { header_ = escaped(std::move(cells)); }
void Table::row(std::vector<std::string> cells) { rows_.push_back(escaped(std::move(cells))); }

std::string Table::render() const {
  std::vector<std::size_t> width(header_.size(), 0);
  auto widen = [&](const std::vector<std::string>& cells) {
    if (cells.size() > width.size()) width.resize(cells.size(), 0);
    for (std::size_t i = 0; i < cells.size(); ++i) width[i] = std::max(width[i], cells[i].size());
  };
  widen(header_);
  for (const auto& r : rows_) widen(r);
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      s += cells[i];
      if (i + 1 < cells.size()) s += std::string(width[i] - cells[i].size() + 2, ' ');
    }
    return s + "\n";
  };
  std::string out = line(header_);
  std::size_t total = 0;
  for (auto w : width) total += w + 2;
  out += std::string(total > 2 ? total - 2 : 0, '-') + "\n";
  for (const auto& r : rows_) out += line(r);
  return out;
}

std::string format_utc(double unix_seconds, bool zone) {
  // time_t holds any double below 2^63, but gmtime_r fails (NULL) for years beyond int.
  if (!std::isfinite(unix_seconds) || std::fabs(unix_seconds) > 1e15) return "-";
  const std::time_t tt = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (!gmtime_r(&tt, &tm)) return "-";
  char buf[64];
  if (std::strftime(buf, sizeof buf, zone ? "%Y-%m-%d %H:%M:%S UTC" : "%Y-%m-%d %H:%M:%S", &tm) == 0) return "-";
  return buf;
}

std::string format_cell(double v) {
  if (std::isnan(v)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

}  // namespace icl::cli
