#define BOOST_TEST_MODULE core_cost_model
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "iclsweep/core/cost_model.hpp"
#include "iclsweep/core/error.hpp"

// The calibration file `iclsweep calibrate` writes and `list`/`run`/slurm/submit read.
using namespace icl;

namespace {
std::string temp_path(const std::string& name) { return "/tmp/iclsweep-test-" + std::to_string(::getpid()) + "-" + name; }

std::string message_of(const std::string& path) {
  try {
    CostConstants::load(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

BOOST_AUTO_TEST_CASE(written_file_reads_back_and_prices_terms) {
  const std::string path = temp_path("calibration.ini");
  write_calibration(path, {{"k/a", 0.5}, {"k/b", 2e-6}}, "written by a test");
  const CostConstants c = CostConstants::load(path);
  BOOST_TEST(c.calibrated());
  BOOST_TEST(c.seconds("k/a", 9) == 0.5);
  BOOST_TEST(c.seconds("k/b", 9) == 2e-6);
  BOOST_TEST(c.seconds("k/other", 9) == 9);  // not in the file: the reference value
  BOOST_TEST(c.describe().find("written by a test") != std::string::npos);
  const std::vector<CostConstant> constants = {{"k/a", "a", 1.0}, {"k/b", "b", 1.0}, {"k/c", "c", 3.0}};
  BOOST_TEST(price(constants, {{"k/a", 4}, {"k/b", 1e6}, {"k/c", 2}}, c) == 0.5 * 4 + 2 + 3.0 * 2,
             boost::test_tools::tolerance(1e-12));
  BOOST_CHECK_THROW(price(constants, {{"k/missing", 1}}, c), Error);
  std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(bad_files_are_refused_naming_file_and_line) {
  const std::string path = temp_path("bad.ini");
  for (const std::string line : {"k/a = -1", "k/a = nan", "k/a = 1s", "= 3", "k/a"}) {
    std::ofstream(path) << "# header\nk/ok = 1\n" << line << "\n";
    const std::string m = message_of(path);
    BOOST_TEST(m.find(path) != std::string::npos, line << ": " << m);
    BOOST_TEST(m.find("line 3") != std::string::npos, line << ": " << m);
    BOOST_TEST(m.find("iclsweep calibrate") != std::string::npos, line << ": " << m);
  }
  BOOST_TEST(message_of(temp_path("missing.ini")).find("cannot be read") != std::string::npos);
  std::remove(path.c_str());
}
