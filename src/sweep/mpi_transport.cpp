#include "mpi_transport.hpp"

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "iclsweep/sweep/engine.hpp"
#include "local_worker.hpp"

namespace icl {
namespace {

// MPI tags of the coordinator/worker protocol.
constexpr int kTagReady = 1;     // worker -> coordinator: idle, send work (empty message)
constexpr int kTagAssign = 2;    // coordinator -> worker: wire::Assignment
constexpr int kTagResult = 3;    // worker -> coordinator: wire::Result (the worker is idle afterwards)
constexpr int kTagProgress = 4;  // worker -> coordinator: {index, fraction} as two doubles
constexpr int kTagStop = 5;      // coordinator -> worker: no more work
constexpr int kTagAbandon = 6;   // coordinator -> worker: drop the running point, answer kTagReady

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void send_bytes(MPI_Comm comm, int dest, int tag, const std::vector<char>& bytes) {
  MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_CHAR, dest, tag, comm);
}

std::vector<char> recv_bytes(MPI_Comm comm, const MPI_Status& probed) {
  int count = 0;
  MPI_Get_count(&probed, MPI_CHAR, &count);
  std::vector<char> bytes(static_cast<std::size_t>(count));
  MPI_Recv(bytes.data(), count, MPI_CHAR, probed.MPI_SOURCE, probed.MPI_TAG, comm, MPI_STATUS_IGNORE);
  return bytes;
}

}  // namespace

CoordinatorLink::CoordinatorLink(MPI_Comm comm) : comm_(comm) { MPI_Comm_size(comm, &size_); }

std::optional<WorkerMessage> CoordinatorLink::poll() {
  int flag = 0;
  MPI_Status st;
  MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm_, &flag, &st);
  if (!flag) return std::nullopt;
  const auto bytes = recv_bytes(comm_, st);
  WorkerMessage m;
  m.rank = st.MPI_SOURCE;
  if (st.MPI_TAG == kTagReady) {
    m.kind = WorkerMessage::Kind::Ready;
  } else if (st.MPI_TAG == kTagResult) {
    m.kind = WorkerMessage::Kind::Result;
    m.result = wire::decode_result(bytes);
  } else if (st.MPI_TAG == kTagProgress && bytes.size() == 2 * sizeof(double)) {
    double v[2];
    std::memcpy(v, bytes.data(), sizeof v);
    m.kind = WorkerMessage::Kind::Progress;
    m.index = static_cast<std::int64_t>(v[0]);
    m.fraction = v[1];
  }
  return m;
}

void CoordinatorLink::assign(int rank, const wire::Assignment& a) { send_bytes(comm_, rank, kTagAssign, wire::encode(a)); }
void CoordinatorLink::stop(int rank) { MPI_Send(nullptr, 0, MPI_CHAR, rank, kTagStop, comm_); }
void CoordinatorLink::abandon(int rank) { MPI_Send(nullptr, 0, MPI_CHAR, rank, kTagAbandon, comm_); }

bool sleepy_barrier(MPI_Comm comm, double deadline_seconds) {
  MPI_Request req;
  MPI_Ibarrier(comm, &req);
  const double t0 = now_seconds();
  int flag = 0;
  while (true) {
    MPI_Test(&req, &flag, MPI_STATUS_IGNORE);
    if (flag) return true;
    if (deadline_seconds > 0 && now_seconds() - t0 > deadline_seconds) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void sleepy_broadcast(MPI_Comm comm, int& value) {
  MPI_Request req;
  MPI_Ibcast(&value, 1, MPI_INT, 0, comm, &req);
  int flag = 0;
  while (true) {
    MPI_Test(&req, &flag, MPI_STATUS_IGNORE);
    if (flag) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void serve_as_worker(MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  MPI_Send(nullptr, 0, MPI_CHAR, 0, kTagReady, comm);
  while (true) {
    MPI_Status st;
    int flag = 0;
    // Poll with a short sleep rather than a spinning blocking receive.
    while (!flag) {
      MPI_Iprobe(0, MPI_ANY_TAG, comm, &flag, &st);
      if (!flag) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    auto bytes = recv_bytes(comm, st);
    if (st.MPI_TAG == kTagStop) break;
    if (st.MPI_TAG != kTagAssign) continue;  // e.g. a kTagAbandon that crossed our result
    const auto a = wire::decode_assignment(bytes);
    double last = 0;
    auto progress = [&](double f, const std::string&) {
      int abandon = 0;
      MPI_Status ast;
      MPI_Iprobe(0, kTagAbandon, comm, &abandon, &ast);
      if (abandon) {
        recv_bytes(comm, ast);
        throw PointAbandoned{};
      }
      const double t = now_seconds();
      if (t - last < 2.0) return;
      last = t;
      const double v[2] = {static_cast<double>(a.index), f};
      MPI_Send(v, static_cast<int>(sizeof v), MPI_CHAR, 0, kTagProgress, comm);
    };
    try {
      const auto result = run_point(a, rank, progress);
      send_bytes(comm, 0, kTagResult, wire::encode(result));
    } catch (const PointAbandoned&) {
      MPI_Send(nullptr, 0, MPI_CHAR, 0, kTagReady, comm);
    }
  }
  sleepy_barrier(comm);
}

}  // namespace icl
