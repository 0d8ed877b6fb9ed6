#include "iclsweep/core/params.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/quote.hpp"

namespace icl {

void ParamRegistry::add(const std::vector<ParamSpec>& specs) {
  for (const auto& s : specs) {
    if (find(s.key)) throw Error("internal: parameter '" + s.key + "' registered twice");
    specs_.push_back(s);
  }
}

const ParamSpec* ParamRegistry::find(const std::string& key) const {
  for (const auto& s : specs_)
    if (s.key == key) return &s;
  return nullptr;
}

static std::string short_name(const std::string& key) {
  const auto dot = key.find('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::vector<std::string> ParamRegistry::suggestions(const std::string& key, std::size_t max) const {
  std::vector<std::pair<std::size_t, std::string>> scored;
  if (key.size() > 2 * kQuoteMaxChars) return {};  // no key is that long; spares a quadratic edit distance
  const bool has_section = key.find('.') != std::string::npos;
  for (const auto& s : specs_) {
    const std::string candidate = has_section ? s.key : short_name(s.key);
    const std::size_t d = edit_distance(key, candidate);
    const bool substring = candidate.find(key) != std::string::npos || key.find(candidate) != std::string::npos;
    if (d <= std::max<std::size_t>(2, key.size() / 3) || substring) scored.emplace_back(substring ? 0 : d, s.key);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (const auto& [d, k] : scored) {
    if (out.size() == max) break;
    out.push_back(k);
  }
  return out;
}

const ParamSpec& ParamRegistry::resolve(const std::string& key) const {
  if (const auto* s = find(key)) return *s;
  if (key.find('.') == std::string::npos) {
    // A short name means the data key when there is one (the spec's vocabulary: `num_contexts` is
    // data.num_contexts, not theory.num_contexts); otherwise it must be unique.
    const ParamSpec* match = nullptr;
    const ParamSpec* data_match = nullptr;
    std::string ambiguous;
    for (const auto& s : specs_) {
      if (short_name(s.key) != key) continue;
      if (s.key.rfind("data.", 0) == 0) data_match = &s;
      if (match) ambiguous = match->key + " and " + s.key;
      match = &s;
    }
    if (data_match) return *data_match;
    if (!ambiguous.empty()) throw InputError("parameter " + quote(key) + " is ambiguous (" + ambiguous + "): write the full key");
    if (match) return *match;
  }
  std::string msg = "unknown parameter " + quote(key);
  const auto near = suggestions(key);
  if (!near.empty()) {
    msg += "; did you mean ";
    for (std::size_t i = 0; i < near.size(); ++i) msg += (i ? " or '" : "'") + near[i] + "'";
    msg += "?";
  } else {
    msg += "; `iclsweep keys` lists every parameter";
  }
  throw InputError(msg);
}

std::string format_real(double v) {
  for (int p = 1; p <= 17; ++p) {
    std::ostringstream t;
    t.precision(p);
    t << v;
    if (std::strtod(t.str().c_str(), nullptr) == v) return t.str();
  }
  std::ostringstream t;
  t.precision(17);
  t << v;
  return t.str();
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// ---- numbers ------------------------------------------------------------------------------------

namespace {

enum class NumberParse { Ok, NotNumber, NotInteger, Overflow };

// Splits a decimal or scientific spelling ("-12", "1.50e1", ".5", "2.") into sign, digits and a power
// of ten. Anything else (hex, inf, nan, spaces, a lone ".") is not a number.
bool split_decimal(const std::string& t, bool& negative, std::string& digits, long long& exp10) {
  std::size_t i = 0;
  negative = false;
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) negative = t[i++] == '-';
  std::string int_part, frac_part;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') int_part += t[i++];
  if (i < t.size() && t[i] == '.') {
    ++i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') frac_part += t[i++];
  }
  if (int_part.empty() && frac_part.empty()) return false;
  long long exponent = 0;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) exp_negative = t[i++] == '-';
    const std::size_t first = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
      exponent = std::min<long long>(exponent * 10 + (t[i] - '0'), 1'000'000);  // saturates: 1e999999999 overflows
      ++i;
    }
    if (i == first) return false;
    if (exp_negative) exponent = -exponent;
  }
  if (i != t.size()) return false;
  digits = int_part + frac_part;
  digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size()));
  exp10 = exponent - static_cast<long long>(frac_part.size());
  return true;
}

