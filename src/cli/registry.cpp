#include "iclsweep/cli/registry.hpp"

#include "iclsweep/core/family.hpp"
#include "iclsweep/data/omniglot_pool.hpp"
#include "iclsweep/data/params.hpp"
#include "iclsweep/lm/lm_facts_kind.hpp"
#include "iclsweep/model/config.hpp"
#include "iclsweep/sweep/job.hpp"
#include "iclsweep/theory/params.hpp"
#include "iclsweep/train/config.hpp"
#include "iclsweep/train/gated_kind.hpp"

namespace icl::cli {

const ParamRegistry& registry() {
  static const ParamRegistry r = [] {
    ParamRegistry reg;
    reg.add(data_param_specs());
    reg.add(sweep_param_specs());
    reg.add(train_param_specs());
    reg.add(model_param_specs());
    reg.add(gated_param_specs());
    reg.add(theory_param_specs());
    reg.add(omniglot_param_specs());
    reg.add(lm::lm_param_specs());
    for (const auto& family : families().all()) reg.add(family.params);
    return reg;
  }();
  return r;
}

}  // namespace icl::cli
