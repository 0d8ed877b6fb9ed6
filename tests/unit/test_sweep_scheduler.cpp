#define BOOST_TEST_MODULE sweep_scheduler
// The coordinator's decisions in virtual time: no MPI, no threads, no clock. Each test plays a sweep as
// a sequence of events (turns of the coordinator's loop, worker messages) and checks the actions.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "iclsweep/sweep/progress_line.hpp"
#include "iclsweep/sweep/scheduler.hpp"

using namespace icl;
using Kind = SchedulerAction::Kind;

namespace {

std::vector<WorkItem> points(const std::vector<double>& costs) {  // index i costs costs[i]
  std::vector<WorkItem> work;
  for (std::size_t i = 0; i < costs.size(); ++i) work.push_back({static_cast<std::int64_t>(i), costs[i]});
  order_by_cost(work);
  return work;
}

wire::Result result_of(std::int64_t index, int rank, bool ok = true) {
  wire::Result r;
  r.index = index;
  r.rank = rank;
  r.ok = ok;
  if (!ok) r.error = "diverged";
  return r;
}

// A sweep in virtual time. Every action the scheduler takes is appended to `log`.
struct Sim {
  Scheduler s;
  double t = 0;
  int signal = 0, signal_count = 0;  // what the signal handler would report
  std::vector<SchedulerAction> log;

  Sim(const std::vector<double>& costs, int ranks, const SchedulePolicy& policy = {})
      : s(points(costs), ranks, policy, 0.0, "coordinator-host") {}

  void take() {
    for (auto& a : s.take_actions()) log.push_back(std::move(a));
  }
  // One turn of the coordinator's loop without messages; true when the sweep is over.
  bool turn() {
    s.begin_turn(t, signal, signal_count);
    const bool over = s.end_turn(t, 1e9 + t);
    take();
    return over;
  }
  // Turns every 0.5 s (the real loop turns every few ms; gaps over 1 s would count as coordinator stalls).
  bool advance_to(double until) {
    while (t < until) {
      t = std::min(until, t + 0.5);
      if (turn()) return true;
    }
    return false;
  }
  void ready(int rank) { s.on_ready(rank, t), take(); }
  void result(int rank, std::int64_t index, bool ok = true) { s.on_result(rank, result_of(index, rank, ok), t), take(); }
  void progress(int rank, std::int64_t index, double f) { s.on_progress(rank, index, f, t), take(); }
  void local_done(std::int64_t index, bool ok = true) { s.on_local_outcome(index, false, result_of(index, 0, ok), t), take(); }
  void local_abandoned(std::int64_t index) { s.on_local_outcome(index, true, {}, t), take(); }

  std::size_t mark() const { return log.size(); }
  std::vector<std::pair<int, std::int64_t>> assigned(std::size_t from = 0) const {
    std::vector<std::pair<int, std::int64_t>> out;
    for (std::size_t i = from; i < log.size(); ++i)
      if (log[i].kind == Kind::Assign) out.emplace_back(log[i].rank, log[i].index);
    return out;
  }
  std::vector<int> ranks_of(Kind kind, std::size_t from = 0) const {
    std::vector<int> out;
    for (std::size_t i = from; i < log.size(); ++i)
      if (log[i].kind == kind) out.push_back(log[i].rank);
    return out;
  }
  std::vector<wire::Result> committed() const {
    std::vector<wire::Result> out;
    for (const auto& a : log)
      if (a.kind == Kind::Commit) out.insert(out.end(), a.results.begin(), a.results.end());
    return out;
  }
  bool said(const std::string& part, std::size_t from = 0) const {
    for (std::size_t i = from; i < log.size(); ++i)
      if (log[i].kind == Kind::Notice && log[i].text.find(part) != std::string::npos) return true;
    return false;
  }
};

using Assigned = std::vector<std::pair<int, std::int64_t>>;

SchedulePolicy with_timeout(double seconds) {
  SchedulePolicy p;
  p.point_timeout_seconds = seconds;
  return p;
}

}  // namespace

