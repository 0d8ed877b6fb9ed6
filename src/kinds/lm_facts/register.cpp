// The lm_facts family: the language-model analog of the fine-tuning experiment (PAPER-SPEC §5.5, issue 13),
// with the lm.* keys. The character LM, the corpus and the probes are the lm room's.
#include <memory>

#include "iclsweep/core/family.hpp"
#include "kinds/lm_facts/lm_facts_kind.hpp"

void icl_register_family_lm_facts(icl::FamilyRegistry& families) {
  families.add({"lm_facts", "PAPER-SPEC §5.5: the language-model analog of fine-tuning", icl::lm::lm_param_specs(),
                {std::make_shared<icl::lm::LmFactsKind>()}});
}
