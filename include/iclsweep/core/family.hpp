#pragma once
// A family is one experiment's package: its folder src/kinds/<family>/ owns its keys, its model kinds,
// their numerics and its tests (tests/unit/test_<family>_*.cpp), like a LAMMPS package. The build finds
// every folder under src/kinds/ and calls the one function each defines,
//
//     void icl_register_family_<family>(icl::FamilyRegistry& families);   // in src/kinds/<family>/register.cpp
//
// so adding a family edits no central list: job loading, `keys`, `list`, `status`, `calibrate`, `run` and
// the results file learn its kinds and keys from here (docs/families.md).
#include <memory>
#include <string>
#include <vector>

#include "iclsweep/core/model_kind.hpp"
#include "iclsweep/core/params.hpp"

namespace icl {

struct Family {
  std::string name;     // the folder's name: lower case, [a-z0-9_]
  std::string summary;  // one line: the experiment and its source ("Reddy 2024: bursty Gaussian-mixture ICL")
  std::vector<ParamSpec> params;                       // the keys this family owns, in sections of its own
  std::vector<std::shared_ptr<const ModelKind>> kinds;  // run.model_kind values it implements
};

class FamilyRegistry {
 public:
  // Throws Error when the family, one of its kinds or one of its keys is already registered, or when a
  // name breaks the rules above: two packages never silently shadow each other.
  void add(Family family);
  const std::vector<Family>& all() const { return families_; }
  // nullptr when no family implements the kind.
  const ModelKind* find_kind(const std::string& kind_name) const;

 private:
  std::vector<Family> families_;
};

// Every family under src/kinds/, registered once in folder-name order (the build generates the calls).
const FamilyRegistry& families();

}  // namespace icl
