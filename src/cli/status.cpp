// `iclsweep status RESULTS.h5`: done / failed / remaining, per-rank throughput, launches and Slurm job ids.
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "iclsweep/cli/commands.hpp"
#include "iclsweep/cli/exit_codes.hpp"
#include "iclsweep/cli/options.hpp"
#include "iclsweep/cli/registry.hpp"
#include "iclsweep/cli/table.hpp"
#include "iclsweep/cli/where.hpp"
#include "iclsweep/core/cost_model.hpp"
#include "iclsweep/core/error.hpp"
#include "iclsweep/core/quote.hpp"
#include "iclsweep/store/merge.hpp"
#include "iclsweep/sweep/model_kinds.hpp"
#include "iclsweep/store/results_file.hpp"
#include "iclsweep/sweep/engine.hpp"

namespace po = boost::program_options;

namespace icl::cli {

namespace {

// The cost model against what the finished points took, per model kind: how far `iclsweep list`'s
// core-hours are from this machine's truth. The model prices CPU time, so the points' CPU seconds are the
// measure; their wall time is shown beside it (on a shared or oversubscribed node it runs longer, and
// that is the node's load, not the model's error). Shared work (lm_facts' pretraining, cached per rank)
// is estimated once per key and rank, as it ran.
void print_cost_check(const std::vector<PointStatus>& statuses, const std::vector<bool>& selected,
                      const std::vector<std::string>& params_text, const std::vector<std::int32_t>& ranks,
                      const std::vector<double>& walls, const std::vector<double>& cpus) {
  struct PerKind {
    std::size_t points = 0, cpu_points = 0;
    double estimated = 0, measured = 0, cpu_estimated = 0, cpu = 0;
  };
  std::map<std::string, PerKind> per_kind;
  std::set<std::string> shared_seen;
  std::size_t unpriced = 0;
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    if (statuses[i] != PointStatus::Done || !selected[i] || !std::isfinite(walls[i])) continue;
    try {
      // A key the file's iclsweep did not have yet ran at its default (a new key keeps the old behaviour).
      ParamMap p = ParamMap::defaults(registry());
      const ParamMap recorded = params_from_text(params_text[i]);
      for (const auto& [key, value] : recorded.values()) p.set_raw(key, value);
      const ModelKind& kind = model_kind(p.get_string("run.model_kind"));
      double estimate = kind.cost(p);
      if (auto [key, terms] = kind.shared_cost_terms(p);
          !key.empty() && !shared_seen.insert(std::to_string(ranks[i]) + "\n" + kind.name() + "\n" + key).second)
        estimate -= price(kind.cost_constants(), terms, CostConstants::active());
      auto& k = per_kind[kind.name()];
      ++k.points;
      k.estimated += estimate;
      k.measured += walls[i];
      if (std::isfinite(cpus[i])) {
        ++k.cpu_points;
        k.cpu_estimated += estimate;
        k.cpu += cpus[i];
      }
    } catch (const Error&) {  // a file from an iclsweep whose keys this one cannot price
      ++unpriced;
    }
  }
  if (per_kind.empty()) {
    if (unpriced > 0) std::printf("\n%zu done point(s) could not be priced by the cost model (parameters this iclsweep does not know)\n", unpriced);
    return;
  }
  Table t;
  t.header({"kind", "done", "estimated core-s", "CPU core-s", "CPU/est", "wall core-s", "wall/est"});
  for (const auto& [name, k] : per_kind) {
    // Points from an iclsweep that did not record CPU time yet have none: the CPU ratio covers the others.
    const bool cpu_all = k.cpu_points == k.points;
    t.row({name, std::to_string(k.points), format_cell(k.estimated),
           k.cpu_points == 0 ? "-" : format_cell(k.cpu) + (cpu_all ? "" : " (" + std::to_string(k.cpu_points) + " pts)"),
           k.cpu_points == 0 ? "-" : format_cell(k.cpu_estimated > 0 ? k.cpu / k.cpu_estimated : NAN),
           format_cell(k.measured), format_cell(k.estimated > 0 ? k.measured / k.estimated : NAN)});
  }
  std::printf("\ncost model against the done points (CPU = the CPU seconds of the threads that ran them, what the "
              "model prices; wall = their wall time, one core each, longer on a loaded node; estimated with the "
              "%s):\n%s",
              CostConstants::active().describe().c_str(), t.render().c_str());
  if (unpriced > 0) std::printf("  %zu done point(s) could not be priced (parameters this iclsweep does not know)\n", unpriced);
}

}  // namespace

