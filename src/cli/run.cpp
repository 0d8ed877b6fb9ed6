// `iclsweep run JOB --out FILE`: the sweep, as one process or under mpirun/srun with any number of ranks.
#include <mpi.h>

#include <Eigen/Core>
#include <boost/program_options.hpp>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>

#include "iclsweep/cli/commands.hpp"
#include "iclsweep/cli/exit_codes.hpp"
#include "iclsweep/cli/options.hpp"
#include "iclsweep/cli/registry.hpp"
#include "iclsweep/cli/table.hpp"
#include "iclsweep/core/error.hpp"
#include "iclsweep/store/output_file.hpp"
#include "iclsweep/store/results_file.hpp"
#include "iclsweep/sweep/engine.hpp"
#include "iclsweep/sweep/job.hpp"
#include "iclsweep/sweep/model_kinds.hpp"
#include "iclsweep/sweep/prepare.hpp"

namespace po = boost::program_options;

namespace icl::cli {
namespace {

struct SignalledEarly {};            // a drain signal before the results file was opened
bool g_exit_without_cleanup = false;  // rank 0's worker thread is stuck inside a point

// scripts/mpirun-drain sets ICLSWEEP_EXIT_CODE_FILE: rank 0 writes its exit code there and the ranks exit
// 0, and the wrapper exits with the code from the file. mpirun treats any non-zero exit of a rank as a
// failed job and kills the others, then waits odls_base_sigkill_timeout seconds before it can exit; the
// Slurm template raises that timeout so that a plain scancel's SIGTERM to mpirun leaves the ranks time
// to drain, which would otherwise also delay every ordinary exit 3 (drain), 2 or 4.
// ICLSWEEP_EXIT_CODE_HOST names the wrapper's node: a rank 0 elsewhere keeps its code.
const char* exit_code_file() {
  const char* path = std::getenv("ICLSWEEP_EXIT_CODE_FILE");
  const char* host = std::getenv("ICLSWEEP_EXIT_CODE_HOST");
  if (!path || !*path || !host || host_name() != host) return nullptr;
  return path;
}

// Rank 0: records `code` for the wrapper; returns what the process should exit with.
int hand_exit_code_to_wrapper(int code) {
  const char* path = exit_code_file();
  if (!path) return code;
  if (std::FILE* f = std::fopen(path, "w")) {
    const bool ok = std::fprintf(f, "%d\n", code) > 0;
    if (std::fclose(f) == 0 && ok) return kExitOk;
  }
  std::fprintf(stderr, "[sweep] warning: cannot write the exit code to ICLSWEEP_EXIT_CODE_FILE=%s: %s\n", path,
               std::strerror(errno));
  return code;
}

struct RunOptions {
  std::string job_path, out;
  std::optional<std::string> inline_job;  // `iclsweep train`: a one-point job made of --set options
  std::string command = "run";
  std::vector<std::string> sets;
  std::vector<std::string> from;  // --from OLD.h5: reuse the done points it shares with this job
  double grace = 120;
  double progress = 0;
  double point_timeout = 0;  // 0 = from the cost model
  bool retry_failed = false, quiet = false, sync = false, overwrite = false;
  bool accept_changed_inputs = false;  // resume / --from although an input's fingerprint changed
};

// Commits each result to the results file before the coordinator counts it.
class FileSink final : public ResultSink {
 public:
  explicit FileSink(ResultsFile& f) : file_(f) {}
  void commit(const wire::Result& r) override { commit_batch({r}); }
  void commit_batch(const std::vector<wire::Result>& results) override {
    for (const auto& r : results) stage(r);
    try {
      file_.commit_staged();
    } catch (const StoreError& e) {
      throw commit_failure(results.empty() ? 0 : static_cast<std::size_t>(results.front().index), e);
    }
  }

