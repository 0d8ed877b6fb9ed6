// The synthetic family: the §2 transformer on the stylized distribution (PAPER-SPEC §1, §2). Its keys are the
// shared ones of the data, model and train rooms (data.*, model.*, train.*, eval.*), registered by those rooms.
#include <memory>

#include "iclsweep/core/family.hpp"
#include "kinds/synthetic/transformer_kind.hpp"

void icl_register_family_synthetic(icl::FamilyRegistry& families) {
  families.add({"synthetic", "PAPER-SPEC §2: the transformer on the stylized distribution", {},
                {std::make_shared<icl::TransformerKind>()}});
}
