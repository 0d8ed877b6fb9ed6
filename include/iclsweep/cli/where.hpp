#pragma once
// `--where KEY=VALUE` filters of `list` and `status` (the analysis scripts take the same syntax): a point
// matches when, for every condition, its canonical value is one of the listed ones (KEY=a,b: either).
// Keys may be short names (num_contexts); values are canonicalised by the key's type (0.50 = 0.5);
// `unset` matches an unset optional key.
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "iclsweep/core/params.hpp"

namespace icl::cli {

class WhereFilter {
 public:
  WhereFilter() = default;
  WhereFilter(const std::vector<std::string>& conditions, const ParamRegistry& registry);
  bool empty() const { return conditions_.empty(); }
  bool matches(const ParamMap& params) const;
  std::string describe() const;  // "data.input_noise_std=0.2 data.seed=0,1"

 private:
  std::vector<std::pair<std::string, std::set<std::string>>> conditions_;
};

}  // namespace icl::cli