 private:
  void stage(const wire::Result& r) {
    PointMeta meta;
    meta.status = r.ok ? PointStatus::Done : PointStatus::Failed;
    meta.error = r.error;
    meta.rank = r.rank;
    meta.host = r.host;
    meta.start_time = r.start_time;
    meta.end_time = r.end_time;
    meta.cpu_time = r.cpu_time;
    const auto index = static_cast<std::size_t>(r.index);
    if (!r.ok) {
      stage_failure(index, meta);
      return;
    }
    try {
      file_.stage_point(index, meta, fields_the_file_has(r.record));
    } catch (const StoreError& e) {
      // A failing write (disk full, quota, I/O error) stops the sweep: the file cannot take more points.
      if (e.sys_errno != 0) throw commit_failure(index, e);
      // A record that does not fit the schema (refused before any byte is written) is a bug in its
      // model kind: keep the sweep going.
      meta.status = PointStatus::Failed;
      meta.error = std::string("could not store the result: ") + e.what();
      stage_failure(index, meta);
    }
  }

  // A file created by an older iclsweep lacks fields added since (e.g. the ICL/IWL readout): resuming it
  // stores what the file has room for and says once per field what is left out, instead of failing the point.
  PointRecord fields_the_file_has(const PointRecord& record) {
    const ResultSchema& schema = file_.schema();
    bool all_known = true;
    for (const auto& kv : record.fields) all_known = all_known && schema.find(kv.first) != nullptr;
    if (all_known) return record;
    PointRecord kept;
    for (const auto& [name, values] : record.fields) {
      if (schema.find(name)) {
        kept.fields.emplace(name, values);
      } else if (left_out_.insert(name).second) {
        std::fprintf(stderr, "\n[sweep] note: field '%s' is not stored: '%s' was created by an older iclsweep without it "
                     "(a new results file records it)\n", name.c_str(), file_.path().c_str());
      }
    }
    return kept;
  }

  void stage_failure(std::size_t index, const PointMeta& meta) {
    try {
      file_.stage_failure(index, meta);
    } catch (const StoreError& e) {
      throw commit_failure(index, e);
    }
  }

  StoreError commit_failure(std::size_t index, const StoreError& e) const {
    const std::string dir = std::filesystem::path(file_.path()).parent_path().string();
    const std::int64_t avail = free_bytes(dir.empty() ? "." : dir);
    std::string head = system_cause(e.sys_errno) + " while committing point " + std::to_string(index) + " to '" +
                       file_.path() + "'";
    if (e.sys_errno == ENOSPC || e.sys_errno == EDQUOT)
      head += avail >= 0 ? " (" + format_bytes(static_cast<std::uint64_t>(avail)) + " free)" : "";
    head += "; the points committed before it are safe: ";
    head += e.sys_errno == ENOSPC || e.sys_errno == EDQUOT ? "free space there, then rerun the command (without --overwrite) to resume"
                                                          : "fix the cause, then rerun the command (without --overwrite) to resume";
    return StoreError(head, e.sys_errno, e.detail.empty() ? e.headline : e.detail);
  }

