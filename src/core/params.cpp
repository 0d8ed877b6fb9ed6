#include "iclsweep/core/params.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "iclsweep/core/error.hpp"

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
    if (!ambiguous.empty()) throw InputError("parameter '" + key + "' is ambiguous (" + ambiguous + "): write the full key");
    if (match) return *match;
  }
  std::string msg = "unknown parameter '" + key + "'";
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

std::string canonical_value(const ParamSpec& spec, const std::string& raw) {
  const std::string text = trim(raw);
  auto fail = [&](const std::string& expected) -> std::string {
    throw InputError("parameter '" + spec.key + "' = '" + raw + "': expected " + expected);
  };
  if (text.empty()) {
    if (spec.default_value.empty()) return "";  // optional parameter left unset
    fail("a value (or leave the key out to use the default " + spec.default_value + ")");
  }
  switch (spec.type) {
    case ParamType::Int: {
      char* end = nullptr;
      errno = 0;
      const long long v = std::strtoll(text.c_str(), &end, 10);
      if (*end == '\0' && errno == 0) return std::to_string(v);
      // Accept integral reals such as 1e5 and 2^10.
      const auto caret = text.find('^');
      if (caret != std::string::npos) {
        const std::string base = text.substr(0, caret), exp = text.substr(caret + 1);
        char *e1 = nullptr, *e2 = nullptr;
        const long long b = std::strtoll(base.c_str(), &e1, 10), x = std::strtoll(exp.c_str(), &e2, 10);
        if (*e1 == '\0' && *e2 == '\0' && !base.empty() && !exp.empty() && x >= 0 && x < 63) {
          const double p = std::pow(static_cast<double>(b), static_cast<double>(x));
          if (p < 9.2e18) return std::to_string(static_cast<long long>(std::llround(p)));
        }
      }
      const double d = std::strtod(text.c_str(), &end);
      if (*end == '\0' && std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18)
        return std::to_string(static_cast<long long>(d));
      return fail("an integer (e.g. 4, 1e5 or 2^10)");
    }
    case ParamType::Real: {
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (*end != '\0' || !std::isfinite(v)) return fail("a finite real number");
      return format_real(v);
    }
    case ParamType::Bool: {
      std::string l = text;
      std::transform(l.begin(), l.end(), l.begin(), ::tolower);
      if (l == "1" || l == "true" || l == "yes" || l == "on") return "1";
      if (l == "0" || l == "false" || l == "no" || l == "off") return "0";
      return fail("a boolean (0/1, true/false)");
    }
    case ParamType::String: {
      if (spec.choices.empty()) return text;
      if (std::find(spec.choices.begin(), spec.choices.end(), text) != spec.choices.end()) return text;
      std::string list;
      for (const auto& c : spec.choices) list += (list.empty() ? "" : " | ") + c;
      return fail("one of " + list);
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
    throw InputError("'" + assignment + "' is not an assignment: write key=value (e.g. --set data.num_contexts=4)");
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
  return std::stoll(v);
}

double ParamMap::get_real(const std::string& key) const {
  const auto& v = get_string(key);
  if (v.empty()) throw InputError("parameter '" + key + "' is unset but needed here: set it with " + key + "=VALUE");
  return std::stod(v);
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