BOOST_AUTO_TEST_CASE(order_by_cost_puts_the_most_expensive_first_and_breaks_ties_by_index) {
  std::vector<WorkItem> work{{0, 1.0}, {1, 5.0}, {2, 3.0}, {3, 5.0}, {4, 0.5}};
  order_by_cost(work);
  std::vector<std::int64_t> order;
  for (const auto& w : work) order.push_back(w.index);
  BOOST_TEST((order == std::vector<std::int64_t>{1, 3, 2, 0, 4}));
}

BOOST_AUTO_TEST_CASE(points_are_handed_out_in_the_given_order_to_whoever_asks) {
  Sim sim({1.0, 5.0, 3.0, 5.0}, 3);
  sim.turn();       // the local worker takes the first point at once
  sim.ready(2);     // remote ranks ask in any order
  sim.ready(1);
  BOOST_TEST((sim.assigned() == Assigned{{0, 1}, {2, 3}, {1, 2}}));
  sim.t = 0.1;
  sim.result(1, 2);  // a result is answered with the next point
  BOOST_TEST((sim.assigned() == Assigned{{0, 1}, {2, 3}, {1, 2}, {1, 0}}));
  BOOST_TEST(sim.s.running() == 3u);
}

BOOST_AUTO_TEST_CASE(a_single_process_runs_every_point_locally_and_commits_in_batches) {
  SchedulePolicy policy;
  policy.commit_delay_seconds = 0.25;
  Sim sim({1.0, 2.0, 3.0}, 1, policy);
  for (int i = 0; i < 3; ++i) {
    sim.t += 0.2;
    BOOST_TEST(!sim.turn());
    BOOST_REQUIRE(!sim.assigned().empty());
    sim.local_done(sim.assigned().back().second);
  }
  BOOST_TEST((sim.assigned() == Assigned{{0, 2}, {0, 1}, {0, 0}}));
  // At t = 0.6 the first two results had waited 0.4 and 0.2 s: one commit for both; the third waits.
  BOOST_TEST(sim.ranks_of(Kind::Commit).size() == 1u);
  BOOST_TEST(sim.committed().size() == 2u);
  BOOST_TEST(sim.turn());  // nothing left: the rest is committed at once, the sweep ends
  sim.s.finish();
  sim.take();
  BOOST_TEST(sim.committed().size() == 3u);
  BOOST_TEST(sim.s.counts().done == 3);
  BOOST_TEST(sim.s.counts().commits == 2);
  BOOST_TEST((sim.s.outcome() == SweepOutcome::Complete));
  BOOST_TEST(sim.s.unresponsive_ranks().empty());
}

BOOST_AUTO_TEST_CASE(a_batch_is_committed_when_the_oldest_result_waited_the_commit_delay) {
  SchedulePolicy policy;
  policy.commit_delay_seconds = 0.25;
  Sim sim({1.0, 1.0, 1.0}, 2, policy);
  sim.turn();
  sim.ready(1);
  sim.t = 1.0;
  sim.result(1, 1);  // point 0 runs locally; rank 1 finished point 1 and took point 2
  BOOST_TEST(!sim.turn());
  BOOST_TEST(sim.committed().empty());  // waited 0 s
  sim.t = 1.2;
  BOOST_TEST(!sim.turn());
  BOOST_TEST(sim.committed().empty());  // waited 0.2 s
  sim.t = 1.3;
  BOOST_TEST(!sim.turn());
  BOOST_TEST(sim.committed().size() == 1u);
  BOOST_TEST(sim.s.counts().done == 1);
}

BOOST_AUTO_TEST_CASE(a_failed_point_is_committed_and_named) {
  Sim sim({1.0}, 1);
  sim.turn();
  sim.local_done(0, false);
  BOOST_TEST(sim.turn());
  BOOST_TEST(sim.said("[sweep] point 0 failed on rank 0: diverged"));
  BOOST_TEST(sim.s.counts().failed == 1);
  BOOST_TEST((sim.s.outcome() == SweepOutcome::CompleteWithFailures));
}

