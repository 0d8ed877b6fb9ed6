#pragma once
// Every parameter key iclsweep knows, from all rooms: the vocabulary of job files and --set.
#include "iclsweep/core/params.hpp"

namespace icl::cli {
const ParamRegistry& registry();
}  // namespace icl::cli
