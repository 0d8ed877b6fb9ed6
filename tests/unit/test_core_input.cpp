#define BOOST_TEST_MODULE core_input
// Hostile parameter values (issue 10, defects 3, 8, 9): integer ranges, numeric spellings, and the
// one quoting function every message uses to echo user input.
#include <boost/test/unit_test.hpp>
#include <string>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/params.hpp"
#include "iclsweep/core/quote.hpp"

using namespace icl;

namespace {

const ParamSpec kBatch{"train.batch_size", ParamType::Int, "32", "sequences per step", {}, 1, 65536};
const ParamSpec kSteps{"train.steps", ParamType::Int, "1000", "optimizer steps (no declared range)", {}};
const ParamSpec kSeed{"data.seed", ParamType::Int, "0", "seed", {}, 0, std::int64_t{1} << 62};
const ParamSpec kNoise{"data.input_noise_std", ParamType::Real, "0", "sigma", {}};

// The InputError message canonical_value throws ("" if it accepts the text).
std::string rejection(const ParamSpec& spec, const std::string& text) {
  try {
    canonical_value(spec, text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_CASE(integers_outside_the_declared_range_are_refused_not_truncated) {
  const std::string m = rejection(kBatch, "4294967328");  // 2^32 + 32: was silently 32
  BOOST_TEST(contains(m, "train.batch_size"));
  BOOST_TEST(contains(m, "4294967328"));
  BOOST_TEST(contains(m, "between 1 and 65536"));
  BOOST_TEST(!rejection(kBatch, "0").empty());
  BOOST_TEST(canonical_value(kBatch, "65536") == "65536");
  // Without a declared range an integer key takes the 32-bit range, so no reader can truncate it.
  BOOST_TEST(contains(rejection(kSteps, "4294967328"), "train.steps"));
  BOOST_TEST(canonical_value(kSteps, "2147483647") == "2147483647");
  BOOST_TEST(kBatch.int_min == 1);
  BOOST_TEST(kSteps.int_max == 2147483647);
  BOOST_TEST(range_text(kBatch) == "1..2^16");
  BOOST_TEST(range_text(kSteps) == "-2^31..2^31-1");
}

BOOST_AUTO_TEST_CASE(integer_spellings_are_exact_and_checked) {
  BOOST_TEST(canonical_value(kSeed, "-0") == "0");
  BOOST_TEST(canonical_value(kSeed, "+4") == "4");
  BOOST_TEST(canonical_value(kSeed, "1e0") == "1");
  BOOST_TEST(canonical_value(kSeed, "1.50e1") == "15");
  BOOST_TEST(canonical_value(kSeed, "2^10") == "1024");
  BOOST_TEST(canonical_value(kSeed, "1e18") == "1000000000000000000");
  BOOST_TEST(canonical_value(kSeed, "4611686018427387903e0") == "4611686018427387903");  // exact, beyond 2^53
  BOOST_TEST(canonical_value(kSeed, "2^62") == "4611686018427387904");
  for (const char* bad : {"99999999999999999999", "2^64", "3^40", "1e19", "1e999999999", "1.5", "0x10", "1e", "--1",
                          "nan", "inf", "1 000", "2^-1"})
    BOOST_TEST(contains(rejection(kSeed, bad), "data.seed"), bad);
}

BOOST_AUTO_TEST_CASE(real_spellings_canonicalise_and_subnormals_are_refused) {
  BOOST_TEST(canonical_value(kNoise, "-0") == "0");
  BOOST_TEST(canonical_value(kNoise, "-0.0e5") == "0");
  BOOST_TEST(canonical_value(kNoise, "1e0") == "1");
  BOOST_TEST(canonical_value(kNoise, "0.50") == "0.5");
  BOOST_TEST(canonical_value(kNoise, ".5") == "0.5");
  BOOST_TEST(canonical_value(kNoise, "2.") == "2");
  for (const char* bad : {"1e-320", "1e-400", "1e400", "nan", "-inf", "0x1p3", "1,5", "1e+", "."}) {
    const std::string m = rejection(kNoise, bad);
    BOOST_TEST(contains(m, "data.input_noise_std"), bad << ": " << m);
  }
  BOOST_TEST(contains(rejection(kNoise, "1e-320"), "subnormal"));
}

BOOST_AUTO_TEST_CASE(a_nul_byte_inside_a_value_is_refused_not_truncated) {
  const std::string m = rejection(kBatch, std::string("6\0" "4", 3));
  BOOST_TEST(contains(m, "train.batch_size"));
  BOOST_TEST(contains(m, "\\x00"));
  BOOST_TEST(!contains(m, std::string(1, '\0')));
}

BOOST_AUTO_TEST_CASE(typed_getters_name_the_key_instead_of_stoll) {
  ParamMap m;
  m.set_raw("train.steps", "abc");
  m.set_raw("train.batch_size", "4294967328");
  m.set_raw("data.p_high", "1e-320");
  try {
    m.get_int("train.steps");
    BOOST_FAIL("no throw");
  } catch (const ParamError& e) {
    BOOST_TEST(e.key == "train.steps");
  }
  BOOST_CHECK_THROW(m.get_int32("train.batch_size"), ParamError);
  BOOST_TEST(m.get_int("train.batch_size") == 4294967328LL);
  BOOST_TEST(m.get_real("data.p_high") > 0.0);  // readable, not std::out_of_range from stod
}

BOOST_AUTO_TEST_CASE(echoed_input_is_escaped_and_truncated) {
  BOOST_TEST(printable("a\x01" "b") == "a\\x01b");
  BOOST_TEST(printable(std::string("x\0y", 3)) == "x\\x00y");
  BOOST_TEST(printable("\xEF\xBB\xBFkey") == "\\xEF\\xBB\\xBFkey");  // an invisible BOM shows
  BOOST_TEST(printable("\xFF\xFE") == "\\xFF\\xFE");                 // not UTF-8
  BOOST_TEST(printable("sigma \xCF\x83") == "sigma \xCF\x83");       // UTF-8 text stays readable
  BOOST_TEST(quote("it") == "'it'");
  const std::string big(1048576, 'x');
  const std::string q = quote(big);
  BOOST_TEST(q.size() < 100u);
  BOOST_TEST(contains(q, "(1048576 bytes)"));
  BOOST_TEST(q.substr(0, 61) == "'" + std::string(60, 'x'));
  // ParamError and canonical_value echo through it.
  const std::string m = rejection(kNoise, big);
  BOOST_TEST(m.size() < 300u);
  BOOST_TEST(contains(m, "(1048576 bytes)"));
  const ParamError e("data.conditioning", "bad\x07value", "must be one of none | high_prob");
  BOOST_TEST(contains(e.what(), "bad\\x07value"));
}
