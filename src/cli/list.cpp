// `iclsweep list JOB [--set k=v ...] [--all-params]`: expands and validates a job, shows its points and a
// cost estimate, and runs nothing.
#include <boost/program_options.hpp>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "iclsweep/cli/commands.hpp"
#include "iclsweep/cli/exit_codes.hpp"
#include "iclsweep/cli/options.hpp"
#include "iclsweep/cli/registry.hpp"
#include "iclsweep/cli/where.hpp"
#include "iclsweep/core/cost_model.hpp"
#include "iclsweep/core/error.hpp"
#include "iclsweep/core/quote.hpp"
#include "iclsweep/sweep/job.hpp"
#include "iclsweep/sweep/model_kinds.hpp"

namespace po = boost::program_options;

namespace icl::cli {

namespace {

std::string format_cost(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", seconds);
  return buf;
}

std::string format_hours(double hours) {
  char buf[32];
  std::snprintf(buf, sizeof buf, hours < 10 ? "%.2f" : "%.0f", hours);
  return buf;
}

}  // namespace

int cmd_list(const Args& args) {
  po::options_description visible("iclsweep list JOB [options]: expand and validate a job file, show its points, run nothing");
  std::string calibration;
  visible.add_options()
      ("help,h", "show this help")
      ("set,s", po::value<std::vector<std::string>>()->composing(),
       "override after the file: KEY=VALUE (train.steps=2000), grid.KEY=LIST (grid.data.dataset_size=2^6,2^8), seeds=LIST; repeatable")
      ("all-params", "also print every parameter shared by all points (defaults, fixed values and --set)")
      ("where", po::value<std::vector<std::string>>()->composing(),
       "show only points with KEY=VALUE (short names work; KEY=a,b: either; repeatable), e.g. --where seed=0")
      ("calibration", po::value<std::string>(&calibration),
       "the machine constants of the cost model (default: $ICLSWEEP_CALIBRATION, else ~/.config/iclsweep/calibration.ini "
       "if `iclsweep calibrate` wrote it, else the reference constants; docs/cost-model.md)");
  po::options_description hidden;
  hidden.add_options()("job", po::value<std::string>(), "job file")
      ("ms-per-token-step", po::value<double>(), "replaced by --calibration");
  po::variables_map vm;
  if (!parse_command_line("list", args, visible, "\nJob-file syntax: docs/job-files.md. Keys: iclsweep keys.\n", vm,
                          &hidden, "job"))
    return kExitOk;
  if (!vm.count("job")) throw InputError("missing the job file: iclsweep list JOB [--set KEY=VALUE ...]");
  const std::vector<std::string> overrides =
      vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (vm.count("ms-per-token-step"))
    throw InputError("--ms-per-token-step: the single token-step constant was replaced by a cost model per model kind in "
                     "core-seconds: measure this machine with `iclsweep calibrate` and pass its file with --calibration FILE "
                     "(docs/cost-model.md)");
  if (!calibration.empty()) ::setenv("ICLSWEEP_CALIBRATION", calibration.c_str(), 1);
  const CostConstants& constants = CostConstants::active();  // a bad calibration file is refused before any work

  register_model_kind_validators();
  // Checking a large job takes seconds (10^6 points: ~20 s of CPU): show progress on a terminal.
  const auto started = std::chrono::steady_clock::now();
  auto last = started;
  const bool terminal = isatty(fileno(stderr));
  const PointCheckProgress progress = [&](std::size_t done, std::size_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (!terminal || (done < total && now - last < std::chrono::seconds(1))) return;
    last = now;
    const double seconds = std::chrono::duration<double>(now - started).count();
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
    std::fprintf(stderr, "\rchecking points: %zu/%zu (%.0f/s, ETA %.0f s)   %s", done, total, rate,
                 rate > 0 ? static_cast<double>(total - done) / rate : 0.0, done == total ? "\n" : "");
    std::fflush(stderr);
  };
  const Job job = Job::load(vm["job"].as<std::string>(), overrides, registry(), progress);
  const WhereFilter filter(vm.count("where") ? vm["where"].as<std::vector<std::string>>() : std::vector<std::string>{},
                           registry());

  // Columns: index, id, seed, then every grid key except the seed (already shown), then cost.
  std::vector<std::string> columns;
  for (const auto& k : job.grid_keys())
    if (k != "data.seed") columns.push_back(k);
  std::vector<std::size_t> widths;
  for (const auto& k : columns) {
    std::size_t w = k.size();
    for (const auto& axis : job.grid().axes())
      if (axis.key == k)
        for (const auto& v : axis.values) w = std::max(w, v.size());
    widths.push_back(w);
  }

  std::printf("job %s: %zu point%s, grid hash %s\n", printable(job.source_name(), 4 * kQuoteMaxChars).c_str(), job.size(), job.size() == 1 ? "" : "s",
              job.grid_hash().c_str());
  for (const auto& o : overrides) std::printf("  --set %s\n", printable(o, 4 * kQuoteMaxChars).c_str());
  if (vm.count("all-params")) {
    std::printf("parameters of every point (* = varies over the grid, (set) = differs from the default):\n");
    const ParamMap defaults = ParamMap::defaults(registry());
    for (const auto& [key, value] : job.base_params().values()) {
      bool swept = false;
      for (const auto& g : job.grid_keys()) swept = swept || g == key;
      const char* note = swept ? "  (grid)" : value != defaults.get_string(key) ? "  (set)" : "";
      std::printf("  %-34s %s%s\n", key.c_str(), swept ? "*" : value.empty() ? "(unset)" : value.c_str(), note);
    }
  }

  std::printf("\n%6s  %-16s  %5s", "index", "id", "seed");
  for (std::size_t c = 0; c < columns.size(); ++c) std::printf("  %*s", static_cast<int>(widths[c]), columns[c].c_str());
  std::printf("  %10s\n", "est.core-s");
  // Shared work (lm_facts' pretraining, cached per rank) counts once per key: the least the job costs.
  double total = 0;
  std::map<std::string, double> per_kind;
  std::set<std::string> shared_keys;
  std::size_t shown = 0;
  std::set<std::string> input_problems;
  // Points are built one at a time and printed as they come: a million-point job lists in bounded memory.
  for (std::size_t i = 0; i < job.size(); ++i) {
    const JobPoint p = job.point(i);
    const ModelKind& kind = model_kind(p.params.get_string("run.model_kind"));
    for (auto& m : kind.check_inputs(p.params)) input_problems.insert(m);  // run checks every point
    if (!filter.matches(p.params)) continue;
    ++shown;
    const double cost = kind.cost(p.params);
    double counted = cost;
    if (auto [key, terms] = kind.shared_cost_terms(p.params); !key.empty() && !shared_keys.insert(kind.name() + "\n" + key).second)
      counted -= price(kind.cost_constants(), terms, constants);
    total += counted;
    per_kind[kind.name()] += counted;
    std::printf("%6zu  %s  %5s", p.index, p.id.c_str(),
                p.params.values().count("data.seed") ? p.params.get_string("data.seed").c_str() : "-");
    for (std::size_t c = 0; c < columns.size(); ++c)
      std::printf("  %*s", static_cast<int>(widths[c]), p.params.get_string(columns[c]).c_str());
    std::printf("  %10s\n", format_cost(cost).c_str());
  }
  std::fflush(stdout);  // the warnings after the table, not inside it
  for (const auto& m : input_problems) std::fprintf(stderr, "iclsweep list: warning (run would refuse to start): %s\n", m.c_str());
  for (const auto& m : ignored_key_warnings(job, registry())) std::fprintf(stderr, "iclsweep list: warning: %s\n", m.c_str());
  if (!filter.empty()) std::printf("\n%zu of %zu points match --where %s\n", shown, job.size(), filter.describe().c_str());
  if (per_kind.size() > 1)
    for (const auto& [name, seconds] : per_kind)
      std::printf("  %-12s %s core-seconds ~ %s core-hours\n", name.c_str(), format_cost(seconds).c_str(),
                  format_hours(seconds / 3600).c_str());
  std::printf("\ntotal: %s core-seconds ~ %s core-hours with every core busy (%s; docs/cost-model.md)\n",
              format_cost(total).c_str(), format_hours(total / 3600).c_str(), constants.describe().c_str());
  return kExitOk;
}

}  // namespace icl::cli
