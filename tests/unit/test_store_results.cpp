// The results file: layout, round trips, padding, status semantics, refusal of foreign files, and the
// claim the crash safety rests on: after creation, writing points changes no byte outside raw data.
#define BOOST_TEST_MODULE store_results
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iterator>

#include "iclsweep/store/h5.hpp"
#include "store_test_util.hpp"

using namespace icl;
using namespace icl::store_test;

BOOST_AUTO_TEST_CASE(create_write_reopen_round_trip) {
  TempPath tmp("results_roundtrip");
  const std::size_t P = 12;
  {
    auto rf = ResultsFile::create(tmp.path, test_manifest(P), test_schema());
    BOOST_TEST(rf.num_points() == P);
    BOOST_TEST(rf.count(PointStatus::Pending) == P);
    for (std::size_t i : {0u, 3u, 7u, 11u}) rf.write_point(i, test_meta(i), test_record(i));
    BOOST_TEST(rf.count(PointStatus::Done) == 4u);
  }
  auto rf = ResultsFile::open(tmp.path, false);
  BOOST_TEST(rf.grid_hash() == "00c0ffee00c0ffee");
  BOOST_TEST(rf.num_points() == P);
  const auto st = rf.statuses();
  for (std::size_t i = 0; i < P; ++i) {
    const bool written = i == 0 || i == 3 || i == 7 || i == 11;
    BOOST_TEST((st[i] == (written ? PointStatus::Done : PointStatus::Pending)));
    if (written) BOOST_TEST(check_point(rf, i) == "");
  }
  // Schema as stored.
  const auto& schema = rf.schema();
  BOOST_REQUIRE(schema.fields.size() == 4u);
  BOOST_TEST(schema.fields[2].path == "eval/eval-default-none/error");
  BOOST_TEST((schema.fields[2].type == FieldType::Float32));
  BOOST_TEST(schema.fields[2].dims == (std::vector<std::int64_t>{4, 3}));
  BOOST_TEST((schema.fields[3].type == FieldType::Int32));
  // Identity and parameter tables.
  BOOST_TEST(rf.point_ids() == test_manifest(P).point_ids);
  BOOST_TEST(rf.root_attribute("job_text") == test_manifest(P).job_text);
  BOOST_TEST(rf.root_attribute("slurm_cluster") == "test");
  BOOST_TEST(rf.root_attribute("hdf5_version") == "1.10.8");
  BOOST_TEST(rf.ranks()[3] == 3);
  BOOST_TEST(rf.ranks()[4] == -1);
  BOOST_TEST(std::isnan(rf.wall_times()[4]));
  BOOST_TEST(rf.wall_times()[7] == 2.0);
  BOOST_TEST(std::isnan(rf.cpu_times()[4]));
  BOOST_TEST(rf.cpu_times()[7] == 8.5);
  BOOST_TEST(rf.hosts()[7] == "node1");
  h5::File f = open_plain(tmp.path, h5::FileMode::ReadOnly);
  BOOST_TEST(f.read_dataset<double>("points/params/data.num_contexts")[3] == 8.0);
  BOOST_TEST(std::isnan(f.read_dataset<double>("points/params/data.optional")[0]));  // unset -> NaN
  BOOST_TEST(f.read_strings("points/params/model.kind")[1] == "gated");
  BOOST_TEST(f.dataset("points/params/data.seed").attribute<std::uint8_t>("grid_axis") == 1);
  BOOST_TEST(f.dataset("points/params/train.lr").attribute<std::uint8_t>("grid_axis") == 0);
  BOOST_TEST(f.read_dataset<std::int64_t>("points/seed")[5] == 2);
  BOOST_TEST(f.dataset("points/loss").attribute<std::string>("units") == "nats");
}

