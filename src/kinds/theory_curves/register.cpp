// The theory_curves family: the paper's theory (PAPER-SPEC §4) as two kinds, the closed-form curves of §4.6
// (theory) and the Algorithm 1 simulation (online), with the theory.* keys. The numerics are the theory room's.
#include "iclsweep/core/family.hpp"
#include "iclsweep/theory/params.hpp"
#include "kinds/theory_curves/theory_kinds.hpp"

void icl_register_family_theory_curves(icl::FamilyRegistry& families) {
  families.add({"theory_curves", "PAPER-SPEC §4: the §4.6 curves (theory) and the Algorithm 1 simulation (online)",
                icl::theory_param_specs(), {icl::make_theory_kind(), icl::make_online_kind()}});
}
