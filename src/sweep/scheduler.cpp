#include "iclsweep/sweep/scheduler.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace icl {

void order_by_cost(std::vector<WorkItem>& work) {
  std::stable_sort(work.begin(), work.end(), [](const WorkItem& a, const WorkItem& b) {
    if (a.cost != b.cost) return a.cost > b.cost;
    return a.index < b.index;
  });
}

Scheduler::Scheduler(std::vector<WorkItem> work, int ranks, const SchedulePolicy& policy, double now,
                     std::string host)
    : policy_(policy),
      ranks_(ranks),
      host_(std::move(host)),
      rank_state_(static_cast<std::size_t>(ranks), Rank::Active),
      holding_(static_cast<std::size_t>(ranks), -1),
      seconds_per_cost_(policy.seconds_per_cost > 0 ? policy.seconds_per_cost : 1.0),
      last_tick_(now) {
  for (auto& w : work) {
    total_cost_ += w.cost;
    queue_.push_back(w.index);
    items_.emplace(w.index, std::move(w));
  }
}

std::vector<SchedulerAction> Scheduler::take_actions() {
  std::vector<SchedulerAction> out;
  out.swap(actions_);
  return out;
}

void Scheduler::act(SchedulerAction::Kind kind, int rank, std::int64_t index) {
  SchedulerAction a;
  a.kind = kind;
  a.rank = rank;
  a.index = index;
  actions_.push_back(std::move(a));
}

void Scheduler::notice(std::string text) {
  SchedulerAction a;  // a Notice
  a.text = std::move(text);
  actions_.push_back(std::move(a));
}

double Scheduler::timeout_for(const Running& r) const {
  if (policy_.point_timeout_seconds > 0) return policy_.point_timeout_seconds;
  return std::max(policy_.min_point_timeout_seconds, 10.0 * r.cost * seconds_per_cost_);
}

// The next point for `rank`, recorded as running there; none while draining.
std::optional<std::int64_t> Scheduler::next_point(int rank, double now) {
  if (drain_started_) return std::nullopt;
  while (!queue_.empty()) {
    const std::int64_t idx = queue_.front();
    queue_.pop_front();
    if (finished_.count(idx) || in_flight_.count(idx)) continue;  // a late result arrived meanwhile
    in_flight_[idx] = Running{rank, items_.at(idx).cost, now, ++attempts_[idx], 0.0};
    return idx;
  }
  return std::nullopt;
}

void Scheduler::stop_remote(int rank) {
  act(SchedulerAction::Kind::Stop, rank);
  state(rank) = Rank::Stopped;
}

// An idle remote rank: work if there is any; parked while running points may still time out and be
// handed out again; stopped otherwise.
void Scheduler::feed_remote(int rank, double now) {
  holding_[static_cast<std::size_t>(rank)] = -1;
  if (const auto idx = next_point(rank, now)) {
    holding_[static_cast<std::size_t>(rank)] = *idx;
    state(rank) = Rank::Active;
    act(SchedulerAction::Kind::Assign, rank, *idx);
  } else if (!drain_started_ && !in_flight_.empty()) {
    state(rank) = Rank::Idle;
  } else {
    stop_remote(rank);
  }
}

// The batch is counted as it is handed to the driver: the driver commits it before it carries out any
// later action, and a failed commit ends the sweep with an error, so no count outlives a lost commit.
void Scheduler::commit_batch() {
  if (batch_.empty()) return;
  SchedulerAction a;
  a.kind = SchedulerAction::Kind::Commit;
  a.results = std::move(batch_);
  batch_.clear();
  ++counts_.commits;
  std::vector<std::string> failures;
  for (const auto& r : a.results) {
    if (r.ok)
      ++counts_.done;
    else
      ++counts_.failed;
    if (!r.ok) {
      char head[96];
      std::snprintf(head, sizeof head, "[sweep] point %lld failed on rank %d: ", static_cast<long long>(r.index),
                    r.rank);
      failures.push_back(head + r.error);
    }
  }
  actions_.push_back(std::move(a));
  for (auto& f : failures) notice(std::move(f));
}

// First result of a point wins; a late copy (from a rank that timed out, or the second attempt after a
// late first one) is dropped: the numbers are the same, and the file holds each point once.
void Scheduler::accept(wire::Result r, double now) {
  if (finished_.count(r.index) || !items_.count(r.index)) {
    char msg[128];
    std::snprintf(msg, sizeof msg, "[sweep] late result of point %lld from rank %d ignored: already recorded",
                  static_cast<long long>(r.index), r.rank);
    notice(msg);
    return;
  }
  finished_.insert(r.index);
  const double cost = items_.at(r.index).cost;
  if (r.ok && cost > 0 && r.end_time > r.start_time)
    seconds_per_cost_ = std::max(seconds_per_cost_, (r.end_time - r.start_time) / cost);
  done_cost_ += cost;
  in_flight_.erase(r.index);
  fractions_.erase(r.index);
  if (batch_.empty()) batch_since_ = now;
  batch_.push_back(std::move(r));
}