// A file created before points/cpu_time existed resumes without it (its layout is not changed on open):
// its points read NaN CPU time, and new points are written as before.
BOOST_AUTO_TEST_CASE(a_file_without_cpu_time_resumes_unchanged) {
  TempPath tmp("results_no_cpu_time");
  const std::size_t P = 6;
  {
    auto rf = ResultsFile::create(tmp.path, test_manifest(P), test_schema());
    rf.write_point(0, test_meta(0), test_record(0));
  }
  {
    h5::File f = open_plain(tmp.path, h5::FileMode::ReadWrite);
    BOOST_REQUIRE(H5Ldelete(f.id(), "points/cpu_time", H5P_DEFAULT) >= 0);
  }
  {
    auto rf = ResultsFile::open(tmp.path, true);
    rf.write_point(2, test_meta(2), test_record(2));
  }
  auto rf = ResultsFile::open(tmp.path, false);
  BOOST_TEST(rf.count(PointStatus::Done) == 2u);
  BOOST_TEST(std::isnan(rf.cpu_times()[0]));
  BOOST_TEST(std::isnan(rf.cpu_times()[2]));
  BOOST_TEST(std::isnan(rf.meta(2).cpu_time));
  BOOST_TEST(rf.wall_times()[2] == 2.0);
  BOOST_TEST(!open_plain(tmp.path, h5::FileMode::ReadOnly).exists("points/cpu_time"));
}

BOOST_AUTO_TEST_CASE(shorter_fields_are_padded_and_bad_fields_rejected) {
  TempPath tmp("results_padding");
  auto rf = ResultsFile::create(tmp.path, test_manifest(3), test_schema());
  PointRecord r;
  r.set_vector("curve/train_loss", {1, 2, 3});
  r.set_array("eval/eval-default-none/error", {2, 2}, {1, 2, 3, 4});  // shorter in both dims
  r.set_vector("counts", {7.4, 8.6});
  rf.write_point(1, test_meta(1), r);
  {
    h5::File f = open_plain(tmp.path, h5::FileMode::ReadOnly);
    const auto curve = f.dataset("points/curve/train_loss").read_row<double>(1);
    BOOST_TEST(curve[2] == 3.0);
    for (std::size_t k = 3; k < 10; ++k) BOOST_TEST(std::isnan(curve[k]));
    const auto err = f.dataset("points/eval/eval-default-none/error").read_row<float>(1);  // (4,3) row-major
    BOOST_TEST(err[0] == 1.f);
    BOOST_TEST(err[1] == 2.f);
    BOOST_TEST(std::isnan(err[2]));
    BOOST_TEST(err[3] == 3.f);
    BOOST_TEST(err[4] == 4.f);
    BOOST_TEST(std::isnan(err[6]));
    BOOST_TEST(f.dataset("points/counts").read_row<std::int32_t>(1) ==
               (std::vector<std::int32_t>{7, 9, -1, -1, -1}));
    BOOST_TEST(f.dataset("points/eval/eval-default-none/error_shape").read_row<std::int32_t>(1) ==
               (std::vector<std::int32_t>{2, 2}));
    BOOST_TEST(f.dataset("points/curve/train_loss_shape").read_row<std::int32_t>(0) == (std::vector<std::int32_t>{-1}));
    BOOST_TEST(std::isnan(f.dataset("points/loss").read_row<float>(1)[0]));  // missing field: NaN
  }
  const auto back = rf.read_point(1);
  BOOST_TEST(back.fields.at("eval/eval-default-none/error").values == (std::vector<double>{1, 2, 3, 4}));

  auto expect_error_naming = [&](const PointRecord& bad, const std::string& field) {
    try {
      rf.write_point(2, test_meta(2), bad);
      BOOST_FAIL("write_point accepted a bad field " + field);
    } catch (const StoreError& e) {
      BOOST_TEST_MESSAGE(e.what());
      BOOST_TEST(std::string(e.what()).find("'" + field + "'") != std::string::npos);
    }
  };
  PointRecord unknown;
  unknown.set_scalar("no/such/field", 1);
  expect_error_naming(unknown, "no/such/field");
  PointRecord too_long;
  too_long.set_vector("curve/train_loss", std::vector<double>(11, 1.0));
  expect_error_naming(too_long, "curve/train_loss");
  PointRecord wrong_rank;
  wrong_rank.set_vector("loss", {1.0});
  expect_error_naming(wrong_rank, "loss");
  PointRecord wrong_count;
  wrong_count.set_array("eval/eval-default-none/error", {2, 3}, {1, 2, 3});
  expect_error_naming(wrong_count, "eval/eval-default-none/error");
  BOOST_TEST((rf.statuses()[2] == PointStatus::Pending));  // nothing written by the rejected calls
}

