#pragma once
// Helpers shared by tests/unit/test_reddy_*.cpp: a point with every reddy.* key at its default.
#include <string>
#include <utility>
#include <vector>

#include "iclsweep/core/params.hpp"
#include "kinds/reddy/kind.hpp"

namespace icl::test {

inline ParamRegistry reddy_registry() {
  ParamRegistry r;
  r.add(reddy::param_specs());
  r.add({{"data.seed", ParamType::Int, "0", "seed", {}, 0, (std::int64_t{1} << 32) - 1},
         {"run.model_kind", ParamType::String, "reddy", "kind", {}}});
  return r;
}

inline ParamMap reddy_point(const std::vector<std::pair<std::string, std::string>>& overrides) {
  static const ParamRegistry registry = reddy_registry();
  ParamMap p = ParamMap::defaults(registry);
  for (const auto& [k, v] : overrides) p.set(registry, k, v);
  return p;
}

}  // namespace icl::test
