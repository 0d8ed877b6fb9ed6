#include "iclsweep/cli/registry.hpp"

#include "iclsweep/data/params.hpp"

namespace icl::cli {

const ParamRegistry& registry() {
  static const ParamRegistry r = [] {
    ParamRegistry reg;
    reg.add(data_param_specs());
    return reg;
  }();
  return r;
}

}  // namespace icl::cli