BOOST_AUTO_TEST_CASE(status_semantics_failures_and_retries) {
  TempPath tmp("results_status");
  auto rf = ResultsFile::create(tmp.path, test_manifest(4), test_schema());
  PointMeta failed = test_meta(0);
  failed.error = "NumericError: loss became NaN at step 1234 " + std::string(1000, 'x');  // longer than 512
  rf.mark_failed(0, failed);
  BOOST_TEST((rf.statuses()[0] == PointStatus::Failed));
  BOOST_TEST(rf.errors()[0].size() == ResultsFile::kErrorWidth - 1);
  BOOST_TEST(rf.errors()[0].rfind("NumericError: loss became NaN", 0) == 0);
  // A retry of the failed point succeeds: done, error cleared.
  rf.write_point(0, test_meta(0), test_record(0));
  BOOST_TEST((rf.statuses()[0] == PointStatus::Done));
  BOOST_TEST(rf.errors()[0] == "");
  BOOST_TEST(check_point(rf, 0) == "");
  // A failure with a partial record keeps the record.
  PointMeta partial = test_meta(1);
  partial.status = PointStatus::Failed;
  partial.error = "diverged";
  rf.write_point(1, partial, test_record(1));
  BOOST_TEST((rf.statuses()[1] == PointStatus::Failed));
  PointMeta pending = test_meta(2);
  pending.status = PointStatus::Pending;
  BOOST_CHECK_THROW(rf.write_point(2, pending, test_record(2)), StoreError);
  BOOST_CHECK_THROW(rf.write_point(4, test_meta(4), test_record(4)), StoreError);  // index out of range
  rf.close();
  auto back = ResultsFile::open(tmp.path, false);
  BOOST_TEST(back.count(PointStatus::Done) == 1u);
  BOOST_TEST(back.count(PointStatus::Failed) == 1u);
  BOOST_TEST(back.count(PointStatus::Pending) == 2u);
  BOOST_TEST(back.errors()[1] == "diverged");
  BOOST_CHECK_THROW(back.write_point(3, test_meta(3), test_record(3)), StoreError);  // read-only
}

BOOST_AUTO_TEST_CASE(launches_are_appended) {
  TempPath tmp("results_launches");
  {
    auto rf = ResultsFile::create(tmp.path, test_manifest(2), test_schema());
    BOOST_TEST(rf.launches().empty());
    BOOST_TEST(*rf.record_launch({1.7e9, "12345_7", 64, "login1", "abc123", "iclsweep run job.toml"}) == 0u);
  }
  auto rf = ResultsFile::open(tmp.path);
  BOOST_TEST(*rf.record_launch({1.8e9, "12399", 32, "node9", "def456", "iclsweep run job.toml --resume"}) == 1u);
  const auto l = rf.launches();
  BOOST_REQUIRE(l.size() == 2u);
  BOOST_TEST(l[0].slurm_job_id == "12345_7");
  BOOST_TEST(l[0].num_ranks == 64);
  BOOST_TEST(l[1].hostname == "node9");
  BOOST_TEST(l[1].start_time == 1.8e9);
  BOOST_TEST(l[1].command_line == "iclsweep run job.toml --resume");
  for (std::size_t k = 2; k < ResultsFile::kMaxLaunches; ++k) BOOST_TEST(rf.record_launch({}).has_value());
  BOOST_TEST(!rf.record_launch({}).has_value());  // full: not recorded, no throw
}

