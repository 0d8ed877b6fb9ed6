#include "iclsweep/sweep/prepare.hpp"

#include <sys/resource.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "iclsweep/build_info.hpp"
#include "iclsweep/core/error.hpp"
#include "iclsweep/store/merge.hpp"
#include "iclsweep/sweep/engine.hpp"
#include "iclsweep/sweep/model_kinds.hpp"

namespace icl {
namespace {

std::string grid_description(const Job& job) {
  std::ostringstream os;
  os << "{";
  bool first_axis = true;
  for (const auto& axis : job.grid().axes()) {
    os << (first_axis ? "" : ", ") << "\"" << axis.key << "\": [";
    for (std::size_t i = 0; i < axis.values.size(); ++i) os << (i ? ", " : "") << "\"" << axis.values[i] << "\"";
    os << "]";
    first_axis = false;
  }
  os << "}";
  return os.str();
}

// --from OLD.h5: points of the job that OLD.h5 already holds (same id = same parameters) are copied instead
// of recomputed, so a sweep grows (more seeds, more N) without redoing what is done.
// The sources are opened and checked (the --out file itself, damage, changed inputs) before the output is
// created or resumed, so a refused --from leaves nothing behind.
std::vector<ResultsFile> open_from_sources(const SweepRequest& request, const InputFingerprints& job_inputs) {
  std::vector<ResultsFile> out;
  for (const auto& source : request.from) {
    std::error_code ec;
    if (std::filesystem::equivalent(source, request.out, ec))
      throw InputError("--from " + source + " is the --out file itself: pass the older results file to copy from");
    ResultsFile old = ResultsFile::open(source, /*writable=*/false);
    old.check_recorded_shapes();
    const auto changed = changed_inputs(old.input_fingerprints(), job_inputs, "in " + source, "now");
    if (!changed.empty() && !request.accept_changed_inputs) {
      std::string msg = "--from " + source + " was made from other input data than this run reads, so its points are "
                        "not this job's computations (" + std::to_string(changed.size()) + " input(s) changed):";
      for (const auto& c : changed) msg += "\n  " + c;
      throw StoreError(msg + "\nnothing was written: restore the data it was made with, leave out --from, or pass "
                             "--accept-changed-inputs to copy its points anyway");
    }
    out.push_back(std::move(old));
  }
  return out;
}

void import_points(const std::vector<ResultsFile>& sources, const Job& job, ResultsFile& file) {
  std::map<std::string, std::size_t> index_of;
  for (std::size_t i = 0; i < job.size(); ++i) index_of[job.point(i).id] = i;
  for (const auto& old : sources) {
    const std::string& source = old.path();
    const auto ids = old.point_ids();
    const auto old_status = old.statuses();
    const auto new_status = file.statuses();  // read once, not once per point
    std::size_t copied = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const auto it = index_of.find(ids[i]);
      if (it == index_of.end() || old_status[i] != PointStatus::Done) continue;
      if (new_status[it->second] == PointStatus::Done) continue;  // already here (a resumed run)
      copy_point(old, i, file, it->second);
      ++copied;
    }
    std::fprintf(stderr, "[sweep] --from %s: copied %zu done point(s) of this job (of %zu in that file)\n",
                 source.c_str(), copied, ids.size());
  }
}

// Bytes of rank 0's memory per point while a sweep is prepared (the peak is the new file's creation, which
// holds every point's parameters once). Measured with /usr/bin/time: a 10^5-point job peaks at 1.60 GB,
// 2*10^4 points at 0.35 GB (2026-12-02; 28 KB per point before points were built one at a time).
constexpr double kRunBytesPerPoint = 17e3;

// What this process may use: MemAvailable, or less when the address-space limit (ulimit -v) or the
// cgroup's memory.max (a Slurm job's --mem) says so; 0 when nothing can be read.
double available_memory_bytes() {
  double available = 0;
  {
    std::ifstream meminfo("/proc/meminfo");
    std::string key, unit;
    double kb = 0;
    while (meminfo >> key >> kb >> unit)
      if (key == "MemAvailable:") {
        available = kb * 1024.0;
        break;
      }
  }
  auto lower_to = [&](double limit) {
    if (limit > 0 && (available <= 0 || limit < available)) available = limit;
  };
  rlimit as{};
  if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) lower_to(static_cast<double>(as.rlim_cur));
  // cgroup v2: "0::/path" in /proc/self/cgroup, the limit in /sys/fs/cgroup/<path>/memory.max ("max" = none)
  std::ifstream cgroup("/proc/self/cgroup");
  for (std::string line; std::getline(cgroup, line);)
    if (line.rfind("0::", 0) == 0) {
      std::ifstream max_file("/sys/fs/cgroup" + line.substr(3) + "/memory.max");
      std::string text;
      if (max_file >> text && text != "max") {
        char* end = nullptr;
        const double limit = std::strtod(text.c_str(), &end);
        if (end && *end == '\0') lower_to(limit);
      }
    }
  return available;
}

