#pragma once
// Parameter keys of the theory room (PAPER-SPEC §4): [theory] for the bounds figure (§4.6) and
// [online] for the Algorithm 1 simulation (§4.4). The online distribution itself uses the data.* keys.
#include <vector>

#include "iclsweep/core/params.hpp"

namespace icl {

// theory.* and online.* keys; registered once, by the theory_curves family (src/kinds/theory_curves/register.cpp).
std::vector<ParamSpec> theory_param_specs();

}  // namespace icl