int cmd_status(const Args& args) {
  std::string path;
  int max_errors = 10;
  std::vector<std::string> where;
  po::options_description desc("iclsweep status RESULTS.h5 [options]");
  desc.add_options()("help,h", "this help")("errors", po::value(&max_errors)->default_value(10), "failed points to list")
      ("where", po::value(&where)->composing(),
       "count only points with KEY=VALUE (short names work; KEY=a,b: either; repeatable), e.g. --where seed=0");
  po::options_description hidden;
  hidden.add_options()("file", po::value(&path)->required(), "results file");
  po::variables_map vm;
  if (!parse_command_line("status", args, desc,
                          "\nExit code: 0 when every point is done, 3 when points remain, 4 when some failed.\n", vm,
                          &hidden, "file"))
    return kExitOk;
  check_count("--errors", max_errors, 0, 1000000);

  const WhereFilter filter(where, registry());
  const ResultsFile file = ResultsFile::open(path, /*writable=*/false);
  const bool writing = ResultsFile::writer_active(path);
  const std::size_t total = file.num_points();
  const auto params_text = file.params_texts();
  std::vector<bool> selected(total, true);
  if (!filter.empty())
    for (std::size_t i = 0; i < total; ++i) selected[i] = filter.matches(params_from_text(params_text[i]));
  const auto statuses = file.statuses();  // a copy: read it once, not once per point
  std::size_t done = 0, failed = 0, considered = 0;
  for (std::size_t i = 0; i < total; ++i) {
    if (!selected[i]) continue;
    ++considered;
    done += statuses[i] == PointStatus::Done;
    failed += statuses[i] == PointStatus::Failed;
  }
  const std::size_t pending = considered - done - failed;
  std::printf("%s: %zu points, grid hash %s\n", path.c_str(), total, file.grid_hash().c_str());
  if (!filter.empty()) std::printf("  --where %s: %zu of them\n", filter.describe().c_str(), considered);
  std::printf("  done %zu (%.1f%%), failed %zu, remaining %zu\n", done, considered ? 100.0 * done / considered : 0.0,
              failed, pending);
  // "Running now" = some process holds the writer lock (`iclsweep run` / `train` on this file).
  const auto launches_so_far = file.launches();
  if (writing) {
    const double since = launches_so_far.empty() ? NAN : launches_so_far.back().start_time;
    const auto ends = file.end_times();
    std::size_t finished = 0;
    for (std::size_t i = 0; i < total; ++i)
      if (selected[i] && statuses[i] != PointStatus::Pending && ends[i] >= since) ++finished;
    const double elapsed = unix_time() - since;
    std::printf("  running now: a sweep holds the writer lock of %s (launch started %.0f s ago, %zu point(s) finished "
                "since)\n",
                path.c_str(), elapsed, finished);
    if (pending > 0 && finished > 0 && elapsed > 0)
      std::printf("  ETA %s for the %zu remaining point(s), at this launch's rate of %.3g points/min (by count, not "
                  "cost; `iclsweep run` prints a cost-weighted ETA)\n",
                  format_duration(pending * elapsed / finished).c_str(), pending, 60.0 * finished / elapsed);
    else if (pending > 0)
      std::printf("  ETA: not yet known (no point finished in this launch)\n");
  } else if (pending > 0) {
    std::printf("  not running now (no writer holds the lock): rerun the same `iclsweep run` command to resume\n");
  }

  // Per-rank throughput over the points each rank finished (done or failed).
  const auto ranks = file.ranks();
  const auto hosts = file.hosts();
  const auto walls = file.wall_times();
  struct Stats {
    std::size_t points = 0;
    double seconds = 0;
    std::string host;
  };
  std::map<int, Stats> per_rank;
  for (std::size_t i = 0; i < total; ++i) {
    if (statuses[i] == PointStatus::Pending || !selected[i]) continue;
    auto& s = per_rank[ranks[i]];
    ++s.points;
    if (std::isfinite(walls[i])) s.seconds += walls[i];
    s.host = hosts[i];
  }
  if (!per_rank.empty()) {
    Table t;
    t.header({"rank", "host", "points", "busy s", "s/point", "points/hour"});
    for (const auto& [r, s] : per_rank)
      t.row({std::to_string(r), s.host, std::to_string(s.points), format_cell(s.seconds),
             format_cell(s.points ? s.seconds / s.points : NAN), format_cell(s.seconds > 0 ? 3600.0 * s.points / s.seconds : NAN)});
    std::printf("\nper rank (all launches):\n%s", t.render().c_str());
  }
  print_cost_check(statuses, selected, params_text, ranks, walls, file.cpu_times());

  const auto launches = file.launches();
  if (!launches.empty()) {
    Table t;
    t.header({"launch", "started (UTC)", "slurm job", "ranks", "host", "commit"});
    for (std::size_t i = 0; i < launches.size(); ++i) {
      const auto& l = launches[i];
      t.row({std::to_string(i), format_utc(l.start_time), l.slurm_job_id.empty() ? "-" : l.slurm_job_id, std::to_string(l.num_ranks),
             l.hostname, l.git_commit});
    }
    std::printf("\nlaunches:\n%s", t.render().c_str());
  }

  if (failed > 0) {
    const auto errors = file.errors();
    const auto ids = file.point_ids();
    std::printf("\nfailed points%s:\n", failed > static_cast<std::size_t>(max_errors) ? " (first ones)" : "");
    int shown = 0;
    const auto grid = file.grid_keys();
    for (std::size_t i = 0; i < total && shown < max_errors; ++i)
      if (statuses[i] == PointStatus::Failed && selected[i]) {
        const ParamMap p = params_from_text(params_text[i]);
        std::string described;
        for (const auto& k : grid) {
          const auto it = p.values().find(k);
          described += (described.empty() ? "" : ", ") + k + "=" +
                       (it == p.values().end() || it->second.empty() ? std::string("unset") : it->second);
        }
        std::printf("  #%zu %s (%s): %s\n", i, printable(ids[i]).c_str(), printable(described, 300).c_str(),
                    printable(errors[i], 600).c_str());
        ++shown;
      }
    std::printf("rerun with `iclsweep run ... --retry-failed` to retry them; `iclsweep show %s INDEX` for one point\n",
                path.c_str());
  }
  if (pending > 0) return kExitIncomplete;
  return failed > 0 ? kExitPointsFailed : kExitOk;
}

}  // namespace icl::cli
