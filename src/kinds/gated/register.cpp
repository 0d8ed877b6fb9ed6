// The gated family: the g/h/alpha model of PAPER-SPEC §3 on the stylized distribution, its protocol chain
// (P0-g, P0-h, the mixture) and its keys (model.gated_protocol, model.ic_temperature, gated.*).
#include <memory>

#include "iclsweep/core/family.hpp"
#include "kinds/gated/gated_kind.hpp"

void icl_register_family_gated(icl::FamilyRegistry& families) {
  families.add({"gated", "PAPER-SPEC §3: the gated g/h/alpha model", icl::gated_param_specs(),
                {std::make_shared<icl::GatedKind>()}});
}