BOOST_AUTO_TEST_CASE(refuses_overwrite_foreign_and_incompatible_files) {
  TempPath tmp("results_refuse");
  { auto rf = ResultsFile::create(tmp.path, test_manifest(2), test_schema()); }
  try {
    ResultsFile::create(tmp.path, test_manifest(2), test_schema());
    BOOST_FAIL("create must refuse an existing file");
  } catch (const StoreError& e) {
    BOOST_TEST(std::string(e.what()).find("already exists") != std::string::npos);
  }
  ResultsFile::Options overwrite;
  overwrite.overwrite = true;
  { auto rf = ResultsFile::create(tmp.path, test_manifest(3), test_schema(), overwrite); BOOST_TEST(rf.num_points() == 3u); }

  // Two writers at once: the second is refused while the first holds the file.
  {
    auto first = ResultsFile::open(tmp.path);
    BOOST_CHECK_THROW(ResultsFile::open(tmp.path), StoreError);
    auto reader = ResultsFile::open(tmp.path, false);  // readers are always welcome
    BOOST_TEST(reader.num_points() == 3u);
    BOOST_CHECK_THROW(ResultsFile::create(tmp.path, test_manifest(2), test_schema(), overwrite), StoreError);
  }

  // An incompatible layout version.
  {
    h5::File f = open_plain(tmp.path, h5::FileMode::ReadWrite);
    f.set_attribute("format_version", std::int32_t{99});
  }
  try {
    ResultsFile::open(tmp.path);
    BOOST_FAIL("open must refuse another layout version");
  } catch (const StoreError& e) {
    const std::string what = e.what();
    BOOST_TEST_MESSAGE(what);
    BOOST_TEST(what.find(tmp.path) != std::string::npos);
    BOOST_TEST(what.find("version 99") != std::string::npos);
  }
  // An HDF5 file that is not ours, a text file, a missing file.
  TempPath other("results_other");
  { h5::File f(other.path, h5::FileMode::Truncate); f.write_dataset<double>("x", {1}, {1.0}); }
  try {
    ResultsFile::open(other.path);
    BOOST_FAIL("open must refuse a foreign HDF5 file");
  } catch (const StoreError& e) {
    BOOST_TEST(std::string(e.what()).find("not an iclsweep results file") != std::string::npos);
  }
  { std::ofstream(other.path) << "hello\n"; }
  BOOST_CHECK_THROW(ResultsFile::open(other.path), StoreError);
  std::remove(other.path.c_str());
  BOOST_CHECK_THROW(ResultsFile::open(other.path), StoreError);
  // Schema problems are caught before any file exists.
  ResultSchema bad = test_schema();
  bad.fields.push_back({"status", FieldType::Float32, {}, "", {}});
  BOOST_CHECK_THROW(ResultsFile::create(other.path, test_manifest(2), bad), StoreError);
  BOOST_TEST(::access(other.path.c_str(), F_OK) != 0);
}

