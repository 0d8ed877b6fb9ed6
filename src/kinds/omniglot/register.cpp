// The omniglot family: the §2 transformer with the ResNet-v1 image tokenizer on Omniglot (PAPER-SPEC §5.3),
// with the omniglot.* keys. The image store and the Omniglot sequence pools are the data room's.
#include <memory>

#include "iclsweep/core/family.hpp"
#include "iclsweep/data/omniglot_pool.hpp"
#include "kinds/omniglot/omniglot_kind.hpp"

void icl_register_family_omniglot(icl::FamilyRegistry& families) {
  families.add({"omniglot", "PAPER-SPEC §5.3: the transformer on Omniglot images", icl::omniglot_param_specs(),
                {std::make_shared<icl::OmniglotKind>()}});
}