BOOST_AUTO_TEST_CASE(a_silent_point_is_handed_out_again_then_recorded_as_failed) {
  Sim sim({2.0, 1.0}, 2, with_timeout(100));
  sim.turn();    // local: point 0
  sim.ready(1);  // rank 1: point 1
  BOOST_TEST((sim.assigned() == Assigned{{0, 0}, {1, 1}}));
  sim.advance_to(10);
  sim.local_done(0);
  sim.advance_to(50);
  sim.progress(1, 1, 0.1);  // a heartbeat: the point moved
  sim.advance_to(120);
  sim.progress(1, 1, 0.1);  // the same fraction again is no heartbeat
  BOOST_TEST(!sim.advance_to(150));
  BOOST_TEST(sim.s.counts().timed_out == 0);  // 100 s after the heartbeat at t = 50, not after t = 120

  const auto before = sim.mark();
  BOOST_TEST(!sim.advance_to(151));
  BOOST_TEST(sim.s.counts().timed_out == 1);
  BOOST_TEST(sim.said("point 1: no progress from rank 1 for 100 s", before));
  BOOST_TEST(sim.said("handed out again", before));
  BOOST_TEST((sim.assigned(before) == Assigned{{0, 1}}));  // the idle local worker takes it

  const auto second = sim.mark();
  BOOST_TEST(sim.advance_to(400));  // the second attempt times out too: recorded as failed, the sweep ends
  BOOST_TEST(sim.s.counts().timed_out == 2);
  BOOST_TEST((sim.ranks_of(Kind::ReplaceLocalWorker, second) == std::vector<int>{0}));
  BOOST_TEST(sim.said("recorded as failed", second));
  sim.s.finish();
  sim.take();
  const auto results = sim.committed();
  BOOST_REQUIRE(results.size() == 2u);
  const auto& failed = results[1];
  BOOST_TEST(failed.index == 1);
  BOOST_TEST(!failed.ok);
  BOOST_TEST(failed.host == "coordinator-host");
  BOOST_TEST(failed.error.rfind("timed out: no progress for 100 s, 2 attempts (ranks 1, 0); ", 0) == 0);
  BOOST_TEST((sim.s.outcome() == SweepOutcome::CompleteWithFailures));
  BOOST_TEST((sim.s.unresponsive_ranks() == std::vector<int>{1}));  // the lost rank never answered
}

BOOST_AUTO_TEST_CASE(a_lost_rank_that_answers_late_wins_and_the_second_attempt_is_ignored) {
  Sim sim({2.0, 1.0}, 2, with_timeout(100));
  sim.turn();
  sim.ready(1);
  sim.advance_to(5);
  sim.local_done(0);
  sim.advance_to(101);  // rank 1 (point 1) is lost; the local worker runs point 1 again
  BOOST_TEST((sim.assigned() == Assigned{{0, 0}, {1, 1}, {0, 1}}));
  sim.result(1, 1);     // the first attempt arrives late: it wins
  BOOST_TEST(sim.said("rank 1 answers again"));
  BOOST_TEST((sim.ranks_of(Kind::Stop) == std::vector<int>{1}));  // nothing is left to run or to time out
  sim.local_done(1);    // the second attempt's copy is dropped
  BOOST_TEST(sim.said("late result of point 1 from rank 0 ignored: already recorded"));
  BOOST_TEST(sim.advance_to(102));
  sim.s.finish();
  sim.take();
  BOOST_TEST(sim.committed().size() == 2u);
  BOOST_TEST(sim.committed()[1].rank == 1);
  BOOST_TEST(sim.s.unresponsive_ranks().empty());  // it answered again
  BOOST_TEST((sim.s.outcome() == SweepOutcome::Complete));
}

