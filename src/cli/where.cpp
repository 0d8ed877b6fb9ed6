#include "iclsweep/cli/where.hpp"

#include "iclsweep/core/error.hpp"

namespace icl::cli {

WhereFilter::WhereFilter(const std::vector<std::string>& conditions, const ParamRegistry& registry) {
  for (const auto& c : conditions) {
    const auto eq = c.find('=');
    if (eq == std::string::npos || eq == 0)
      throw InputError("--where " + quote(c) + ": write KEY=VALUE, e.g. --where data.input_noise_std=0.2 (KEY=a,b for either)");
    const ParamSpec& spec = registry.resolve(trim(c.substr(0, eq)));
    std::set<std::string> values;
    std::string rest = c.substr(eq + 1);
    std::size_t begin = 0;
    while (begin <= rest.size()) {
      auto end = rest.find(',', begin);
      if (end == std::string::npos) end = rest.size();
      const std::string v = trim(rest.substr(begin, end - begin));
      if (v == "unset" || v.empty()) {
        values.insert("");
      } else {
        try {
          values.insert(canonical_value(spec, v));
        } catch (const InputError& e) {
          throw InputError("--where " + quote(c) + ": " + e.what());
        }
      }
      begin = end + 1;
    }
    conditions_.emplace_back(spec.key, std::move(values));
  }
}

bool WhereFilter::matches(const ParamMap& params) const {
  for (const auto& [key, values] : conditions_) {
    const auto it = params.values().find(key);
    if (!values.count(it == params.values().end() ? std::string() : it->second)) return false;
  }
  return true;
}

std::string WhereFilter::describe() const {
  std::string s;
  for (const auto& [key, values] : conditions_) {
    s += (s.empty() ? "" : " ") + key + "=";
    bool first = true;
    for (const auto& v : values) {
      s += (first ? "" : ",") + (v.empty() ? std::string("unset") : v);
      first = false;
    }
  }
  return s;
}

}  // namespace icl::cli
