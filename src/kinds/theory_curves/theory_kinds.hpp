#pragma once
// The kinds of the paper's theory (PAPER-SPEC §4): run.model_kind = theory, the closed-form curves of
// §4.6 (theory/bounds.hpp), and run.model_kind = online, the Algorithm 1 simulation (theory/online.hpp).
// Their numerics live in the theory room; this family owns the kinds and registers the theory.* keys.
#include <memory>

#include "iclsweep/core/model_kind.hpp"

namespace icl {

std::shared_ptr<const ModelKind> make_theory_kind();
std::shared_ptr<const ModelKind> make_online_kind();

}  // namespace icl
