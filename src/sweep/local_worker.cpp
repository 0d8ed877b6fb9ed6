#include "local_worker.hpp"

#include "iclsweep/sweep/engine.hpp"

namespace icl {

LocalWorker::LocalWorker() : thread_([this] { loop(); }) {}

LocalWorker::~LocalWorker() {
  abandon();  // a running point ends at its next progress report
  {
    std::lock_guard<std::mutex> g(m_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

LocalWorker* LocalWorker::retire(std::unique_ptr<LocalWorker> w) {
  w->abandon();
  w->thread_.detach();
  return w.release();  // intentionally leaked, see the header
}

void LocalWorker::assign(wire::Assignment a) {
  {
    std::lock_guard<std::mutex> g(m_);
    current_ = a.index;
    pending_ = std::move(a);
    busy_ = true;
    abandon_ = false;
    fraction_ = 0;
  }
  cv_.notify_all();
}

std::optional<LocalWorker::Outcome> LocalWorker::wait_outcome(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lk(m_);
  if (timeout.count() > 0) done_cv_.wait_for(lk, timeout, [this] { return outcome_.has_value(); });
  std::optional<Outcome> r;
  r.swap(outcome_);
  return r;
}

std::string LocalWorker::status_text() const {
  std::lock_guard<std::mutex> g(text_m_);
  return text_;
}

void LocalWorker::loop() {
  while (true) {
    wire::Assignment a;
    {
      std::unique_lock<std::mutex> lk(m_);
      cv_.wait(lk, [this] { return stop_ || pending_.has_value(); });
      if (stop_ && !pending_) return;
      a = std::move(*pending_);
      pending_.reset();
    }
    Outcome out;
    out.index = a.index;
    try {
      out.result = run_point(a, 0, [this](double f, const std::string& text) {
        if (abandon_) throw PointAbandoned{};
        fraction_ = f;
        std::lock_guard<std::mutex> g(text_m_);
        text_ = text;
      });
    } catch (const PointAbandoned&) {
      out.abandoned = true;
    }
    {
      std::lock_guard<std::mutex> g(m_);
      outcome_ = std::move(out);
      busy_ = false;
    }
    done_cv_.notify_all();
  }
}

}  // namespace icl