// A point without progress (or a result) within its timeout: the rank (or rank 0's thread) is given up on, and
// the point goes back to the front of the queue, or is recorded as failed after max_attempts.
void Scheduler::check_timeouts(double now, double wall_now) {
  std::vector<std::int64_t> expired;
  for (const auto& [idx, run] : in_flight_)
    if (now - run.alive > timeout_for(run)) expired.push_back(idx);
  for (const std::int64_t idx : expired) {
    const Running run = in_flight_.at(idx);
    const double limit = timeout_for(run);
    in_flight_.erase(idx);
    fractions_.erase(idx);
    ++counts_.timed_out;
    tried_on_[idx].push_back(run.rank);
    if (run.rank == 0) {
      act(SchedulerAction::Kind::ReplaceLocalWorker, 0, idx);
      local_busy_ = false;  // the fresh worker is idle
    } else {
      state(run.rank) = Rank::Lost;
    }
    const bool give_up = run.attempt >= policy_.max_attempts;
    char msg[256];
    std::snprintf(msg, sizeof msg,
                  "[sweep] point %lld: no progress from rank %d for %.0f s (point timeout; the rank is stopped "
                  "or hung): %s",
                  static_cast<long long>(idx), run.rank, limit,
                  give_up ? "recorded as failed" : drain_started_ ? "left pending" : "handed out again");
    notice(msg);
    if (give_up) {
      std::string ranks;
      for (const int r : tried_on_[idx]) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
      char why[160];
      std::snprintf(why, sizeof why, "timed out: no progress for %.0f s, %d attempts (ranks %s); ", limit,
                    run.attempt, ranks.c_str());
      wire::Result r;
      r.index = idx;
      r.ok = false;
      r.rank = run.rank;
      r.host = host_;
      r.start_time = r.end_time = wall_now;
      r.error = std::string(why) +
                "a worker hung or was stopped, or the point is slower than the timeout: rerun with --retry-failed "
                "(and a larger --point-timeout if it is just slow)";
      accept(std::move(r), now);
    } else if (!drain_started_) {
      queue_.push_front(idx);
    }
  }
}

void Scheduler::start_abandon(const char* why, double now) {
  abandon_started_ = now;
  counts_.abandoned = static_cast<std::int64_t>(in_flight_.size());
  if (!in_flight_.empty()) {
    char msg[160];
    std::snprintf(msg, sizeof msg, "[sweep] %s: abandoning %zu running point(s); they stay pending", why,
                  in_flight_.size());
    notice(msg);
  }
  for (const auto& [idx, run] : in_flight_) act(SchedulerAction::Kind::Abandon, run.rank, idx);
}

bool Scheduler::remote_waiting() const {  // remote ranks we still expect a message from
  for (int r = 1; r < ranks_; ++r)
    if (rank_state_[static_cast<std::size_t>(r)] == Rank::Active) return true;
  return false;
}

void Scheduler::begin_turn(double now, int first_signal, int signal_count) {
  if (now - last_tick_ > policy_.stall_seconds)  // the coordinator was stopped or starved: do not blame the workers
    for (auto& [idx, run] : in_flight_) run.alive += now - last_tick_;
  last_tick_ = now;

  if (first_signal != 0 && !drain_started_) {
    drain_started_ = now;
    char msg[192];
    std::snprintf(msg, sizeof msg,
                  "[sweep] signal %d: no new points; waiting up to %.0f s for %zu running point(s) (a second "
                  "signal stops at once)",
                  first_signal, policy_.grace_seconds, in_flight_.size());
    notice(msg);
    for (int r = 1; r < ranks_; ++r)
      if (state(r) == Rank::Idle) stop_remote(r);
  }
  if (drain_started_ && !abandon_started_) {
    if (signal_count >= 2)
      start_abandon("second signal", now);
    else if (now - *drain_started_ > policy_.grace_seconds && !in_flight_.empty())
      start_abandon("--grace ran out", now);
  }

  // Keep the local worker busy.
  if (!local_busy_ && !abandon_started_)
    if (const auto idx = next_point(0, now)) {
      local_busy_ = true;
      act(SchedulerAction::Kind::Assign, 0, *idx);
    }
}

void Scheduler::on_ready(int rank, double now) {
  if (const std::int64_t h = holding_[static_cast<std::size_t>(rank)]; h >= 0) {
    const auto it = in_flight_.find(h);
    if (it != in_flight_.end() && it->second.rank == rank) in_flight_.erase(it);
    fractions_.erase(h);
  }
  feed_remote(rank, now);
}