// A job too large for this machine's memory is refused before anything is built or created (the kernel
// would kill rank 0 half-way through creating the file).
void check_job_fits_in_memory(const Job& job) {
  const double need = kRunBytesPerPoint * static_cast<double>(job.size());
  const double available = available_memory_bytes();
  if (available <= 0 || need <= 0.8 * available) return;
  char msg[640];
  std::snprintf(msg, sizeof msg,
                "job %s has %zu points; preparing them takes ~%.1f GB of memory (~%.0f KB per point) but %.1f GB are "
                "available: split the grid into several jobs (e.g. seed ranges with --set seeds=A..B) run into separate "
                "files, then join them with `iclsweep merge`",
                job.source_name().c_str(), job.size(), need / 1e9, kRunBytesPerPoint / 1e3, available / 1e9);
  throw InputError(msg);
}

}  // namespace

std::vector<WorkItem> prepare_sweep(const SweepRequest& request, const Job& job, const ParamRegistry& registry,
                                    std::optional<ResultsFile>& file) {
  check_job_fits_in_memory(job);
  struct stat out_stat;
  const bool resume = !request.overwrite && ::lstat(request.out.c_str(), &out_stat) == 0;
  // One pass over the points, built one at a time (the job keeps none): the data a kind reads from disk
  // (Omniglot images) is checked before the results file is created or opened; for a new file (every
  // point pending) the costs, the schema and the per-point parameters are collected too (a resumed file
  // has its own schema and parameters, and only its pending points need a cost: resume stays fast).
  std::set<std::string> input_problems;
  ResultSchema schema;
  SweepManifest m;
  std::vector<double> costs;  // a new file's, by canonical index
  std::map<std::string, std::string> inputs;  // what the points depend on outside their parameters
  for (std::size_t i = 0; i < job.size(); ++i) {
    JobPoint p = job.point(i);
    const ModelKind& kind = model_kind(p.params.get_string("run.model_kind"));
    bool inputs_ok = true;
    for (auto& problem : kind.check_inputs(p.params)) inputs_ok = false, input_problems.insert(problem);
    if (inputs_ok)
      for (auto& [name, value] : kind.input_fingerprints(p.params)) inputs.emplace(std::move(name), std::move(value));
    if (resume) continue;
    costs.push_back(kind.cost(p.params));
    for (const auto& f : kind.schema(p.params).fields) schema.merge(f);
    m.point_ids.push_back(std::move(p.id));
    m.point_params.push_back(std::move(p.params));
  }
  if (!input_problems.empty()) {
    std::string msg;
    for (const auto& problem : input_problems) msg += (msg.empty() ? "" : "\n  ") + problem;
    throw InputError(msg);
  }
  const InputFingerprints job_inputs(inputs.begin(), inputs.end());
  // --from files are checked before the output is created or resumed: a refusal leaves nothing behind.
  const std::vector<ResultsFile> sources = open_from_sources(request, job_inputs);
  if (resume) {
    // An existing file is resumed. Its grid and inputs are checked on a read-only open, so a refused
    // resume never opens (and so never modifies) the file for writing.
    ResultsFileOptions ro{false, request.sync, {}};
    ro.check_before_writing = [&](const ResultsFile& f) {
      if (f.grid_hash() != job.grid_hash() || f.num_points() != job.size())
        throw StoreError("results file '" + request.out + "' belongs to a different grid (grid hash " + f.grid_hash() + ", " +
                         std::to_string(f.num_points()) + " points; this job: " + job.grid_hash() + ", " +
                         std::to_string(job.size()) + " points). Use the same job file and --set options as the run "
                         "that created it, write to a new --out file, or pass --overwrite to start it afresh.");
      const auto changed = changed_inputs(f.input_fingerprints(), job_inputs, "when it was created", "now");
      if (!changed.empty() && !request.accept_changed_inputs) {
        std::string msg = "results file '" + request.out + "' was made from other input data than this run reads (" +
                          std::to_string(changed.size()) + " input(s) changed), so resuming would mix two data sets in "
                          "one file:";
        for (const auto& c : changed) msg += "\n  " + c;
        throw StoreError(msg + "\nthe file is unchanged: restore the data it was made with, write to a new --out "
                               "file, or pass --accept-changed-inputs to resume anyway (the launch is recorded in /runs)");
      }
      if (!changed.empty())
        std::fprintf(stderr, "[sweep] warning: --accept-changed-inputs: resuming '%s' although %zu input(s) changed; its "
                             "points now come from two data sets\n", request.out.c_str(), changed.size());
    };
    file.emplace(ResultsFile::open(request.out, true, ro));
  } else {
    m.job_text = job.text();
    m.grid_json = grid_description(job);
    m.grid_keys = job.grid_keys();
    m.grid_hash = job.grid_hash();
    for (const auto& spec : registry.specs())
      if (spec.type != ParamType::String) m.numeric_keys.insert(spec.key);
    m.provenance = request.provenance;
    if (!job_inputs.empty()) m.provenance.emplace_back(kInputFingerprintsAttribute, format_input_fingerprints(job_inputs));
    // --overwrite: a fresh file replaces the old one (OutputFile refuses it while a live writer holds it).
    file.emplace(ResultsFile::create(request.out, m, schema, ResultsFileOptions{request.overwrite, request.sync, {}}));
    m = SweepManifest{};  // every point's parameters: not needed once the file holds them
  }
  LaunchInfo launch;
  launch.start_time = unix_time();
  if (const char* id = std::getenv("SLURM_JOB_ID")) {
    launch.slurm_job_id = id;
    if (const char* task = std::getenv("SLURM_ARRAY_TASK_ID")) launch.slurm_job_id += std::string("_") + task;
  }
  launch.num_ranks = request.num_ranks;
  launch.hostname = host_name();
  launch.git_commit = build::git_commit;
  launch.command_line = request.command_line;
  file->record_launch(launch);
  if (!sources.empty()) import_points(sources, job, *file);

  const auto statuses = file->statuses();
  std::vector<WorkItem> work;
  for (std::size_t i = 0; i < job.size(); ++i) {
    const auto s = statuses[i];
    if (s == PointStatus::Done || (s == PointStatus::Failed && !request.retry_failed)) continue;
    double cost = 0;
    if (resume) {
      const ParamMap params = job.point(i).params;
      cost = model_kind(params.get_string("run.model_kind")).cost(params);
    } else {
      cost = costs[i];
    }
    work.push_back(WorkItem{static_cast<std::int64_t>(i), cost});
  }
  order_by_cost(work);
  return work;
}


}  // namespace icl
