#include <memory>

#include "iclsweep/core/family.hpp"
#include "kinds/reddy/kind.hpp"

void icl_register_family_reddy(icl::FamilyRegistry& families) {
  families.add({"reddy", "Reddy 2024: bursty Gaussian-mixture in-context classification (PEERS-SPEC §1)",
                icl::reddy::param_specs(), {std::make_shared<icl::reddy::ReddyKind>()}});
}