BOOST_AUTO_TEST_CASE(an_idle_rank_is_parked_and_takes_a_point_handed_out_again) {
  Sim sim({3.0, 2.0}, 3, with_timeout(100));
  sim.turn();    // local: point 0
  sim.ready(1);  // rank 1: point 1
  sim.ready(2);  // nothing left, but point 1 may still time out: rank 2 waits
  BOOST_TEST(sim.ranks_of(Kind::Stop).empty());
  sim.progress(1, 1, 0.5);
  sim.advance_to(50);
  sim.s.on_local_progress(0, 0.2, sim.t);  // the local worker's heartbeat
  const auto before = sim.mark();
  sim.advance_to(100.5);  // point 1 (silent since t = 0) times out; point 0 moved at t = 50
  BOOST_TEST((sim.assigned(before) == Assigned{{2, 1}}));
  BOOST_TEST(sim.s.counts().timed_out == 1);
}

BOOST_AUTO_TEST_CASE(a_coordinator_stall_is_not_blamed_on_the_workers) {
  Sim sim({1.0, 1.0}, 2, with_timeout(100));
  sim.turn();
  sim.ready(1);
  sim.t = 500;  // the coordinator itself was stopped for 500 s
  BOOST_TEST(!sim.turn());
  BOOST_TEST(sim.s.counts().timed_out == 0);
  BOOST_TEST(!sim.advance_to(599));
  BOOST_TEST(sim.s.counts().timed_out == 0);
  sim.advance_to(601);
  BOOST_TEST(sim.s.counts().timed_out == 2);
}

BOOST_AUTO_TEST_CASE(the_first_signal_drains_no_new_points_running_ones_are_committed) {
  Sim sim({5.0, 4.0, 3.0, 2.0, 1.0}, 4);
  sim.turn();
  sim.ready(1);
  sim.ready(2);
  BOOST_TEST(sim.assigned().size() == 3u);
  sim.t = 1;
  sim.signal = 15;
  sim.signal_count = 1;
  BOOST_TEST(!sim.turn());
  BOOST_TEST(sim.said("[sweep] signal 15: no new points; waiting up to 120 s for 3 running point(s)"));
  BOOST_TEST(sim.s.draining());
  sim.ready(3);  // a rank that asks only now is stopped
  sim.result(1, 1);
  sim.local_done(0);
  BOOST_TEST((sim.ranks_of(Kind::Stop) == std::vector<int>{3, 1}));
  BOOST_TEST(sim.assigned().size() == 3u);  // nothing new, locally either
  BOOST_TEST(!sim.turn());                 // point 2 still runs
  sim.t = 60;
  sim.result(2, 2);
  BOOST_TEST(sim.turn());
  sim.s.finish();
  sim.take();
  BOOST_TEST(sim.committed().size() == 3u);
  BOOST_TEST(sim.s.counts().abandoned == 0);
  BOOST_TEST((sim.s.outcome() == SweepOutcome::Drained));
  BOOST_TEST(sim.ranks_of(Kind::Abandon).empty());
}

BOOST_AUTO_TEST_CASE(a_second_signal_abandons_the_running_points_at_once) {
  Sim sim({3.0, 2.0, 1.0}, 3);
  sim.turn();
  sim.ready(1);
  sim.ready(2);
  sim.t = 1;
  sim.signal = 2;
  sim.signal_count = 1;
  sim.turn();
  sim.result(2, 2);  // committed: it finished during the drain
  sim.t = 3;
  sim.signal_count = 2;
  const auto before = sim.mark();
  BOOST_TEST(!sim.turn());
  BOOST_TEST(sim.said("[sweep] second signal: abandoning 2 running point(s); they stay pending", before));
  BOOST_TEST((sim.ranks_of(Kind::Abandon, before) == std::vector<int>{0, 1}));
  BOOST_TEST(sim.s.counts().abandoned == 2);
  sim.local_abandoned(0);
  sim.ready(1);  // rank 1 dropped its point
  BOOST_TEST(sim.turn());
  sim.s.finish();
  sim.take();
  BOOST_TEST(sim.committed().size() == 1u);
  BOOST_TEST((sim.s.outcome() == SweepOutcome::Drained));
  BOOST_TEST(sim.s.unresponsive_ranks().empty());
  BOOST_TEST(sim.assigned().size() == 3u);
}

