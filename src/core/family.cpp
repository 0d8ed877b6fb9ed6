#include "iclsweep/core/family.hpp"

#include <algorithm>

#include "iclsweep/core/error.hpp"

namespace icl {

void FamilyRegistry::add(Family family) {
  const auto bad_name = [](const std::string& s) {
    return s.empty() || !std::all_of(s.begin(), s.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
  };
  if (bad_name(family.name))
    throw Error("family '" + family.name + "': a family's name is its folder under src/kinds/, made of a-z, 0-9 and _");
  for (const auto& other : families_) {
    if (other.name == family.name) throw Error("family '" + family.name + "' is registered twice");
    for (const auto& k : family.kinds)
      for (const auto& ok : other.kinds)
        if (k->name() == ok->name())
          throw Error("model kind '" + k->name() + "' of family '" + family.name + "' is already family '" +
                      other.name + "''s: give one of them another name");
    for (const auto& p : family.params)
      for (const auto& op : other.params)
        if (p.key == op.key)
          throw Error("key '" + p.key + "' of family '" + family.name + "' is already family '" + other.name +
                      "''s: keys live in a section of their own family");
  }
  for (const auto& k : family.kinds)
    if (!k || bad_name(k->name()))
      throw Error("family '" + family.name + "': a model kind's name is made of a-z, 0-9 and _");
  families_.push_back(std::move(family));
}

const ModelKind* FamilyRegistry::find_kind(const std::string& kind_name) const {
  for (const auto& f : families_)
    for (const auto& k : f.kinds)
      if (k->name() == kind_name) return k.get();
  return nullptr;
}

}  // namespace icl
