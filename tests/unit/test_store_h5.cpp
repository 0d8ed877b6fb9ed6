// Round trips through every wrapper type of store/h5.hpp, and HDF5's own messages in StoreError.
#define BOOST_TEST_MODULE store_h5
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

#include "iclsweep/store/h5.hpp"

using namespace icl;
using namespace icl::h5;

namespace {

// A fresh path in the temp directory, removed at scope exit.
struct TempPath {
  std::string path;
  explicit TempPath(const std::string& stem)
      : path("/tmp/iclsweep_test_" + stem + "_" + std::to_string(::getpid()) + ".h5") {
    std::remove(path.c_str());
  }
  ~TempPath() { std::remove(path.c_str()); }
};

template <class T>
std::vector<T> ramp(std::size_t n, double scale) {
  std::vector<T> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<T>(static_cast<double>(i) * scale - 3.0 * scale);
  return v;
}

template <class T>
void check_round_trip(const Container& where, const std::string& name, double scale) {
  const Dims dims{3, 4, 2};
  const auto values = ramp<T>(24, scale);
  where.write_dataset<T>(name, dims, values);
  Dims back_dims;
  const auto back = where.read_dataset<T>(name, &back_dims);
  BOOST_TEST(back_dims == dims);
  BOOST_TEST(back == values);
}

}  // namespace

BOOST_AUTO_TEST_CASE(whole_datasets_of_every_type_round_trip) {
  TempPath tmp("h5_types");
  {
    File f(tmp.path, FileMode::Exclusive);
    auto g = f.create_group("a/b/c");
    check_round_trip<float>(g, "f32", 0.25);
    check_round_trip<double>(g, "f64", 1.0 / 3.0);
    check_round_trip<std::int32_t>(g, "i32", 1000.0);
    check_round_trip<std::int64_t>(f, "deep/i64", 1e12);  // intermediate group "deep" made on the fly
    check_round_trip<std::uint8_t>(g, "u8", 1.0);         // ramp starts at -3 -> wraps, still exact round trip
    g.write_dataset<double>("scalar", {}, {2.5});
    BOOST_TEST(g.dataset("scalar").dims().empty());
    BOOST_TEST(g.read_dataset<double>("scalar")[0] == 2.5);
  }
  File f(tmp.path, FileMode::ReadOnly);
  BOOST_TEST(f.exists("a/b/c/f32"));
  BOOST_TEST(f.exists("/deep/i64"));
  BOOST_TEST(!f.exists("a/x/c"));  // missing parent: false, not an error
  BOOST_TEST(f.open_group("a/b/c").member_names() == (std::vector<std::string>{"f32", "f64", "i32", "scalar", "u8"}));
  // Conversion on read is HDF5's: a float dataset read as double.
  const auto as_double = f.read_dataset<double>("a/b/c/f32");
  BOOST_TEST(as_double[5] == 5 * 0.25 - 3 * 0.25);
}

BOOST_AUTO_TEST_CASE(strings_fixed_and_variable) {
  TempPath tmp("h5_strings");
  File f(tmp.path, FileMode::Truncate);
  const std::vector<std::string> words{"alpha", "", "a much longer string than eight", "ünï"};
  f.write_strings("var", words);
  f.write_strings("fixed", words, 8);
  BOOST_TEST(f.read_strings("var") == words);
  const auto fixed = f.read_strings("fixed");
  BOOST_TEST(fixed[0] == "alpha");
  BOOST_TEST(fixed[1] == "");
  BOOST_TEST(fixed[2] == "a much l");  // truncated to the width
  BOOST_TEST(fixed[3] == "ünï");
  auto d = f.dataset("fixed");
  BOOST_TEST(!d.type().is_variable_string());
  d.write_string_row(1, "row one!extra");
  BOOST_TEST(d.read_string_row(1) == "row one!");
  f.dataset("var").write_string_row(3, "changed");
  BOOST_TEST(f.read_strings("var")[3] == "changed");
}