BOOST_AUTO_TEST_CASE(ranks_that_do_not_drop_an_abandoned_point_are_given_up_after_the_abandon_wait) {
  SchedulePolicy policy;
  policy.abandon_wait_seconds = 10;
  Sim sim({2.0, 1.0}, 2, policy);
  sim.turn();
  sim.ready(1);
  sim.signal = 15;
  sim.signal_count = 2;  // two requests at once
  sim.t = 0.5;
  sim.turn();
  BOOST_TEST((sim.ranks_of(Kind::Abandon) == std::vector<int>{0, 1}));
  BOOST_TEST(!sim.advance_to(10));
  BOOST_TEST(sim.advance_to(11));
  BOOST_TEST((sim.s.unresponsive_ranks() == std::vector<int>{1}));
  BOOST_TEST((sim.s.outcome() == SweepOutcome::Drained));
}

BOOST_AUTO_TEST_CASE(running_out_of_grace_abandons_like_a_second_signal) {
  SchedulePolicy policy;
  policy.grace_seconds = 5;
  Sim sim({1.0}, 1, policy);
  sim.turn();
  sim.signal = 15;
  sim.signal_count = 1;
  sim.advance_to(5.5);  // the drain started at t = 0.5
  BOOST_TEST(sim.ranks_of(Kind::Abandon).empty());
  sim.advance_to(6);
  BOOST_TEST(sim.said("--grace ran out: abandoning 1 running point(s)"));
  BOOST_TEST((sim.ranks_of(Kind::Abandon) == std::vector<int>{0}));
  sim.local_abandoned(0);
  BOOST_TEST(sim.turn());
  BOOST_TEST((sim.s.outcome() == SweepOutcome::Drained));
}

BOOST_AUTO_TEST_CASE(a_rank_that_never_asks_for_work_is_given_up_once_nothing_is_left) {
  SchedulePolicy policy;
  policy.final_wait_seconds = 30;
  Sim sim({1.0}, 2, policy);
  sim.turn();
  sim.local_done(0);
  BOOST_TEST(!sim.advance_to(30));
  BOOST_TEST(sim.committed().size() == 1u);  // committed while waiting
  BOOST_TEST(sim.advance_to(31));
  BOOST_TEST((sim.s.unresponsive_ranks() == std::vector<int>{1}));
  BOOST_TEST((sim.s.outcome() == SweepOutcome::Complete));
}

BOOST_AUTO_TEST_CASE(the_auto_timeout_follows_the_slowest_measured_rate) {
  SchedulePolicy policy;
  policy.min_point_timeout_seconds = 10;
  policy.seconds_per_cost = 1.0;  // prior: 10 x cost x 1 s = 20 s for a point of cost 2
  Sim sim({2.0, 2.0, 2.0}, 2, policy);
  sim.turn();
  sim.ready(1);
  wire::Result slow = result_of(0, 0);
  slow.start_time = 100;
  slow.end_time = 108;  // 4 s per cost unit: the timeout of a cost-2 point becomes 80 s
  sim.advance_to(8);
  sim.s.on_local_outcome(0, false, slow, sim.t);
  sim.take();
  BOOST_TEST(!sim.advance_to(80));
  BOOST_TEST(sim.s.counts().timed_out == 0);  // rank 1 silent for 80 s, the local point for 72 s
  sim.advance_to(80.5);
  BOOST_TEST(sim.s.counts().timed_out == 1);
}

