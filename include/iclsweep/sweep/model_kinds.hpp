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

class Job;
// One message per key the job sets (a grid axis, or a fixed value other than the default) that no kind of
// its points reads: a family's keys apply to its own kinds, a room's shared keys to the kinds that declare
// them (ModelKind::shared_keys). Warnings, not errors: the points run as they would without the key.
std::vector<std::string> ignored_key_warnings(const Job& job, const ParamRegistry& registry);

}  // namespace icl
