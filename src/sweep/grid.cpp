#include "iclsweep/sweep/grid.hpp"

#include <cerrno>
#include <cstdlib>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/params.hpp"

namespace icl {

namespace {

bool parse_integer(const std::string& text, long long& out) {
  const std::string t = trim(text);
  if (t.empty()) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtoll(t.c_str(), &end, 10);
  return *end == '\0' && errno == 0;
}

// "2^6" -> base 2, exponent 6. Plain integers have no caret and return false.
bool parse_power(const std::string& text, long long& base, long long& exponent) {
  const std::string t = trim(text);
  const auto caret = t.find('^');
  if (caret == std::string::npos) return false;
  return parse_integer(t.substr(0, caret), base) && parse_integer(t.substr(caret + 1), exponent);
}

const char* kForms =
    "write a comma-separated list (0.0, 0.2, 0.4), an integer range (0..4, 0..10 step 2) "
    "or a power range (2^6..2^14, 2^6..2^20 step 2)";

void expand_range(const std::string& item, std::vector<std::string>& out) {
  const auto dots = item.find("..");
  std::string first = trim(item.substr(0, dots));
  std::string rest = trim(item.substr(dots + 2));
  long long step = 1;
  const auto step_at = rest.find("step");
  if (step_at != std::string::npos) {
    if (!parse_integer(rest.substr(step_at + 4), step) || step < 1)
      throw InputError("range '" + item + "': the step must be a positive integer");
    rest = trim(rest.substr(0, step_at));
  }
  long long lo = 0, hi = 0, base_lo = 0, base_hi = 0;
  if (parse_power(first, base_lo, lo)) {
    if (!parse_power(rest, base_hi, hi) || base_hi != base_lo)
      throw InputError("range '" + item + "': both ends must be powers of the same base, e.g. 2^6..2^20");
    if (lo < 0 || hi < lo || hi > 62)
      throw InputError("range '" + item + "': exponents must satisfy 0 <= first <= last <= 62");
    for (long long k = lo; k <= hi; k += step) out.push_back(std::to_string(base_lo) + "^" + std::to_string(k));
    return;
  }
  if (!parse_integer(first, lo) || !parse_integer(rest, hi))
    throw InputError("range '" + item + "': range ends must be integers or powers; " + kForms);
  if (hi < lo) throw InputError("range '" + item + "' is empty: the first value is larger than the last");
  if ((hi - lo) / step >= 10'000'000)
    throw InputError("range '" + item + "' has more than 10 million values");
  for (long long v = lo; v <= hi; v += step) out.push_back(std::to_string(v));
}

}  // namespace

std::vector<std::string> expand_value_list(const std::string& text) {
  std::vector<std::string> out;
  if (trim(text).empty()) throw InputError("empty value list: " + std::string(kForms));
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const std::string item = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (item.empty()) throw InputError("value list '" + trim(text) + "' has an empty item (two commas in a row, or a trailing comma)");
    if (item.find("..") != std::string::npos)
      expand_range(item, out);
    else
      out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::vector<std::string> Grid::keys() const {
  std::vector<std::string> k;
  for (const auto& a : axes_) k.push_back(a.key);
  return k;
}

std::size_t Grid::size(std::size_t max_points) const {
  std::size_t n = 1;
  for (const auto& a : axes_) {
    if (a.values.empty()) return 0;
    if (n > max_points / a.values.size())
      throw InputError("the grid has more than " + std::to_string(max_points) +
                       " points: shorten a value list or override it with --set grid.KEY=...");
    n *= a.values.size();
  }
  return n;
}

std::vector<std::string> Grid::values_at(std::size_t index) const {
  std::vector<std::string> v(axes_.size());
  for (std::size_t k = axes_.size(); k-- > 0;) {  // the last axis varies fastest
    const std::size_t n = axes_[k].values.size();
    v[k] = axes_[k].values[index % n];
    index /= n;
  }
  return v;
}

}  // namespace icl