// The exact integer a spelling denotes, in 64 bits.
NumberParse parse_exact_integer(const std::string& t, std::int64_t& out) {
  bool negative = false;
  std::string digits;
  long long exp10 = 0;
  if (!split_decimal(t, negative, digits, exp10)) return NumberParse::NotNumber;
  if (digits.empty()) {
    out = 0;  // every spelling of zero, -0 included
    return NumberParse::Ok;
  }
  while (exp10 < 0) {
    if (digits.back() != '0') return NumberParse::NotInteger;
    digits.pop_back();
    ++exp10;
  }
  if (static_cast<long long>(digits.size()) + exp10 > 19) return NumberParse::Overflow;
  digits.append(static_cast<std::size_t>(exp10), '0');
  std::uint64_t magnitude = 0;
  for (const char c : digits) {
    if (magnitude > (std::numeric_limits<std::uint64_t>::max() - static_cast<std::uint64_t>(c - '0')) / 10)
      return NumberParse::Overflow;
    magnitude = magnitude * 10 + static_cast<std::uint64_t>(c - '0');
  }
  const std::uint64_t limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + (negative ? 1 : 0);
  if (magnitude > limit) return NumberParse::Overflow;
  out = negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude);
  return NumberParse::Ok;
}

// "b^e" with integer b and e >= 0, in checked 64-bit arithmetic. NotNumber when the text is no power.
NumberParse parse_power(const std::string& t, std::int64_t& out) {
  const auto caret = t.find('^');
  if (caret == std::string::npos) return NumberParse::NotNumber;
  std::int64_t base = 0, exponent = 0;
  const auto is_plain = [](const std::string& s) {
    return !s.empty() && s.find_first_not_of("+-0123456789") == std::string::npos;
  };
  const std::string b = t.substr(0, caret), e = t.substr(caret + 1);
  if (!is_plain(b) || !is_plain(e)) return NumberParse::NotNumber;
  const NumberParse pb = parse_exact_integer(b, base), pe = parse_exact_integer(e, exponent);
  if (pb == NumberParse::NotNumber || pe == NumberParse::NotNumber || exponent < 0) return NumberParse::NotNumber;
  if (pb == NumberParse::Overflow || pe == NumberParse::Overflow) return NumberParse::Overflow;
  std::int64_t v = 1;
  if (base == 0 || base == 1) {
    v = exponent == 0 ? 1 : base;
  } else if (base == -1) {
    v = exponent % 2 ? -1 : 1;
  } else {
    for (std::int64_t k = 0; k < exponent; ++k)
      if (__builtin_mul_overflow(v, base, &v)) return NumberParse::Overflow;  // at most 63 rounds
  }
  out = v;
  return NumberParse::Ok;
}

enum class RealParse { Ok, NotNumber, Overflow, Subnormal };

RealParse parse_strict_real(const std::string& t, double& out) {
  bool negative = false;
  std::string digits;
  long long exp10 = 0;
  if (!split_decimal(t, negative, digits, exp10)) return RealParse::NotNumber;
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size()) return RealParse::NotNumber;
  if (std::isinf(v)) return RealParse::Overflow;
  // A non-zero spelling that lands on 0 or on a subnormal has lost its precision.
  if ((v == 0.0 && !digits.empty()) || std::fpclassify(v) == FP_SUBNORMAL) return RealParse::Subnormal;
  out = v == 0.0 ? 0.0 : v;  // -0 is 0: one value, one spelling
  return RealParse::Ok;
}

// The first byte of `text` that a value may not hold (a control character or DEL), or npos.
std::size_t first_control_byte(const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F) return i;
  }
  return std::string::npos;
}

}  // namespace

std::string bound_text(std::int64_t v) {
  const auto power_of_two = [](std::uint64_t x) { return x && !(x & (x - 1)); };
  const auto log2 = [](std::uint64_t x) { return 63 - __builtin_clzll(x); };
  if (v == std::numeric_limits<std::int64_t>::min()) return "-2^63";
  const std::uint64_t m = static_cast<std::uint64_t>(v < 0 ? -v : v);
  if (m >= 1024 && power_of_two(m)) return std::string(v < 0 ? "-" : "") + "2^" + std::to_string(log2(m));
  if (v > 0 && m >= 1023 && power_of_two(m + 1)) return "2^" + std::to_string(log2(m + 1)) + "-1";
  return std::to_string(v);
}

std::string range_text(const ParamSpec& spec) {
  if (spec.type != ParamType::Int) return "";
  return bound_text(spec.int_min) + ".." + bound_text(spec.int_max);
}

std::int64_t parse_int_value(const std::string& key, const std::string& text) {
  std::int64_t v = 0;
  if (parse_exact_integer(text, v) == NumberParse::Ok) return v;
  throw ParamError(key, text, "is not a 64-bit integer (a results file or parameter map written by another program?)");
}

double parse_real_value(const std::string& key, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  bool negative = false;
  std::string digits;
  long long exp10 = 0;
  if (!split_decimal(text, negative, digits, exp10) || end != text.c_str() + text.size() || !std::isfinite(v))
    throw ParamError(key, text, "is not a finite real number");
  return v;
}