BOOST_AUTO_TEST_CASE(the_progress_line_extrapolates_the_cost_done) {
  ProgressSnapshot s;
  s.done = 3;
  s.failed = 1;
  s.total_points = 10;
  s.running = 2;
  s.elapsed_seconds = 120;
  s.completed_cost = 25;
  s.total_cost = 100;
  BOOST_TEST(progress_line(s) ==
             "[sweep] 4/10 points done, 1 failed, 2 running | 2.00 points/min | elapsed 2m00s | ETA 6m00s");
  s.draining = true;
  s.point_status = "step 10/20";
  BOOST_TEST(progress_line(s) ==
             "[sweep] 4/10 points done, 1 failed, 2 running | 2.00 points/min | elapsed 2m00s | ETA draining | step 10/20");
  s.completed_cost = 0;
  s.draining = false;
  s.point_status.reset();
  BOOST_TEST(progress_line(s).find("ETA ?") != std::string::npos);
  BOOST_TEST(format_duration(7500) == "2h05m");
  BOOST_TEST(format_duration(-1) == "?");
}

BOOST_AUTO_TEST_CASE(completed_cost_counts_the_done_fraction_of_running_points) {
  Sim sim({4.0, 2.0, 1.0}, 2);
  sim.turn();    // local: point 0 (cost 4)
  sim.ready(1);  // rank 1: point 1 (cost 2)
  sim.progress(1, 1, 0.5);
  BOOST_TEST(sim.s.completed_cost(std::nullopt) == 1.0);
  BOOST_TEST(sim.s.completed_cost(std::pair<std::int64_t, double>{0, 0.25}) == 2.0);
  sim.result(1, 1);
  BOOST_TEST(sim.s.completed_cost(std::nullopt) == 2.0);
  BOOST_TEST(sim.s.total_cost() == 7.0);
}

BOOST_AUTO_TEST_CASE(a_point_that_times_out_during_a_drain_is_left_pending) {
  Sim sim({2.0, 1.0}, 2, with_timeout(100));
  sim.turn();
  sim.ready(1);
  sim.advance_to(5);
  sim.local_done(0);
  sim.signal = 15;
  sim.signal_count = 1;
  BOOST_TEST(!sim.advance_to(100));  // grace (120 s) has not run out; rank 1 is silent
  BOOST_TEST(sim.advance_to(101));   // its point times out: not handed out again, the drain ends
  BOOST_TEST(sim.said("point 1: no progress from rank 1 for 100 s (point timeout; the rank is stopped or hung): left pending"));
  BOOST_TEST((sim.assigned() == Assigned{{0, 0}, {1, 1}}));
  sim.s.finish();
  sim.take();
  BOOST_TEST(sim.committed().size() == 1u);
  BOOST_TEST((sim.s.outcome() == SweepOutcome::Drained));
  BOOST_TEST((sim.s.unresponsive_ranks() == std::vector<int>{1}));
}

BOOST_AUTO_TEST_CASE(progress_from_a_rank_that_no_longer_runs_the_point_is_no_heartbeat) {
  Sim sim({2.0, 1.0}, 3, with_timeout(100));
  sim.turn();    // local: point 0
  sim.ready(1);  // rank 1: point 1
  sim.ready(2);  // parked
  sim.advance_to(5);
  sim.local_done(0);
  sim.advance_to(100.5);  // point 1 times out on rank 1 and goes to the parked rank 2
  BOOST_TEST((sim.assigned() == Assigned{{0, 0}, {1, 1}, {2, 1}}));
  sim.advance_to(150);
  sim.progress(1, 1, 0.9);  // the lost rank's old attempt: rank 2's attempt is still silent since t = 100.5
  BOOST_TEST(!sim.advance_to(200.5));
  BOOST_TEST(sim.s.counts().timed_out == 1);
  sim.advance_to(201);
  BOOST_TEST(sim.s.counts().timed_out == 2);
  BOOST_TEST(sim.said("point 1: no progress from rank 2 for 100 s"));
}
