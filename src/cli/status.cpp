// `iclsweep status RESULTS.h5`: done / failed / remaining, per-rank throughput, launches and Slurm job ids.
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "iclsweep/cli/commands.hpp"
#include "iclsweep/cli/exit_codes.hpp"
#include "iclsweep/cli/options.hpp"
#include "iclsweep/cli/table.hpp"
#include "iclsweep/core/error.hpp"
#include "iclsweep/store/results_file.hpp"

namespace po = boost::program_options;

namespace icl::cli {

int cmd_status(const Args& args) {
  std::string path;
  int max_errors = 10;
  po::options_description desc("iclsweep status RESULTS.h5 [options]");
  desc.add_options()("help,h", "this help")("errors", po::value(&max_errors)->default_value(10), "failed points to list");
  po::options_description hidden;
  hidden.add_options()("file", po::value(&path)->required(), "results file");
  po::variables_map vm;
  if (!parse_command_line("status", args, desc,
                          "\nExit code: 0 when every point is done, 3 when points remain, 4 when some failed.\n", vm,
                          &hidden, "file"))
    return kExitOk;
  check_count("--errors", max_errors, 0, 1000000);

  const ResultsFile file = ResultsFile::open(path, /*writable=*/false);
  const std::size_t total = file.num_points(), done = file.count(PointStatus::Done),
                    failed = file.count(PointStatus::Failed), pending = total - done - failed;
  std::printf("%s: %zu points, grid hash %s\n  done %zu (%.1f%%), failed %zu, remaining %zu\n", path.c_str(), total,
              file.grid_hash().c_str(), done, total ? 100.0 * done / total : 0.0, failed, pending);

  // Per-rank throughput over the points each rank finished (done or failed).
  const auto statuses = file.statuses();
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
    if (statuses[i] == PointStatus::Pending) continue;
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

  const auto launches = file.launches();
  if (!launches.empty()) {
    Table t;
    t.header({"launch", "started (UTC)", "slurm job", "ranks", "host", "commit"});
    for (std::size_t i = 0; i < launches.size(); ++i) {
      const auto& l = launches[i];
      char when[64] = "?";
      if (std::isfinite(l.start_time)) {
        const std::time_t tt = static_cast<std::time_t>(l.start_time);
        std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::gmtime(&tt));
      }
      t.row({std::to_string(i), when, l.slurm_job_id.empty() ? "-" : l.slurm_job_id, std::to_string(l.num_ranks),
             l.hostname, l.git_commit});
    }
    std::printf("\nlaunches:\n%s", t.render().c_str());
  }

  if (failed > 0) {
    const auto errors = file.errors();
    const auto ids = file.point_ids();
    std::printf("\nfailed points%s:\n", failed > static_cast<std::size_t>(max_errors) ? " (first ones)" : "");
    int shown = 0;
    for (std::size_t i = 0; i < total && shown < max_errors; ++i)
      if (statuses[i] == PointStatus::Failed) {
        std::printf("  #%zu %s: %s\n", i, ids[i].c_str(), errors[i].c_str());
        ++shown;
      }
    std::printf("rerun with `iclsweep run ... --retry-failed` to retry them\n");
  }
  if (pending > 0) return kExitIncomplete;
  return failed > 0 ? kExitPointsFailed : kExitOk;
}

}  // namespace icl::cli