void Scheduler::on_result(int rank, wire::Result r, double now) {
  if (state(rank) == Rank::Lost) {
    char msg[64];
    std::snprintf(msg, sizeof msg, "[sweep] rank %d answers again", rank);
    notice(msg);
  }
  state(rank) = Rank::Active;
  const auto it = in_flight_.find(r.index);
  const bool current = it != in_flight_.end() && it->second.rank == rank;
  if (!current && !finished_.count(r.index)) {
    // A late first attempt beats the second one still running elsewhere.
    in_flight_.erase(r.index);
    fractions_.erase(r.index);
  }
  accept(std::move(r), now);
  if (abandon_started_)
    stop_remote(rank);
  else
    feed_remote(rank, now);
}

void Scheduler::on_progress(int rank, std::int64_t index, double fraction, double now) {
  if (const auto it = in_flight_.find(index); it != in_flight_.end() && it->second.rank == rank) {
    fractions_[index] = fraction;
    if (fraction > it->second.fraction) {  // a heartbeat: the point moves
      it->second.fraction = fraction;
      it->second.alive = now;
    }
  }
}

void Scheduler::on_local_outcome(std::int64_t index, bool abandoned, wire::Result result, double now) {
  local_busy_ = false;
  const auto it = in_flight_.find(index);
  const bool current = it != in_flight_.end() && it->second.rank == 0;
  if (abandoned) {
    if (current) in_flight_.erase(it);
  } else {
    if (!current && !finished_.count(index)) in_flight_.erase(index);
    accept(std::move(result), now);
  }
}

void Scheduler::on_local_progress(std::int64_t index, double fraction, double now) {
  if (const auto it = in_flight_.find(index);
      it != in_flight_.end() && it->second.rank == 0 && fraction > it->second.fraction) {
    it->second.fraction = fraction;
    it->second.alive = now;
  }
}

bool Scheduler::end_turn(double now, double wall_now) {
  check_timeouts(now, wall_now);
  // Parked ranks take points handed out again.
  for (int r = 1; r < ranks_ && !queue_.empty() && !drain_started_; ++r)
    if (state(r) == Rank::Idle) feed_remote(r, now);

  const bool running = !in_flight_.empty() || local_busy_;
  const bool nothing_left = !running && (queue_.empty() || drain_started_);
  if (!batch_.empty() &&
      (nothing_left || batch_.size() >= policy_.max_batch || now - batch_since_ >= policy_.commit_delay_seconds))
    commit_batch();
  if (nothing_left) {
    for (int r = 1; r < ranks_; ++r)
      if (state(r) == Rank::Idle) stop_remote(r);
    if (!remote_waiting()) return true;
    // Only ranks that never asked for work are left (stopped before their first message).
    if (!nothing_left_since_) nothing_left_since_ = now;
    if (now - *nothing_left_since_ > policy_.final_wait_seconds) {
      for (int r = 1; r < ranks_; ++r)
        if (state(r) == Rank::Active) state(r) = Rank::Lost;
      return true;
    }
  } else {
    nothing_left_since_.reset();
  }
  if (abandon_started_ && now - *abandon_started_ > policy_.abandon_wait_seconds) {
    for (const auto& [idx, run] : in_flight_)
      if (run.rank != 0) state(run.rank) = Rank::Lost;
    in_flight_.clear();
    for (int r = 1; r < ranks_; ++r)
      if (state(r) == Rank::Active) state(r) = Rank::Lost;
    return true;
  }
  return false;
}

void Scheduler::finish() { commit_batch(); }

SweepOutcome Scheduler::outcome() const {
  const bool unfinished = !queue_.empty() || counts_.abandoned > 0 || finished_.size() < items_.size();
  return unfinished ? SweepOutcome::Drained
         : counts_.failed ? SweepOutcome::CompleteWithFailures
                          : SweepOutcome::Complete;
}

std::vector<int> Scheduler::unresponsive_ranks() const {
  std::vector<int> out;
  for (int r = 1; r < ranks_; ++r)
    if (rank_state_[static_cast<std::size_t>(r)] == Rank::Lost) out.push_back(r);
  return out;
}

double Scheduler::completed_cost(std::optional<std::pair<std::int64_t, double>> local_progress) const {
  double partial = done_cost_;
  for (const auto& [idx, f] : fractions_)
    if (const auto it = in_flight_.find(idx); it != in_flight_.end()) partial += f * it->second.cost;
  if (local_progress)
    if (const auto it = in_flight_.find(local_progress->first); it != in_flight_.end() && it->second.rank == 0)
      partial += local_progress->second * it->second.cost;
  return partial;
}

}  // namespace icl
