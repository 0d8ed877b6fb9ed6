#include "iclsweep/cli/registry.hpp"

#include "iclsweep/core/family.hpp"
#include "iclsweep/data/params.hpp"
#include "iclsweep/model/config.hpp"
#include "iclsweep/sweep/job.hpp"
#include "iclsweep/train/config.hpp"

namespace icl::cli {

// The rooms' shared keys (data, run, train and eval, model), then every family's own keys (src/kinds/).
const ParamRegistry& registry() {
  static const ParamRegistry r = [] {
    ParamRegistry reg;
    reg.add(data_param_specs());
    reg.add(sweep_param_specs());
    reg.add(train_param_specs());
    reg.add(model_param_specs());
    for (const auto& family : families().all()) reg.add(family.params);
    return reg;
  }();
  return r;
}

}  // namespace icl::cli