  ResultsFile& file_;
  std::set<std::string> left_out_;
};

std::string mpi_library_version() {
  char buf[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int len = 0;
  MPI_Get_library_version(buf, &len);
  std::string s(buf, static_cast<std::size_t>(len));
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

// Build provenance (version, commit, compiler, HDF5, Eigen) is written by the store itself; the MPI
// library is only known here.
std::vector<std::pair<std::string, std::string>> provenance() { return {{"mpi_library", mpi_library_version()}}; }

std::string command_line(const Args& args) {
  std::string s = "iclsweep run";
  for (const auto& a : args) s += " " + a;
  return s;
}

void print_summary(const Job& job, const ResultsFile& file) {
  constexpr std::size_t kMaxRows = 40;
  // The columns of every kind among the shown points (a job may sweep run.model_kind), in order of first
  // appearance; a point shows only its own kind's columns, "-" elsewhere and where nothing was recorded.
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<std::string> kinds_seen;
  for (std::size_t i = 0; i < job.size() && i < kMaxRows; ++i) {
    const std::string kind = job.point(i).params.get_string("run.model_kind");
    if (std::find(kinds_seen.begin(), kinds_seen.end(), kind) != kinds_seen.end()) continue;
    kinds_seen.push_back(kind);
    for (const auto& f : model_kind(kind).summary_fields())
      if (std::find(fields.begin(), fields.end(), f) == fields.end()) fields.push_back(f);
  }
  Table t;
  std::vector<std::string> header = {"#", "status"};
  for (const auto& k : job.grid_keys()) header.push_back(k);
  for (const auto& f : fields) header.push_back(f.first);
  t.header(header);
  const auto statuses = file.statuses();
  for (std::size_t i = 0; i < job.size() && i < kMaxRows; ++i) {
    const JobPoint p = job.point(i);
    std::vector<std::string> row = {std::to_string(p.index), to_string(statuses[p.index])};
    for (const auto& gv : p.grid_values) row.push_back(gv.second);
    const bool done = statuses[p.index] == PointStatus::Done;
    const PointRecord rec = done ? file.read_point(p.index) : PointRecord{};
    const auto own = model_kind(p.params.get_string("run.model_kind")).summary_fields();
    for (const auto& f : fields) {
      const auto it = rec.fields.find(f.second);
      const FieldSpec* spec = file.schema().find(f.second);
      // fill values are not measurements: NaN, and -1 in an int32 field
      const bool unset = it == rec.fields.end() || it->second.values.empty() || std::isnan(it->second.values[0]) ||
                         (spec && spec->type == FieldType::Int32 && it->second.values[0] == -1) ||
                         std::find(own.begin(), own.end(), f) == own.end();
      row.push_back(unset ? "-" : format_cell(it->second.values[0]));
    }
    t.row(row);
  }
  std::printf("\n%s", t.render().c_str());
  if (job.size() > kMaxRows)
    std::printf("... %zu more points: analysis/report.py %s\n", job.size() - kMaxRows, file.path().c_str());
}

int coordinator_main(const RunOptions& o, const Args& args, MPI_Comm comm, int num_ranks) {
  int go = 0;
  std::optional<ResultsFile> file;
  std::optional<Job> job;
  std::vector<WorkItem> work;
  std::string error;
  int error_code = kExitFailure;
  double seconds_per_cost = 1.0;  // costs are core-seconds
  try {
    register_model_kind_validators();
    job.emplace(o.inline_job ? Job::parse(*o.inline_job, o.job_path, o.sets, registry())
                             : Job::load(o.job_path, o.sets, registry()));
    for (const auto& m : ignored_key_warnings(*job, registry())) std::fprintf(stderr, "[sweep] warning: %s\n", m.c_str());
    if (drain_requested()) {  // before the results file is touched: nothing to leave consistent
      error = "stopped on signal " + std::to_string(drain_signal()) + " before " + o.out +
              " was opened; nothing was recorded: rerun the same command";
      error_code = kExitIncomplete;
      throw SignalledEarly{};
    }
    SweepRequest request;
    request.out = o.out;
    request.overwrite = o.overwrite;
    request.sync = o.sync;
    request.retry_failed = o.retry_failed;
    request.accept_changed_inputs = o.accept_changed_inputs;
    request.from = o.from;
    request.num_ranks = num_ranks;
    request.command_line = command_line(args);
    request.provenance = provenance();
    work = prepare_sweep(request, *job, registry(), file);
    go = 1;
  } catch (const SignalledEarly&) {
  } catch (const InputError& e) {
    error = e.what();
    error_code = kExitUsage;
  } catch (const ParamError& e) {
    error = e.what();
    error_code = kExitUsage;
  } catch (const StoreError& e) {
    error = e.what();
    error_code = kExitStore;
  } catch (const std::exception& e) {
    error = e.what();
  }
  sleepy_broadcast(comm, go);
  if (!go) {
    std::fprintf(stderr, "iclsweep %s: %s%s\n", o.command.c_str(), error_code == kExitIncomplete ? "" : "error: ",
                 error.c_str());
    return error_code;
  }
  const std::size_t already = job->size() - work.size();
  if (!o.quiet)
    std::fprintf(stderr, "[sweep] %s: %zu points (%zu already recorded), %d rank(s), results in %s\n", o.job_path.c_str(),
                 job->size(), already, num_ranks, o.out.c_str());
  FileSink sink(*file);
  EngineOptions eo;
  eo.grace_seconds = o.grace;
  eo.params_of = [&job](std::int64_t index) { return job->point(static_cast<std::size_t>(index)).params; };
  eo.point_timeout_seconds = o.point_timeout;
  eo.seconds_per_cost = seconds_per_cost;
  eo.progress_seconds = o.progress;
  eo.quiet = o.quiet;
  eo.show_point_status = o.command == "train";
  SweepSummary s;
  try {
    s = coordinate(comm, std::move(work), sink, eo);
  } catch (const StoreError& e) {
    // The results file stopped taking points (disk full, I/O error): every point committed before is
    // safe. Workers are inside points, so the job ends here.
    std::fprintf(stderr, "%siclsweep %s: error: %s\n", o.quiet ? "" : "\n", o.command.c_str(), e.what());
    std::fflush(stderr);
    std::fflush(stdout);
    file.reset();
    hand_exit_code_to_wrapper(kExitStore);
    MPI_Abort(comm, kExitStore);
    return kExitStore;
  }
  const std::size_t done = file->count(PointStatus::Done), failed = file->count(PointStatus::Failed);
  const std::size_t pending = file->num_points() - done - failed;
  if (!o.quiet) {
    print_summary(*job, *file);
    std::printf("\n%zu done, %zu failed, %zu pending of %zu points in %s; this launch: %lld points in %.1f s, "
                "coordinator CPU %.2f s (%.1f%% of one core), %lld commits\n",
                done, failed, pending, file->num_points(), file->path().c_str(),
                static_cast<long long>(s.done + s.failed), s.seconds, s.coordinator_cpu_seconds,
                s.seconds > 0 ? 100.0 * s.coordinator_cpu_seconds / s.seconds : 0.0, static_cast<long long>(s.commits));
  }
  file->close();
  int code = failed > 0 ? kExitPointsFailed : kExitOk;
  if (s.outcome == SweepOutcome::Drained || pending > 0) {
    code = kExitIncomplete;
    std::fprintf(stderr, "[sweep] stopped %s%s with %zu point(s) pending: the file is consistent; rerun the same "
                         "command%s to resume\n",
                 drain_signal() ? "on signal " : "", drain_signal() ? std::to_string(drain_signal()).c_str() : "early",
                 pending, o.overwrite ? " without --overwrite" : "");
  }
  std::fflush(stderr);
  std::fflush(stdout);
  if (!s.unresponsive_ranks.empty()) {
    // MPI_Finalize would wait for them forever; MPI_Abort ends the job with our exit code.
    std::string ranks;
    for (const int r : s.unresponsive_ranks) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
    std::fprintf(stderr, "[sweep] rank(s) %s stopped answering (stopped or hung); the results file is closed and "
                         "consistent; ending the job with exit code %d\n", ranks.c_str(), code);
    std::fflush(stderr);
    hand_exit_code_to_wrapper(code);
    MPI_Abort(comm, code);
  }
  if (s.local_worker_hung) g_exit_without_cleanup = true;  // a stuck worker thread: no static destructors
  return code;
}

int launch(const RunOptions& o, const Args& args);

// Command-line values are checked before any work (job expansion, MPI, file creation).
void check_out_and_seconds(const RunOptions& o) {
  OutputFile::check_path(o.out, "--out");
  check_seconds("--grace", o.grace);
  check_seconds("--progress", o.progress);
  check_point_timeout(o.point_timeout);
}

}  // namespace

int cmd_run(const Args& args) {
  RunOptions o;
  po::options_description desc("iclsweep run JOB.ini --out RESULTS.h5 [options]");
  desc.add_options()("help,h", "this help")
      ("out,o", po::value(&o.out)->required(), "results file (created, or resumed when it exists)")
      ("overwrite", po::bool_switch(&o.overwrite), "start afresh: replace an existing results file with a new one (refused while a running sweep holds it; resume later runs without it)")
      ("set,s", po::value(&o.sets)->composing(), "override a key: --set train.steps=2000, --set grid.data.dataset_size=2^6,2^8, --set seeds=0..1")
      ("grace", po::value(&o.grace)->default_value(120), "seconds to wait for running points after SIGTERM/SIGINT/SIGUSR1 (a second signal stops at once)")
      ("point-timeout", po::value(&o.point_timeout)->default_value(0),
       "seconds without progress after which a running point is handed out again (once), then recorded as failed; "
       "0 = max(300, 10 x the cost model's estimate); else at least 5")
      ("retry-failed", po::bool_switch(&o.retry_failed), "also rerun points recorded as failed")
      ("accept-changed-inputs", po::bool_switch(&o.accept_changed_inputs), "resume (or copy --from) a file although "
       "data its points depend on changed since it was made (Omniglot images, the lm_facts corpus): the file then "
       "mixes both")
      ("from", po::value(&o.from)->composing(), "grow a sweep: copy the done points this job shares (same point id) "
       "from an older results file instead of recomputing them; repeatable")
      ("progress", po::value(&o.progress)->default_value(0), "seconds between progress lines (0: 2 on a terminal, 30 otherwise)")
      ("sync", po::bool_switch(&o.sync), "fsync the results file at every commit (survives node crashes)")
      ("quiet,q", po::bool_switch(&o.quiet), "no progress or summary output");
  po::options_description hidden;
  hidden.add_options()("job", po::value(&o.job_path)->required(), "job file");
  po::variables_map vm;
  if (!parse_command_line("run", args, desc,
                          "\nExit codes: 0 complete, 2 bad job/options, 3 stopped early (rerun to resume), "
                          "4 complete with failed points, 5 results-file problem.\n",
                          vm, &hidden, "job"))
    return kExitOk;
  check_out_and_seconds(o);
  return launch(o, args);
}

int cmd_train(const Args& args) {
  RunOptions o;
  o.job_path = "iclsweep train";
  o.command = "train";
  o.inline_job = std::string("# iclsweep train: one point from --set options\n");
  po::options_description desc(
      "iclsweep train --set key=value ... --out RESULTS.h5\n"
      "Trains one grid point (any model kind: --set run.model_kind=gated) and writes its curves and metrics\n"
      "in the results-file layout (docs/results-format.md); rerunning with the same options resumes");
  desc.add_options()("help,h", "this help")
      ("out,o", po::value(&o.out)->required(), "results file")
      ("overwrite", po::bool_switch(&o.overwrite), "replace an existing results file instead of resuming it (refused while a running sweep holds it)")
      ("set,s", po::value(&o.sets)->composing(), "a parameter: --set data.num_contexts=4 (short names work: --set num_contexts=4)")
      ("accept-changed-inputs", po::bool_switch(&o.accept_changed_inputs), "resume a file although data its point "
       "depends on changed since it was made (Omniglot images, the lm_facts corpus)")
      ("progress", po::value(&o.progress)->default_value(2), "seconds between progress lines")
      ("quiet,q", po::bool_switch(&o.quiet), "no progress or summary output");
  po::variables_map vm;
  if (!parse_command_line("train", args, desc, "", vm)) return kExitOk;
  check_out_and_seconds(o);
  return launch(o, args);
}

namespace {

int launch(const RunOptions& o, const Args& args) {
  // First thing, on every rank: a signal during MPI start-up, job expansion or file creation must mean
  // a drain (exit 3), not the default action (death, exit 143) that could leave a half-made file.
  install_drain_handlers();
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int code = kExitOk;
  if (rank == 0) {
    if (provided < MPI_THREAD_FUNNELED)
      std::fprintf(stderr, "[sweep] warning: the MPI library does not promise MPI_THREAD_FUNNELED\n");
    code = coordinator_main(o, args, MPI_COMM_WORLD, size);
  } else {
    // Workers ignore drain signals (the handler only sets a flag): they finish their point; rank 0 decides.
    int go = 0;
    sleepy_broadcast(MPI_COMM_WORLD, go);
    if (go) serve_as_worker(MPI_COMM_WORLD);
  }
  MPI_Finalize();
  if (rank == 0) code = hand_exit_code_to_wrapper(code);
  if (g_exit_without_cleanup) {
    std::fflush(nullptr);
    std::_Exit(code);
  }
  return code;
}

}  // namespace

}  // namespace icl::cli
