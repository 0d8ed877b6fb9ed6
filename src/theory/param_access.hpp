#pragma once
// Internal: read theory.*/online.* keys, falling back to the room's declared defaults when a map
// was built without them (e.g. by a caller that registered only data.*).
#include <string>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/params.hpp"
#include "iclsweep/theory/params.hpp"

namespace icl::detail {

inline const std::string& theory_value(const ParamMap& p, const std::string& key) {
  if (p.values().count(key)) return p.get_string(key);
  static const std::vector<ParamSpec> specs = theory_param_specs();
  for (const auto& s : specs)
    if (s.key == key) return s.default_value;
  return p.get_string(key);  // not ours: let ParamMap report it
}
inline double theory_real(const ParamMap& p, const std::string& key) {
  const auto& v = theory_value(p, key);
  if (v.empty()) throw InputError("parameter '" + key + "' is unset but needed here: set it with " + key + "=VALUE");
  return parse_real_value(key, v);
}
inline long long theory_int(const ParamMap& p, const std::string& key) {
  const auto& v = theory_value(p, key);
  if (v.empty()) throw InputError("parameter '" + key + "' is unset but needed here: set it with " + key + "=VALUE");
  return parse_int_value(key, v);
}
// theory_int() for a reader that keeps the value in an int: refuses rather than truncates.
inline int theory_int32(const ParamMap& p, const std::string& key) {
  const long long v = theory_int(p, key);
  if (v < -2147483647LL - 1 || v > 2147483647LL)
    throw ParamError(key, std::to_string(v), "is outside the 32-bit range this reader keeps it in");
  return static_cast<int>(v);
}
inline bool theory_bool(const ParamMap& p, const std::string& key) { return theory_int(p, key) != 0; }

}  // namespace icl::detail
