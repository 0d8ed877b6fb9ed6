// How files are written (store/output_file.hpp, issue 10 defects 1, 2, 5): one claim for every new file
// (no replacing without overwrite, never a live writer's file, temporary name + rename, free space
// checked), a writer lock keyed on the file itself (symlinks, hard links, across the rename), refused
// opens that leave the file untouched, and HDF5 failures a user can cause reported as one line with
// every HDF5 id closed. Tests that need a small or read-only file system mount a tmpfs (root only) and
// are skipped with a message elsewhere.
#define BOOST_TEST_MODULE store_output
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "iclsweep/core/error.hpp"
#include "iclsweep/store/h5.hpp"
#include "iclsweep/store/output_file.hpp"
#include "iclsweep/store/results_file.hpp"
#include "store_test_util.hpp"

using namespace icl;
using namespace icl::store_test;
namespace utf = boost::unit_test;

namespace {

struct Stamp {
  off_t size = -1;
  long long mtime_ns = -1;
  ino_t inode = 0;
  bool operator==(const Stamp& o) const { return size == o.size && mtime_ns == o.mtime_ns && inode == o.inode; }
};
Stamp stamp(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return {};
  return {st.st_size, st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec, st.st_ino};
}
std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
// The time stamp resolution of the file system must be able to show a write.
void let_clock_tick() { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }

struct Dir {
  std::string path;
  Dir() {
    char tmpl[] = "/tmp/iclsweep_output_XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~Dir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string operator/(const std::string& name) const { return path + "/" + name; }
};

// A tmpfs of `size` (root only); skipped by the precondition below when that is not possible here.
struct Tmpfs {
  Dir dir;
  bool mounted = false;
  explicit Tmpfs(const std::string& size) {
    mounted = ::mount("tmpfs", dir.path.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
  }
  bool remount_read_only() {
    return ::mount("tmpfs", dir.path.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, nullptr) == 0;
  }
  ~Tmpfs() {
    if (mounted) ::umount2(dir.path.c_str(), MNT_DETACH);
  }
};

boost::test_tools::assertion_result can_mount(utf::test_unit_id) {
  boost::test_tools::assertion_result r(false);
  if (::geteuid() != 0) {
    r.message() << "SKIPPED: needs root to mount a tmpfs (CI runs as root)";
    return r;
  }
  Tmpfs probe("64k");
  if (!probe.mounted) {
    r.message() << "SKIPPED: mount -t tmpfs is not permitted here";
    return r;
  }
  return true;
}

std::size_t open_hdf5_ids() { return static_cast<std::size_t>(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL)); }

// A schema shaped like the transformer's: 18 splits x 3 metrics per checkpoint, selected scalars, curves.
ResultSchema realistic_schema() {
  ResultSchema s;
  for (int split = 0; split < 18; ++split)
    for (const char* metric : {"error", "loss", "context_fraction"}) {
      const std::string name = "eval/eval-split" + std::to_string(split) + "/" + metric;
      s.fields.push_back({name, FieldType::Float32, {101}, "metric per checkpoint", {}});
      s.fields.push_back({"selected/eval-split" + std::to_string(split) + "/" + metric, FieldType::Float32, {}, "at the selected checkpoint", {}});
    }
  s.fields.push_back({"train/loss", FieldType::Float32, {1000}, "training loss", {}});
  s.fields.push_back({"train/step", FieldType::Int32, {1000}, "step", {}});
  s.fields.push_back({"checkpoint/step", FieldType::Int32, {101}, "checkpoint steps", {}});
  s.fields.push_back({"model/num_parameters", FieldType::Float64, {}, "parameters", {{"units", "count"}}});
  return s;
}

SweepManifest realistic_manifest(std::size_t P) {
  SweepManifest m = test_manifest(P);
  for (std::size_t i = 0; i < P; ++i) {
    for (int k = 0; k < 40; ++k) m.point_params[i].set_raw("train.key" + std::to_string(k), std::to_string(k * 0.125));
    m.point_params[i].set_raw("run.model_kind", "transformer");
    m.point_params[i].set_raw("eval.name", "a-string-value-" + std::to_string(i));
  }
  m.job_text = std::string(3000, 'j');
  return m;
}

}  // namespace

BOOST_AUTO_TEST_CASE(estimated_size_bounds_the_real_file) {
  Dir dir;
  for (std::size_t P : {1u, 4u, 200u}) {
    for (const auto& schema : {test_schema(), realistic_schema()}) {
      const auto m = realistic_manifest(P);
      const std::string path = dir / ("est" + std::to_string(P) + "_" + std::to_string(schema.fields.size()) + ".h5");
      const std::uint64_t estimate = ResultsFile::estimated_bytes(m, schema);
      { auto rf = ResultsFile::create(path, m, schema); }
      const auto actual = static_cast<std::uint64_t>(stamp(path).size);
      BOOST_TEST_MESSAGE(P << " points, " << schema.fields.size() << " fields: estimate " << estimate << ", file " << actual);
      BOOST_TEST(estimate >= actual);                       // the free-space check and preallocation suffice
      BOOST_TEST(estimate <= actual + actual / 2 + 65536);  // and do not refuse disks that would do
    }
  }
}

// Defect 1: no command replaces an existing file without overwrite; a refused one leaves it untouched.
BOOST_AUTO_TEST_CASE(existing_files_are_refused_without_overwrite_and_left_untouched) {
  Dir dir;
  const std::string path = dir / "R.h5";
  { auto rf = ResultsFile::create(path, test_manifest(3), test_schema()); }
  const Stamp before = stamp(path);
  const std::string content = bytes_of(path);
  let_clock_tick();
  try {
    ResultsFile::create(path, test_manifest(3), test_schema());
    BOOST_FAIL("create must refuse an existing file");
  } catch (const StoreError& e) {
    BOOST_TEST(contains(e.headline, "already exists"));
    BOOST_TEST(contains(e.headline, "--overwrite"));
  }
  BOOST_CHECK_THROW(OutputFile::claim(path, OutputRequest{false, 0, "sample file"}), StoreError);
  BOOST_TEST((stamp(path) == before));
  BOOST_TEST((bytes_of(path) == content));

  // With overwrite: a new file (another inode) replaces it atomically; nothing else is left.
  ResultsFileOptions overwrite;
  overwrite.overwrite = true;
  { auto rf = ResultsFile::create(path, test_manifest(5), test_schema(), overwrite); }
  BOOST_TEST(ResultsFile::open(path, false).num_points() == 5u);
  BOOST_TEST(stamp(path).inode != before.inode);
  BOOST_TEST(std::system(("test -z \"$(ls -A '" + dir.path + "' | grep -v '^R.h5$')\"").c_str()) == 0);
}

// Defect 2: the writer lock is the file's own (device + inode): symlinks, hard links and the name after
// the rename of a new file all meet the same lock.
BOOST_AUTO_TEST_CASE(writer_lock_is_keyed_on_the_file_not_the_name) {
  Dir dir;
  const std::string path = dir / "R.h5", sym = dir / "sym.h5", hard = dir / "hard.h5";
  ResultsFileOptions overwrite;
  overwrite.overwrite = true;
  {
    // create() returns the file open for writing; its lock, taken on the temporary name, follows the rename.
    auto writer = ResultsFile::create(path, test_manifest(3), test_schema());
    BOOST_REQUIRE(::symlink("R.h5", sym.c_str()) == 0);
    BOOST_REQUIRE(::link(path.c_str(), hard.c_str()) == 0);
    const std::string content = bytes_of(path);
    for (const auto& name : {path, sym, hard}) {
      BOOST_TEST_CONTEXT(name) {
        try {
          ResultsFile::open(name, true);
          BOOST_FAIL("a second writer must be refused");
        } catch (const StoreError& e) {
          BOOST_TEST(contains(e.headline, "already open for writing by another process"));
        }
        BOOST_CHECK_THROW(ResultsFile::create(name, test_manifest(2), test_schema(), overwrite), StoreError);
        BOOST_CHECK_THROW(OutputFile::claim(name, OutputRequest{true, 0, "sample file"}), StoreError);
        BOOST_CHECK_THROW(WriterLock::acquire(name), StoreError);
        BOOST_TEST(ResultsFile::open(name, false).num_points() == 3u);  // readers are welcome
      }
    }
    writer.write_point(0, test_meta(0), test_record(0));  // the live writer is unaffected
  }
  // Released with the writer: every name can be written again, and a new writer locks out the others.
  {
    auto via_link = ResultsFile::open(hard, true);
    BOOST_CHECK_THROW(ResultsFile::open(sym, true), StoreError);
    BOOST_TEST(check_point(via_link, 0).empty());
  }
  WriterLock lock = WriterLock::acquire(sym);
  BOOST_TEST(lock.held());
  struct stat st;
  BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
  BOOST_TEST((lock.identity() == FileIdentity{st.st_dev, st.st_ino}));
  BOOST_CHECK_THROW(WriterLock::acquire(hard), StoreError);
  lock.release();
  BOOST_CHECK_NO_THROW(WriterLock::acquire(hard));
  // No lock files next to the results file any more.
  BOOST_TEST(std::system(("test -z \"$(find '" + dir.path + "' -name '*.lock')\"").c_str()) == 0);
}

// Defect 10: a refused resume never opens the file for writing, so not even its mtime changes.
BOOST_AUTO_TEST_CASE(refused_opens_for_writing_leave_the_file_untouched) {
  Dir dir;
  const std::string path = dir / "R.h5";
  {
    auto rf = ResultsFile::create(path, test_manifest(4), test_schema());
    rf.write_point(1, test_meta(1), test_record(1));
  }
  const Stamp before = stamp(path);
  const std::string content = bytes_of(path);
  let_clock_tick();
  ResultsFileOptions other_grid;
  other_grid.check_before_writing = [](const ResultsFile& f) {
    if (f.grid_hash() != "another") throw StoreError("belongs to a different grid");
  };
  BOOST_CHECK_THROW(ResultsFile::open(path, true, other_grid), StoreError);
  BOOST_TEST((stamp(path) == before));
  {
    auto holder = ResultsFile::open(path, false);  // a reader does not modify the file either
    (void)holder;
  }
  BOOST_TEST((stamp(path) == before));
  BOOST_TEST((bytes_of(path) == content));

  // A damaged status byte (7) is refused, naming the file and the rule, also without a write.
  {
    h5::File f = open_plain(path, h5::FileMode::ReadWrite);
    const std::uint8_t seven = 7;
    f.dataset("points/status").write_row<std::uint8_t>(2, &seven, 1);
  }
  const Stamp damaged = stamp(path);
  let_clock_tick();
  try {
    ResultsFile::open(path, true);
    BOOST_FAIL("a status byte of 7 must be refused");
  } catch (const StoreError& e) {
    BOOST_TEST(contains(e.what(), path));
    BOOST_TEST(contains(e.what(), "is not 0, 1 or 2"));
  }
  BOOST_TEST((stamp(path) == damaged));
}

// A file that appears at the path while a new one is being written is never replaced by it.
BOOST_AUTO_TEST_CASE(commit_never_replaces_a_file_that_appeared_meanwhile) {
  Dir dir;
  const std::string path = dir / "S.h5";
  std::string temp;
  {
    OutputFile out = OutputFile::claim(path, OutputRequest{false, 4096, "sample file"});
    temp = out.temp_path();
    BOOST_TEST(temp != path);
    BOOST_TEST(contains(temp, ".creating-"));
    { std::ofstream(temp) << "new"; }
    out.reserve();
    { std::ofstream(path) << "someone else's"; }
    BOOST_CHECK_THROW(out.commit(3), StoreError);
  }
  BOOST_TEST(bytes_of(path) == "someone else's");
  BOOST_TEST(stamp(temp).size == -1);  // the temporary file is gone

  // A claim that is never committed leaves nothing behind.
  const std::string other = dir / "T.h5";
  {
    OutputFile out = OutputFile::claim(other, OutputRequest{false, 0, "sample file"});
    { std::ofstream(out.temp_path()) << "half"; }
  }
  BOOST_TEST(std::system(("test -z \"$(ls -A '" + dir.path + "' | grep -v '^S.h5$')\"").c_str()) == 0);
}

BOOST_AUTO_TEST_CASE(unusable_paths_are_input_errors) {
  Dir dir;
  BOOST_CHECK_THROW(OutputFile::check_path(""), InputError);
  BOOST_CHECK_THROW(OutputFile::check_path(dir.path), InputError);
  BOOST_CHECK_THROW(OutputFile::check_path(dir.path + "/"), InputError);
  { std::ofstream(dir / "plain") << "x"; }
  try {
    OutputFile::check_path(dir / "plain/deeper/R.h5");
    BOOST_FAIL("a parent that is a file must be refused");
  } catch (const InputError& e) {
    BOOST_TEST(contains(e.what(), "is a file, not a directory"));
  }
  BOOST_CHECK_NO_THROW(OutputFile::check_path(dir / "new/sub/R.h5"));
  BOOST_CHECK_THROW(OutputFile::check_path("/dev/null"), InputError);
}

// Defect 5: a disk without room is found before anything is written, in one line, and every HDF5 id is
// closed (a leaked id crashes the process at exit: this test binary would fail).
BOOST_AUTO_TEST_CASE(disk_full_is_one_line_and_leaves_nothing, *utf::precondition(can_mount)) {
  Tmpfs small("1m");
  BOOST_REQUIRE(small.mounted);
  const std::string path = small.dir / "R.h5";
  try {
    ResultsFile::create(path, realistic_manifest(400), realistic_schema());
    BOOST_FAIL("a results file larger than the disk must be refused");
  } catch (const StoreError& e) {
    BOOST_TEST_MESSAGE(e.what());
    BOOST_TEST(starts_with(e.headline, "disk full: " + path + " needs "));
    BOOST_TEST(contains(e.headline, " free in "));
    BOOST_TEST(contains(e.headline, "nothing was written"));
    BOOST_TEST(e.sys_errno == ENOSPC);
  }
  BOOST_TEST(std::system(("test -z \"$(ls -A '" + small.dir.path + "')\"").c_str()) == 0);
  BOOST_TEST(open_hdf5_ids() == 0u);

  // Space taken by someone else after the check: preallocation finds it, still before any HDF5 write.
  OutputFile out = OutputFile::claim(small.dir / "S.h5", OutputRequest{false, 600 * 1024, "sample file"});
  { std::ofstream(small.dir / "filler") << std::string(700 * 1024, 'x'); }
  { std::ofstream(out.temp_path()) << ""; }
  try {
    out.reserve();
    BOOST_FAIL("preallocation on a full disk must fail");
  } catch (const StoreError& e) {
    BOOST_TEST(starts_with(e.headline, "disk full: "));
  }
}

// When HDF5 itself hits the full disk (the estimate was beaten), the error names the cause first and
// discard() closes the file: no id is left for the library's exit handler to crash on.
BOOST_AUTO_TEST_CASE(hdf5_write_failure_on_a_full_disk_closes_every_id, *utf::precondition(can_mount)) {
  Tmpfs small("256k");
  BOOST_REQUIRE(small.mounted);
  h5::File f;
  try {
    auto fapl = h5::PropertyList::file_access();
    fapl.sec2_driver().file_locking(false, true);
    f = h5::File(small.dir / "big.h5", h5::FileMode::Exclusive, &fapl);
    std::vector<std::string> text(20000, "a string value that lives in HDF5's global heap");
    f.write_strings("text", text);
    f.write_dataset<double>("numbers", {100000}, std::vector<double>(100000, 1.5));
    f.flush();
    BOOST_FAIL("writing 1.6 MB to a 256 KB disk must fail");
  } catch (const StoreError& e) {
    BOOST_TEST_MESSAGE(e.what());
    BOOST_TEST(e.sys_errno == ENOSPC);
    BOOST_TEST(starts_with(e.headline, "disk full: "));
    BOOST_TEST(!contains(e.headline, "H5F"));  // the stack is detail, not the headline
    BOOST_TEST(contains(e.detail, "No space left on device"));
  }
  f.discard();
  BOOST_TEST(open_hdf5_ids() == 0u);
}

BOOST_AUTO_TEST_CASE(read_only_file_system_is_one_line, *utf::precondition(can_mount)) {
  Tmpfs disk("8m");
  BOOST_REQUIRE(disk.mounted);
  const std::string path = disk.dir / "R.h5";
  {
    auto rf = ResultsFile::create(path, test_manifest(3), test_schema());
    rf.write_point(0, test_meta(0), test_record(0));
  }
  BOOST_REQUIRE(disk.remount_read_only());
  const Stamp before = stamp(path);
  try {
    ResultsFile::open(path, true);
    BOOST_FAIL("resume on a read-only file system must be refused");
  } catch (const StoreError& e) {
    BOOST_TEST(starts_with(e.headline, "read-only file system: results file '" + path + "'"));
    BOOST_TEST(e.sys_errno == EROFS);
  }
  try {
    ResultsFile::create(disk.dir / "new.h5", test_manifest(3), test_schema());
    BOOST_FAIL("create on a read-only file system must be refused");
  } catch (const StoreError& e) {
    BOOST_TEST(starts_with(e.headline, "read-only file system: cannot create results file"));
    BOOST_TEST(!contains(e.headline, "H5F"));
  }
  auto reader = ResultsFile::open(path, false);
  BOOST_TEST(check_point(reader, 0).empty());
  BOOST_TEST((stamp(path) == before));
  BOOST_TEST(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE) == 1);  // the reader's file, nothing leaked
}
