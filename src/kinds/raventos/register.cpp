// The Raventós 2023 family: in-context linear regression and the task-diversity threshold (PEERS-SPEC §3).
#include <memory>

#include "iclsweep/core/family.hpp"
#include "kinds/raventos/kind.hpp"
#include "kinds/raventos/params.hpp"

void icl_register_family_raventos(icl::FamilyRegistry& families) {
  families.add({"raventos", "Raventós 2023: in-context linear regression and the task-diversity threshold",
                icl::raventos::param_specs(), {std::make_shared<icl::raventos::RaventosKind>()}});
}
