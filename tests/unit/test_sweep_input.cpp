#define BOOST_TEST_MODULE sweep_input
// Hostile job files (issue 10, defects 3, 4, 8, 9): range arithmetic, caps before work, linear
// validation, gaps that used to reach a run, and escaped echoes of raw input.
#include <boost/test/unit_test.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "iclsweep/core/error.hpp"
#include "iclsweep/data/params.hpp"
#include "iclsweep/sweep/grid.hpp"
#include "iclsweep/sweep/job.hpp"

using namespace icl;

namespace {

const ParamRegistry& test_registry() {
  static const ParamRegistry r = [] {
    ParamRegistry reg;
    reg.add(data_param_specs());
    reg.add(sweep_param_specs());
    reg.add({{"train.steps", ParamType::Int, "50000", "optimizer steps", {}, 1, (std::int64_t{1} << 31) - 1}});
    return reg;
  }();
  return r;
}

std::string parse_error(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    Job::parse(text, "test.ini", overrides, test_registry());
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

std::string load_error(const std::string& path) {
  try {
    Job::load(path, {}, test_registry());
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::size_t count(const std::string& s, const std::string& part) {
  std::size_t n = 0;
  for (auto at = s.find(part); at != std::string::npos; at = s.find(part, at + 1)) ++n;
  return n;
}

std::string temp_file(const std::string& name, const std::string& bytes) {
  const auto dir = std::filesystem::temp_directory_path() / ("iclsweep_sweep_input_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

}  // namespace

// ---- 3: integer handling ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(ranges_near_the_64_bit_limits_expand_exactly_or_fail_at_once) {
  // The loop variable used to overflow past INT64_MAX and never stop.
  const auto two = expand_value_list("9223372036854775806..9223372036854775807");
  BOOST_TEST(two == (std::vector<std::string>{"9223372036854775806", "9223372036854775807"}), boost::test_tools::per_element());
  BOOST_TEST(expand_value_list("-9223372036854775807..9223372036854775807 step 9223372036854775807").size() == 3u);
  // (hi - lo) overflowed, so this bypassed the cap; now the count is computed first.
  std::string m;
  try {
    expand_value_list("-9223372036854775807..9223372036854775807");
  } catch (const InputError& e) {
    m = e.what();
  }
  BOOST_TEST(contains(m, "18446744073709551615 values"), m);
  BOOST_TEST(contains(m, "1000000"), m);
  BOOST_CHECK_THROW(expand_value_list("0..1000000"), InputError);  // 1000001 values: past the point cap
  BOOST_TEST(expand_value_list("0..999999").size() == 1000000u);
  BOOST_CHECK_THROW(expand_value_list("0..9223372036854775808"), InputError);  // an end beyond 64 bits
}

BOOST_AUTO_TEST_CASE(seed_ranges_past_the_declared_range_are_one_clear_error) {
  const auto m = parse_error("[grid]\nseeds = 9223372036854775806..9223372036854775807\n");
  BOOST_TEST(contains(m, "test.ini:2:"), m);
  BOOST_TEST(contains(m, "data.seed"), m);
  BOOST_TEST(contains(m, "out of range"), m);
  const auto wide = parse_error("[grid]\nseeds = -9223372036854775807..9223372036854775807\n");
  BOOST_TEST(contains(wide, "test.ini:2:"), wide);
  BOOST_TEST(contains(wide, "more than"), wide);
  BOOST_TEST(contains(parse_error("[data]\ndataset_size = 4294967328\n"), "between 1 and 2147483648"));
}

// ---- 4: caps first, linear validation ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(long_lists_are_checked_in_linear_time_and_a_repeat_is_found) {
  std::string list;
  for (int i = 0; i < 80000; ++i) list += (i ? ", " : "") + std::to_string(i);
  list += ", 79999, 0";  // two repeats at the end
  const auto m = parse_error("[grid]\nseeds = " + list + "\n");
  BOOST_TEST(contains(m, "value 79999 appears twice"), m.substr(0, 400));
  BOOST_TEST(contains(m, "value 0 appears twice"), m.substr(0, 400));
}

BOOST_AUTO_TEST_CASE(the_point_cap_is_checked_before_points_are_built) {
  // 1000 x 1001 = 1001000 points: refused from the axis lengths alone.
  const auto m = parse_error("[grid]\ndata.dataset_size = 1000..1999\nseeds = 0..1000\n");
  BOOST_TEST(contains(m, "more than 1000000 points"), m);
  BOOST_TEST(count(m, "\n") == 1u, m);
}

BOOST_AUTO_TEST_CASE(points_are_streamed_not_stored) {
  const Job job = Job::parse("[grid]\ndata.dataset_size = 2^10..2^13\nseeds = 0..2\n", "t.ini", {}, test_registry());
  BOOST_TEST(job.size() == 12u);
  const JobPoint p = job.point(7);  // N = 2^12, seed 1
  BOOST_TEST(p.index == 7u);
  BOOST_TEST(p.params.get_int("data.dataset_size") == 4096);
  BOOST_TEST(p.params.get_int("data.seed") == 1);
  BOOST_TEST(p.id == point_id(p.params, test_registry()));
  BOOST_TEST(job.points()[7].id == p.id);  // the materialised list agrees
}

// ---- 8: validation gaps ---------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_directory_or_an_empty_file_is_not_a_job) {
  const auto dir = std::filesystem::temp_directory_path().string();
  const auto m = load_error(dir);
  BOOST_TEST(contains(m, "is a directory"), m);
  BOOST_TEST(contains(load_error(temp_file("empty.ini", "")), "is empty"));
  const auto comments = load_error(temp_file("comments.ini", "# nothing here\n\n   \n"));
  BOOST_TEST(contains(comments, "no settings"), comments);
  BOOST_TEST(contains(comments, "[run]"), comments);  // the fix: what to write
}

BOOST_AUTO_TEST_CASE(numeric_spellings_of_one_value_are_one_value) {
  BOOST_TEST(contains(parse_error("[grid]\ndata.input_noise_std = 0, -0\n"), "value 0 (written -0) appears twice"));
  BOOST_TEST(contains(parse_error("[grid]\ndata.p_high = 0.5, 0.50\n"), "value 0.5 (written 0.50) appears twice"));
  BOOST_TEST(contains(parse_error("[grid]\ndata.label_noise = 0.1, 1e-1\n"), "value 0.1 (written 1e-1) appears twice"));
  BOOST_TEST(contains(parse_error("[grid]\nseeds = 1, 1e0, 0.1e1\n"), "value 1 (written 1e0) appears twice"));
  // -0 and 0 give one point id.
  const Job a = Job::parse("[data]\ninput_noise_std = -0\n", "a.ini", {}, test_registry());
  const Job b = Job::parse("[data]\ninput_noise_std = 0\n", "b.ini", {}, test_registry());
  BOOST_TEST(a.grid_hash() == b.grid_hash());
}

BOOST_AUTO_TEST_CASE(subnormals_and_nul_bytes_name_the_key) {
  const auto m = parse_error("[data]\ninput_noise_std = 1e-320\n");
  BOOST_TEST(contains(m, "test.ini:2: parameter 'data.input_noise_std' = '1e-320'"), m);
  BOOST_TEST(!contains(m, "stod"));
  const auto nul = parse_error(std::string("[data]\nnum_dims = 6\0" "4\n", 22));
  BOOST_TEST(contains(nul, "test.ini:2:"), nul);
  BOOST_TEST(contains(nul, "data.num_dims"), nul);
  BOOST_TEST(contains(nul, "\\x00"), nul);
  BOOST_TEST(!contains(nul, std::string(1, '\0')));
}

BOOST_AUTO_TEST_CASE(a_problem_caused_by_set_is_reported_once_naming_set) {
  // D = 32 breaks D = E (64, the identity tokenizer) on every one of the 8 points.
  const auto m = parse_error("[grid]\ndata.dataset_size = 2^6, 2^7\nseeds = 0..3\n", {"data.num_dims=32"});
  BOOST_TEST(count(m, "parameter 'data.num_dims'") == 1u, m);
  BOOST_TEST(contains(m, "--set 'data.num_dims=32': every point (8): parameter 'data.num_dims' = 32"), m);
  BOOST_TEST(contains(m, "1 problem "), m);
  // The same problem from a fixed line of the file: once, at that line.
  const auto fixed = parse_error("[data]\nnum_dims = 32\n[grid]\nseeds = 0..3\n");
  BOOST_TEST(contains(fixed, "test.ini:2: every point (4): parameter 'data.num_dims' = 32"), fixed);
  BOOST_TEST(count(fixed, "data.num_dims") == 1u, fixed);
}

// ---- 9: raw input in messages --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_bom_is_stripped_and_binary_files_are_refused) {
  const Job job = Job::load(temp_file("bom.ini", "\xEF\xBB\xBF[data]\nnum_contexts = 2\n"), {}, test_registry());
  BOOST_TEST(job.base_params().get_int("data.num_contexts") == 2);
  std::string binary = "\x89HDF\r\n\x1a\n";
  for (int i = 0; i < 4096; ++i) binary += static_cast<char>((i * 37) & 0xFF);
  const auto m = load_error(temp_file("results.h5", binary));
  BOOST_TEST(contains(m, "binary file?"), m.substr(0, 300));
  BOOST_TEST(count(m, "\n") == 0u, m.substr(0, 300));
  BOOST_TEST(m.size() < 400u, m.substr(0, 400));
}

BOOST_AUTO_TEST_CASE(echoed_lines_keys_and_values_are_escaped_and_truncated) {
  const std::string big(1048576, '7');
  const auto m = parse_error("[data]\np_high = 0.9" + big + "x\n");
  BOOST_TEST(contains(m, "(1048580 bytes)"), m.substr(0, 300));
  BOOST_TEST(m.size() < 400u, m.substr(0, 400));
  const auto key = parse_error("[data]\nnum\x1b[2Jctx = 3\n");
  BOOST_TEST(contains(key, "\\x1B"), key);
  BOOST_TEST(!contains(key, "\x1b"), key);
  const auto line = parse_error("[data]\n\x01\x02 no equals\n");
  BOOST_TEST(contains(line, "\\x01\\x02 no equals"), line);
  const auto section = parse_error("[d\x7f" "ata]\n");
  BOOST_TEST(contains(section, "\\x7F"), section);
  const auto set = parse_error("[data]\nnum_contexts = 2\n", {"data.p_high=\x01"});
  BOOST_TEST(contains(set, "--set 'data.p_high=\\x01'"), set);
  const auto long_key = parse_error("[grid]\n" + std::string(100000, 'k') + " = 1\n");
  BOOST_TEST(long_key.size() < 400u, long_key.substr(0, 400));
}

BOOST_AUTO_TEST_CASE(a_file_of_bad_lines_gives_a_bounded_message) {
  std::string text;
  for (int i = 0; i < 200000; ++i) text += "not a line\n";
  const auto m = parse_error(text);
  BOOST_TEST(contains(m, "200000 problems"), m.substr(0, 200));
  BOOST_TEST(contains(m, "199800 more problems"), m.substr(m.size() > 300 ? m.size() - 300 : 0));
  BOOST_TEST(m.size() < 30000u);
}