namespace {

// Byte ranges [offset, offset+size) of every dataset's raw storage in the file.
void collect_raw_ranges(const h5::Container& c, std::vector<std::pair<haddr_t, hsize_t>>& out) {
  for (const auto& name : c.member_names()) {
    H5O_info_t info;
    H5Oget_info_by_name(c.id(), name.c_str(), &info, H5P_DEFAULT);
    if (info.type == H5O_TYPE_GROUP) {
      collect_raw_ranges(c.open_group(name), out);
    } else if (info.type == H5O_TYPE_DATASET) {
      auto d = c.dataset(name);
      out.emplace_back(H5Dget_offset(d.id()), H5Dget_storage_size(d.id()));
    }
  }
}

std::vector<char> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

// The premise of the crash safety: once created, writing points and launches changes no byte of the
// file outside the datasets' raw storage (object headers, B-trees, heaps, superblock stay identical),
// so a writer killed at any moment can only leave raw bytes half-written.
BOOST_AUTO_TEST_CASE(writes_touch_raw_data_only) {
  TempPath tmp("results_rawonly");
  { auto rf = ResultsFile::create(tmp.path, test_manifest(20), test_schema()); }
  std::vector<std::pair<haddr_t, hsize_t>> raw;
  {
    h5::File f = open_plain(tmp.path, h5::FileMode::ReadOnly);
    collect_raw_ranges(f, raw);
  }
  const auto before = file_bytes(tmp.path);
  BOOST_REQUIRE(before.size() > 24);
  BOOST_TEST(before[8] == 0);   // superblock version 0: the earliest format, readable by any HDF5 / h5py
  BOOST_TEST(before[20] == 0);  // consistency flags clear after creation
  std::vector<bool> is_raw(before.size(), false);
  for (const auto& [off, size] : raw) {
    BOOST_REQUIRE(off != HADDR_UNDEF);  // contiguous, allocated at creation
    for (hsize_t k = 0; k < size; ++k) is_raw.at(off + k) = true;
  }
  auto compare = [&](const char* when) {
    const auto after = file_bytes(tmp.path);
    BOOST_REQUIRE_MESSAGE(after.size() == before.size(), when << ": the file changed size");
    std::size_t changed_meta = 0, changed_raw = 0;
    for (std::size_t k = 0; k < after.size(); ++k) {
      // Bytes 20..23 of a version-0 superblock are the file consistency flags: HDF5 1.10 sets them
      // while a writer has the file open and clears them on close. Readers ignore them below
      // superblock version 3 (the crash test checks that a killed writer's file still opens).
      if (k >= 20 && k < 24) continue;
      if (after[k] != before[k]) {
        ++(is_raw[k] ? changed_raw : changed_meta);
        if (!is_raw[k]) BOOST_TEST_MESSAGE("metadata byte " << k << ": " << int(before[k]) << " -> " << int(after[k]));
      }
    }
    BOOST_TEST_MESSAGE(when << ": " << changed_raw << " raw bytes changed, " << changed_meta << " metadata bytes");
    BOOST_TEST(changed_meta == 0u);
    BOOST_TEST(changed_raw > 0u);
  };
  {
    auto rf = ResultsFile::open(tmp.path);
    rf.record_launch({1.7e9, "1", 2, "h", "c", "cmd"});
    for (std::size_t i = 0; i < 20; i += 2) rf.write_point(i, test_meta(i), test_record(i));
    rf.mark_failed(1, test_meta(1));
    compare("while open");
  }
  compare("after close");
}

BOOST_AUTO_TEST_CASE(h5py_reads_the_layout) {
  TempPath tmp("results_h5py");
  {
    auto rf = ResultsFile::create(tmp.path, test_manifest(6), test_schema());
    rf.write_point(2, test_meta(2), test_record(2));
    rf.record_launch({1.7e9, "777", 4, "host", "c", "cmd"});
  }
  const int rc = run_h5py(tmp.path,
                          "assert f.attrs['format'] == 'iclsweep-results'\n"
                          "assert int(f.attrs['format_version']) == 1\n"
                          "st = f['points/status'][:]\n"
                          "assert list(st) == [0, 0, 1, 0, 0, 0], st\n"
                          "n = f['points/curve/train_loss_shape'][2, 0]\n"
                          "assert n == 3 and np.allclose(f['points/curve/train_loss'][2, :n], [2, 2.25, 2.5])\n"
                          "assert np.isnan(f['points/curve/train_loss'][2, n:]).all()\n"
                          "assert f['points/id'][2].decode() == '%016x' % (2 * 0x9E3779B97F4A7)\n"
                          "assert f['points/params/model.kind'].asstr()[1] == 'gated'\n"
                          "assert f['runs/slurm_job_id'][0] == b'777' and f['runs/used'][0] == 1\n");
  if (rc < 0) {
    BOOST_TEST_MESSAGE("skipped: /usr/bin/python3 has no h5py");
    return;
  }
  BOOST_TEST(rc == 0);
}

BOOST_AUTO_TEST_CASE(write_point_is_milliseconds) {
  TempPath tmp("results_speed");
  const std::size_t P = 2000;
  ResultSchema schema = test_schema();
  for (int k = 0; k < 40; ++k)  // a realistic field count: ~45 fields
    schema.fields.push_back({"metrics/m" + std::to_string(k), FieldType::Float32, {64}, "", {}});
  auto t0 = std::chrono::steady_clock::now();
  auto rf = ResultsFile::create(tmp.path, test_manifest(P), schema);
  const double create_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  PointRecord r = test_record(0);
  for (int k = 0; k < 40; ++k) r.set_vector("metrics/m" + std::to_string(k), std::vector<double>(50, 0.5));
  const int n = 300;
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) rf.write_point(static_cast<std::size_t>(i) * 5, test_meta(0), r);
  const double per_point_ms = 1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / n;
  BOOST_TEST_MESSAGE("create (P=" << P << ", " << schema.fields.size() << " fields): " << create_s * 1e3
                                  << " ms; write_point: " << per_point_ms << " ms");
  std::printf("[store] create P=%zu, %zu fields: %.1f ms; write_point incl. 2 flushes: %.3f ms\n", P,
              schema.fields.size(), create_s * 1e3, per_point_ms);
  BOOST_TEST(per_point_ms < 20.0);

  // With an fsync at both commit steps (survives node crashes): a disk round trip each.
  TempPath synced("results_speed_sync");
  ResultsFile::Options sync;
  sync.sync_to_disk = true;
  auto rs = ResultsFile::create(synced.path, test_manifest(50), test_schema(), sync);
  t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < 20; ++i) rs.write_point(i, test_meta(i), test_record(i));
  const double synced_ms = 1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 20;
  std::printf("[store] write_point with sync_to_disk (4 fields): %.3f ms\n", synced_ms);
  for (std::size_t i = 0; i < 20; ++i) BOOST_TEST(check_point(rs, i) == "");
}
