#include "iclsweep/sweep/grid.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdlib>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/params.hpp"
#include "iclsweep/core/quote.hpp"

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

// Range counts need 65 bits (-2^63..2^63-1 has 2^64 values).
__extension__ typedef unsigned __int128 uint128;

// One comma-separated item: a plain value or a range, with its value count computed before anything
// is materialised (checked 64-bit arithmetic; the count itself may need 65 bits).
struct ListItem {
  std::string text;
  bool is_range = false, is_power = false;
  long long lo = 0, step = 1, base = 0;
  uint128 count = 1;
};

std::string to_decimal(uint128 v) {
  std::string out;
  do {
    out.insert(out.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  } while (v);
  return out;
}

ListItem parse_range(const std::string& item) {
  ListItem r;
  r.text = item;
  r.is_range = true;
  const auto dots = item.find("..");
  std::string first = trim(item.substr(0, dots));
  std::string rest = trim(item.substr(dots + 2));
  long long step = 1;
  const auto step_at = rest.find("step");
  if (step_at != std::string::npos) {
    if (!parse_integer(rest.substr(step_at + 4), step) || step < 1)
      throw InputError("range " + quote(item) + ": the step must be a positive integer");
    rest = trim(rest.substr(0, step_at));
  }
  r.step = step;
  long long lo = 0, hi = 0, base_hi = 0;
  if (parse_power(first, r.base, lo)) {
    if (!parse_power(rest, base_hi, hi) || base_hi != r.base)
      throw InputError("range " + quote(item) + ": both ends must be powers of the same base, e.g. 2^6..2^20");
    if (lo < 0 || hi < lo || hi > 62)
      throw InputError("range " + quote(item) + ": exponents must satisfy 0 <= first <= last <= 62");
    r.is_power = true;
  } else if (!parse_integer(first, lo) || !parse_integer(rest, hi)) {
    throw InputError("range " + quote(item) + ": range ends must be 64-bit integers or powers; " + kForms);
  }
  if (hi < lo) throw InputError("range " + quote(item) + " is empty: the first value is larger than the last");
  r.lo = lo;
  // hi - lo fits in 64 unsigned bits for any two signed 64-bit ends; the count may be 2^64.
  const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
  r.count = static_cast<uint128>(span / static_cast<std::uint64_t>(step)) + 1;
  return r;
}

}  // namespace

std::vector<std::string> expand_value_list(const std::string& text, std::size_t max_values) {
  if (trim(text).empty()) throw InputError("empty value list: " + std::string(kForms));
  std::vector<ListItem> items;
  uint128 total = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const std::string item = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (item.empty())
      throw InputError("value list " + quote(trim(text)) + " has an empty item (two commas in a row, or a trailing comma)");
    if (item.find("..") != std::string::npos) {
      items.push_back(parse_range(item));
    } else {
      ListItem plain;
      plain.text = item;
      items.push_back(std::move(plain));
    }
    total += items.back().count;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  // Caps first: a grid has at most max_values points, so a longer list can never be valid.
  if (total > max_values) {
    const ListItem* big = &items.front();
    for (const auto& it : items)
      if (it.count > big->count) big = &it;
    throw InputError("value list has " + to_decimal(total) + " values" +
                     (big->is_range ? " (range " + quote(big->text) + " alone has " + to_decimal(big->count) + ")" : "") +
                     ", more than the " + std::to_string(max_values) + " points a grid may have: shorten it or raise its step");
  }
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(total));
  for (const auto& it : items) {
    if (!it.is_range) {
      out.push_back(it.text);
      continue;
    }
    for (uint128 k = 0; k < it.count; ++k) {
      // lo + k*step stays within [lo, hi]: unsigned arithmetic cannot overflow on the way there.
      const auto offset = static_cast<std::uint64_t>(k) * static_cast<std::uint64_t>(it.step);
      const auto v = static_cast<long long>(static_cast<std::uint64_t>(it.lo) + offset);
      out.push_back(it.is_power ? std::to_string(it.base) + "^" + std::to_string(v) : std::to_string(v));
    }
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
