// Batched commits (ResultsFile::stage_point / stage_failure / commit_staged, what the coordinator uses
// for short points): staged points stay pending until commit_staged; a SIGKILL at any moment of a
// batched writer leaves a file that opens, whose committed points are a prefix holding exactly their
// data; and a point staged again after a failure never vouches for a mix of old and new rows.
#define BOOST_TEST_MODULE store_batch
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <thread>

#include "iclsweep/core/rng.hpp"
#include "store_test_util.hpp"

using namespace icl;
using namespace icl::store_test;

namespace {

constexpr std::size_t kPoints = 600;
constexpr std::size_t kBatch = 7;

bool should_fail(std::size_t i) { return i % 17 == 5; }

void stage(ResultsFile& rf, std::size_t i) {
  if (should_fail(i)) {
    PointMeta m = test_meta(i);
    m.error = "synthetic failure of point " + std::to_string(i);
    rf.stage_failure(i, m);
  } else {
    rf.stage_point(i, test_meta(i), test_record(i));
  }
}

[[noreturn]] void child_batched_writer(const std::string& path, int created_fd) {
  try {
    auto rf = ResultsFile::create(path, test_manifest(kPoints), test_schema());
    const char byte = 1;
    if (::write(created_fd, &byte, 1) != 1) ::_exit(4);
    for (std::size_t i = 0; i < kPoints; ++i) {
      stage(rf, i);
      if ((i + 1) % kBatch == 0 || i + 1 == kPoints) rf.commit_staged();
    }
  } catch (...) {
    ::_exit(3);
  }
  for (;;) ::pause();
}

}  // namespace

BOOST_AUTO_TEST_CASE(staged_points_are_pending_until_committed) {
  TempPath tmp("batch");
  {
    auto rf = ResultsFile::create(tmp.path, test_manifest(20), test_schema());
    for (std::size_t i = 0; i < 6; ++i) stage(rf, i);  // point 5 fails
    // Another reader sees nothing of the batch before commit_staged.
    {
      auto reader = ResultsFile::open(tmp.path, false);
      BOOST_TEST(reader.count(PointStatus::Pending) == 20u);
    }
    BOOST_TEST(rf.count(PointStatus::Pending) == 20u);
    rf.commit_staged();
    BOOST_TEST(rf.count(PointStatus::Done) == 5u);
    BOOST_TEST(rf.count(PointStatus::Failed) == 1u);
    rf.commit_staged();  // nothing staged: a no-op
  }
  auto rf = ResultsFile::open(tmp.path, false);
  for (std::size_t i = 0; i < 6; ++i)
    if (!should_fail(i)) BOOST_TEST(check_point(rf, i) == "");
  BOOST_TEST(rf.count(PointStatus::Pending) == 14u);
}

BOOST_AUTO_TEST_CASE(sigkill_during_batched_commits_never_corrupts) {
  TempPath tmp("batchcrash");
  std::size_t trials_with_points = 0, trials_mid_sweep = 0;
  for (int trial = 0; trial < 8; ++trial) {
    std::remove(tmp.path.c_str());
    std::remove((tmp.path + ".lock").c_str());
    Philox rng(stream_key(20251201, Purpose::Sampling, 0xBA7C, static_cast<std::uint64_t>(trial)), 0);
    const auto delay = std::chrono::microseconds(static_cast<long>(rng.uniform() * 70.0 * 1000.0));
    int fds[2];
    BOOST_REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    BOOST_REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      child_batched_writer(tmp.path, fds[1]);
    }
    ::close(fds[1]);
    char byte = 0;
    BOOST_REQUIRE_MESSAGE(::read(fds[0], &byte, 1) == 1, "the writer died before creating the file");
    ::close(fds[0]);
    std::this_thread::sleep_for(delay);
    ::kill(pid, SIGKILL);
    int wstatus = 0;
    ::waitpid(pid, &wstatus, 0);
    BOOST_REQUIRE(WIFSIGNALED(wstatus));

    auto rf = ResultsFile::open(tmp.path, false);
    const auto st = rf.statuses();
    std::size_t prefix = 0;
    while (prefix < kPoints && st[prefix] != PointStatus::Pending) ++prefix;
    for (std::size_t i = prefix; i < kPoints; ++i) BOOST_TEST((st[i] == PointStatus::Pending), "point " << i);
    const auto errors = rf.errors();
    for (std::size_t i = 0; i < prefix; ++i) {
      BOOST_TEST((st[i] == (should_fail(i) ? PointStatus::Failed : PointStatus::Done)), "point " << i);
      if (should_fail(i))
        BOOST_TEST(errors[i] == "synthetic failure of point " + std::to_string(i));
      else
        BOOST_TEST(check_point(rf, i) == "");
    }
    std::printf("[store batch crash] trial %d: kill %.1f ms after creation -> %zu committed\n", trial,
                delay.count() / 1000.0, prefix);
    if (prefix > 0) ++trials_with_points;
    if (prefix > 0 && prefix < kPoints) ++trials_mid_sweep;
  }
  std::remove(tmp.path.c_str());
  std::remove((tmp.path + ".lock").c_str());
  BOOST_TEST(trials_with_points >= 2u);
  BOOST_TEST_MESSAGE(trials_mid_sweep << " trials killed mid-sweep");
}