std::string canonical_value(const ParamSpec& spec, const std::string& raw) {
  const std::string text = trim(raw);
  auto fail = [&](const std::string& expected) -> std::string {
    throw InputError("parameter '" + spec.key + "' = " + quote(raw) + ": " + expected);
  };
  if (const auto at = first_control_byte(text); at != std::string::npos) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "\\x%02X", static_cast<unsigned char>(text[at]));
    return fail(std::string("holds the control character ") + byte + " at byte " + std::to_string(at) +
                "; values are plain text: remove it (a binary or corrupted file?)");
  }
  if (text.empty()) {
    if (spec.default_value.empty()) return "";  // optional parameter left unset
    fail("a value (or leave the key out to use the default " + spec.default_value + ")");
  }
  switch (spec.type) {
    case ParamType::Int: {
      const std::string range = "between " + std::to_string(spec.int_min) + " and " + std::to_string(spec.int_max) +
                                " (" + range_text(spec) + ", see iclsweep keys)";
      std::int64_t v = 0;
      NumberParse r = parse_power(text, v);
      if (r == NumberParse::NotNumber) r = parse_exact_integer(text, v);
      switch (r) {
        case NumberParse::Ok: break;
        case NumberParse::Overflow: return fail("is beyond the 64-bit integer range; must be " + range);
        case NumberParse::NotInteger: return fail("is not a whole number; must be an integer " + range);
        case NumberParse::NotNumber: return fail("expected an integer (e.g. 4, 1e5 or 2^10) " + range);
      }
      if (v < spec.int_min || v > spec.int_max) return fail("out of range: must be " + range);
      return std::to_string(v);
    }
    case ParamType::Real: {
      double v = 0;
      switch (parse_strict_real(text, v)) {
        case RealParse::Ok: return format_real(v);
        case RealParse::Overflow: return fail("expected a finite real number; this one overflows a double (above 1.8e308)");
        case RealParse::Subnormal:
          return fail("is too close to 0 for a double (a subnormal, below 2.2e-308, loses precision): write 0 or a larger value");
        case RealParse::NotNumber: return fail("expected a finite real number (e.g. 0.5, 1e-3)");
      }
      return text;
    }
    case ParamType::Bool: {
      std::string l = text;
      std::transform(l.begin(), l.end(), l.begin(), ::tolower);
      if (l == "1" || l == "true" || l == "yes" || l == "on") return "1";
      if (l == "0" || l == "false" || l == "no" || l == "off") return "0";
      return fail("expected a boolean (0/1, true/false)");
    }
    case ParamType::String: {
      if (spec.choices.empty()) {
        for (std::size_t i = 0; i < text.size();) {
          const std::size_t n = utf8_sequence_length(text, i);
          if (n == 0) return fail("is not UTF-8 text; write the value as plain text");
          i += n;
        }
        return text;
      }
      if (std::find(spec.choices.begin(), spec.choices.end(), text) != spec.choices.end()) return text;
      std::string list;
      for (const auto& c : spec.choices) list += (list.empty() ? "" : " | ") + c;
      return fail("expected one of " + list);
    }
  }
  return text;
}

ParamMap ParamMap::defaults(const ParamRegistry& registry) {
  ParamMap m;
  for (const auto& s : registry.specs()) m.values_[s.key] = s.default_value;
  return m;
}

void ParamMap::set(const ParamRegistry& registry, const std::string& key, const std::string& value) {
  const ParamSpec& spec = registry.resolve(trim(key));
  values_[spec.key] = canonical_value(spec, value);
}

void ParamMap::set_assignment(const ParamRegistry& registry, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw InputError(quote(assignment) + " is not an assignment: write key=value (e.g. --set data.num_contexts=4)");
  set(registry, assignment.substr(0, eq), assignment.substr(eq + 1));
}

bool ParamMap::has(const std::string& key) const {
  const auto it = values_.find(key);
  return it != values_.end() && !it->second.empty();
}

const std::string& ParamMap::get_string(const std::string& key) const {
  const auto it = values_.find(key);
  if (it == values_.end()) throw Error("internal: parameter '" + key + "' is not in this parameter map");
  return it->second;
}

std::int64_t ParamMap::get_int(const std::string& key) const {
  const auto& v = get_string(key);
  if (v.empty()) throw InputError("parameter '" + key + "' is unset but needed here: set it with " + key + "=VALUE");
  return parse_int_value(key, v);
}

int ParamMap::get_int32(const std::string& key) const {
  const std::int64_t v = get_int(key);
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
    throw ParamError(key, std::to_string(v), "is outside the 32-bit range this reader keeps it in; must be between " +
                                                 std::to_string(std::numeric_limits<int>::min()) + " and " +
                                                 std::to_string(std::numeric_limits<int>::max()));
  return static_cast<int>(v);
}

double ParamMap::get_real(const std::string& key) const {
  const auto& v = get_string(key);
  if (v.empty()) throw InputError("parameter '" + key + "' is unset but needed here: set it with " + key + "=VALUE");
  return parse_real_value(key, v);
}

bool ParamMap::get_bool(const std::string& key) const { return get_int(key) != 0; }

std::optional<std::int64_t> ParamMap::get_optional_int(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return get_int(key);
}

std::string ParamMap::canonical_text() const {
  std::string out;
  for (const auto& [k, v] : values_) {
    if (!out.empty()) out += ';';
    out += k + '=' + v;
  }
  return out;
}

}  // namespace icl
