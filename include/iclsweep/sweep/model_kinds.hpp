#pragma once
// The model kinds (run.model_kind), looked up in the families of src/kinds/ (core/family.hpp): a kind is
// added by its family folder, never here.
#include <string>
#include <vector>

#include "iclsweep/core/model_kind.hpp"

namespace icl {

// Throws InputError naming run.model_kind and the known kinds for unknown names.
const ModelKind& model_kind(const std::string& name);
std::vector<std::string> model_kind_names();
// Registers every kind's cross-key validator with the job loader (sweep/job.hpp).
void register_model_kind_validators();


}  // namespace icl