BOOST_AUTO_TEST_CASE(attributes_scalar_string_vector) {
  TempPath tmp("h5_attrs");
  {
    File f(tmp.path, FileMode::Truncate);
    f.set_attribute("i64", std::int64_t{-1234567890123});
    f.set_attribute("f64", 0.1);
    f.set_attribute("f32", 1.5f);
    f.set_attribute("i32", std::int32_t{-7});
    f.set_attribute("u8", std::uint8_t{200});
    f.set_attribute("text", std::string(100000, 'x'));  // beyond the 64 KiB object-header limit
    f.set_attribute("cstr", "hello");
    f.set_attribute("vec", std::vector<double>{1, 2, 3});
    f.set_attribute("ivec", std::vector<std::int32_t>{4, 5});
    f.set_attribute("svec", std::vector<std::string>{"x", "yy", ""});
    f.set_attribute("f64", 0.2);  // replacing is allowed
    f.set_attribute("empty", std::vector<std::int64_t>{});
    f.set_attribute("no_strings", std::vector<std::string>{});
    auto d = f.write_dataset<float>("g/d", {2}, {1.f, 2.f});
    d.set_attribute("units", std::string("nats"));
  }
  File f(tmp.path, FileMode::ReadOnly);
  BOOST_TEST(f.attribute<std::int64_t>("i64") == -1234567890123);
  BOOST_TEST(f.attribute<double>("f64") == 0.2);
  BOOST_TEST(f.attribute<float>("f32") == 1.5f);
  BOOST_TEST(f.attribute<std::int32_t>("i32") == -7);
  BOOST_TEST(f.attribute<std::uint8_t>("u8") == 200);
  BOOST_TEST(f.attribute<std::string>("text").size() == 100000u);
  BOOST_TEST(f.attribute<std::string>("cstr") == "hello");
  BOOST_TEST(f.attribute<std::vector<double>>("vec") == (std::vector<double>{1, 2, 3}));
  BOOST_TEST(f.attribute<std::vector<std::int32_t>>("ivec") == (std::vector<std::int32_t>{4, 5}));
  BOOST_TEST(f.attribute<std::vector<std::string>>("svec") == (std::vector<std::string>{"x", "yy", ""}));
  BOOST_TEST(f.dataset("g/d").attribute<std::string>("units") == "nats");
  BOOST_TEST(f.has_attribute("vec"));
  BOOST_TEST(!f.has_attribute("nope"));
  BOOST_TEST(f.attribute<std::vector<std::int64_t>>("empty").empty());
  BOOST_TEST(f.attribute<std::vector<std::string>>("no_strings").empty());
  BOOST_TEST(f.attribute_names().size() == 12u);
  BOOST_CHECK_THROW(f.attribute<double>("nope"), StoreError);
  BOOST_CHECK_THROW(f.attribute<double>("vec"), StoreError);  // three values, not one
}

BOOST_AUTO_TEST_CASE(rows_of_a_preallocated_dataset) {
  TempPath tmp("h5_rows");
  File f(tmp.path, FileMode::Truncate);
  auto dcpl = PropertyList::dataset_create();
  dcpl.contiguous().alloc_time_early().fill_time_alloc().fill_value<double>(NAN);
  auto d = f.create_dataset<double>("grid", {5, 2, 3}, dcpl);
  f.flush();
  const std::vector<double> row{1, 2, 3, 4, 5, 6};
  d.write_row(3, row);
  BOOST_TEST(d.read_row<double>(3) == row);
  const auto untouched = d.read_row<double>(0);
  for (double v : untouched) BOOST_TEST(std::isnan(v));
  BOOST_CHECK_THROW(d.write_row(5, row), StoreError);                      // row out of range
  BOOST_CHECK_THROW(d.write_row(1, std::vector<double>{1, 2}), StoreError);  // wrong row length
  auto ints = PropertyList::dataset_create();
  ints.contiguous().alloc_time_early().fill_value<std::int32_t>(-1);
  auto di = f.create_dataset<std::int32_t>("ints", {4}, ints);
  di.write_row(2, std::vector<std::int32_t>{9});
  BOOST_TEST(di.read<std::int32_t>() == (std::vector<std::int32_t>{-1, -1, 9, -1}));
}

BOOST_AUTO_TEST_CASE(handles_are_move_only_and_close) {
  TempPath tmp("h5_handles");
  File f(tmp.path, FileMode::Truncate);
  Group g = f.create_group("g");
  const hid_t id = g.id();
  Group moved = std::move(g);
  BOOST_TEST(!g.valid());
  BOOST_TEST(moved.id() == id);
  BOOST_TEST(H5Iis_valid(id) > 0);
  moved.close();
  BOOST_TEST(H5Iis_valid(id) == 0);
  {
    Dataspace s = Dataspace::simple({2, 3});
    BOOST_TEST(s.num_elements() == 6u);
    Datatype t = Datatype::fixed_string(16);
    BOOST_TEST(t.size() == 16u);
    BOOST_TEST(Datatype::native<double>().size() == sizeof(double));
  }
  BOOST_CHECK_THROW(f.create_group("g"), StoreError);  // already exists
  BOOST_TEST(f.require_group("g").valid());
}

BOOST_AUTO_TEST_CASE(store_error_carries_hdf5_message) {
  const std::string missing = "/tmp/iclsweep_definitely_missing_" + std::to_string(::getpid()) + ".h5";
  try {
    File f(missing, FileMode::ReadOnly);
    BOOST_FAIL("opening a missing file must throw");
  } catch (const StoreError& e) {
    const std::string what = e.what();
    BOOST_TEST_MESSAGE(what);
    BOOST_TEST(what.find(missing) != std::string::npos);            // names the file
    BOOST_TEST(what.find("unable to open file") != std::string::npos);  // HDF5's own words
  }
  TempPath garbage("h5_garbage");
  { std::ofstream(garbage.path) << "this is not an HDF5 file, just some text\n"; }
  BOOST_TEST(!File::is_hdf5(garbage.path));
  try {
    File f(garbage.path, FileMode::ReadOnly);
    BOOST_FAIL("opening a text file must throw");
  } catch (const StoreError& e) {
    const std::string what = e.what();
    BOOST_TEST_MESSAGE(what);
    BOOST_TEST(what.find("file signature not found") != std::string::npos);
  }
  TempPath exists("h5_exists");
  { File f(exists.path, FileMode::Exclusive); }
  BOOST_CHECK_THROW(File(exists.path, FileMode::Exclusive), StoreError);
  BOOST_TEST(library_version() == "1.10.8");
}
