// The family registry (core/family.hpp): two packages never silently shadow each other's kinds or keys.
#define BOOST_TEST_MODULE core_family
#include <boost/test/unit_test.hpp>

#include <memory>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/family.hpp"

namespace {

class NamedKind final : public icl::ModelKind {
 public:
  explicit NamedKind(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  std::vector<std::string> validate(const icl::ParamMap&) const override { return {}; }
  icl::ResultSchema schema(const icl::ParamMap&) const override { return {}; }
  std::vector<icl::CostConstant> cost_constants() const override { return {}; }
  std::vector<icl::CostTerm> cost_terms(const icl::ParamMap&) const override { return {}; }
  icl::PointRecord run(const icl::ParamMap&, const icl::ProgressFn&) const override { return {}; }

 private:
  std::string name_;
};

icl::Family family(const std::string& name, const std::string& kind, const std::string& key) {
  return {name, "a family of the test", {{key, icl::ParamType::Int, "1", "a key"}}, {std::make_shared<NamedKind>(kind)}};
}

}  // namespace

BOOST_AUTO_TEST_CASE(families_and_their_kinds_are_found) {
  icl::FamilyRegistry r;
  r.add(family("alpha", "alpha_kind", "alpha.size"));
  r.add(family("beta", "beta_kind", "beta.size"));
  BOOST_TEST(r.all().size() == 2u);
  BOOST_REQUIRE(r.find_kind("beta_kind") != nullptr);
  BOOST_TEST(r.find_kind("beta_kind")->name() == "beta_kind");
  BOOST_TEST(r.find_kind("gamma_kind") == nullptr);
}

BOOST_AUTO_TEST_CASE(a_second_family_with_a_taken_name_kind_or_key_is_refused) {
  icl::FamilyRegistry r;
  r.add(family("alpha", "alpha_kind", "alpha.size"));
  BOOST_CHECK_THROW(r.add(family("alpha", "other_kind", "other.size")), icl::Error);
  BOOST_CHECK_THROW(r.add(family("beta", "alpha_kind", "beta.size")), icl::Error);
  BOOST_CHECK_THROW(r.add(family("beta", "beta_kind", "alpha.size")), icl::Error);
  BOOST_CHECK_THROW(r.add(family("Beta-2", "beta_kind", "beta.size")), icl::Error);
  BOOST_TEST(r.all().size() == 1u);
}
