// `iclsweep calibrate`: measures this machine's cost-model constants (core/cost_model.hpp) by running
// every model kind's calibration points, small real points whose terms differ in proportion, on every
// core at once (as a sweep runs: the cores share caches and memory bandwidth), and fitting each kind's
// constants to the measured seconds. Writes the calibration file `list`, `run` and slurm/submit read.
#include <sys/wait.h>
#include <unistd.h>

#include <Eigen/Dense>
#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "iclsweep/cli/commands.hpp"
#include "iclsweep/cli/exit_codes.hpp"
#include "iclsweep/cli/options.hpp"
#include "iclsweep/cli/registry.hpp"
#include "iclsweep/core/cost_model.hpp"
#include "iclsweep/core/error.hpp"
#include "iclsweep/core/family.hpp"
#include "iclsweep/core/quote.hpp"
#include "iclsweep/core/timing.hpp"
#include "iclsweep/sweep/engine.hpp"
#include "iclsweep/sweep/model_kinds.hpp"

namespace po = boost::program_options;

namespace icl::cli {

namespace {

struct Probe {
  const ModelKind* kind;
  ParamMap params;
  std::vector<CostTerm> terms;
  std::vector<double> seconds;  // one per worker process
  double measured() const {
    double s = 0;
    for (double x : seconds) s += x;
    return seconds.empty() ? NAN : s / static_cast<double>(seconds.size());
  }
};

// Least squares in relative error (each point weighs the same whether it took 0.1 s or 10 s), with
// non-negative constants: a constant the points cannot pin down (it comes out negative) keeps its
// reference value scaled by how fast this machine is on the others, and the rest are fitted again.
std::map<std::string, double> fit(const std::vector<CostConstant>& constants, const std::vector<const Probe*>& probes) {
  const std::size_t n = constants.size();
  std::vector<bool> fixed(n, false);
  std::map<std::string, double> out;
  double scale = 1;  // measured / reference prediction, median over the points
  {
    std::vector<double> ratios;
    for (const Probe* p : probes) ratios.push_back(p->measured() / price(constants, p->terms, CostConstants{}));
    std::sort(ratios.begin(), ratios.end());
    if (!ratios.empty()) scale = ratios[ratios.size() / 2];
  }
  for (int round = 0; round <= static_cast<int>(n); ++round) {
    std::vector<std::size_t> free;
    for (std::size_t j = 0; j < n; ++j)
      if (!fixed[j]) free.push_back(j);
    Eigen::MatrixXd A(probes.size(), free.size());
    Eigen::VectorXd b(probes.size());
    for (std::size_t i = 0; i < probes.size(); ++i) {
      const double m = probes[i]->measured();
      double fixed_seconds = 0;
      for (std::size_t j = 0; j < n; ++j) {
        double count = 0;
        for (const auto& t : probes[i]->terms)
          if (t.constant == constants[j].name) count += t.count;
        if (fixed[j]) fixed_seconds += count * constants[j].reference_seconds * scale;
        const auto it = std::find(free.begin(), free.end(), j);
        if (it != free.end()) A(static_cast<Eigen::Index>(i), it - free.begin()) = count / m;
      }
      b(static_cast<Eigen::Index>(i)) = 1.0 - fixed_seconds / m;
    }
    Eigen::VectorXd x = free.empty() ? Eigen::VectorXd() : Eigen::VectorXd(A.colPivHouseholderQr().solve(b));
    bool negative = false;
    for (std::size_t k = 0; k < free.size(); ++k)
      if (!(x(static_cast<Eigen::Index>(k)) > 0)) fixed[free[k]] = negative = true;
    if (negative) continue;
    for (std::size_t j = 0; j < n; ++j) {
      const auto it = std::find(free.begin(), free.end(), j);
      out[constants[j].name] = it != free.end() ? x(it - free.begin()) : constants[j].reference_seconds * scale;
    }
    return out;
  }
  for (const auto& c : constants) out[c.name] = c.reference_seconds * scale;
  return out;
}

std::string iso_date() {
  char buf[32];
  const std::time_t t = std::time(nullptr);
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

}  // namespace

int cmd_calibrate(const Args& args) {
  po::options_description visible(
      "iclsweep calibrate [options]: measure this machine's cost-model constants (about a minute; docs/cost-model.md)");
  std::string out_path, omniglot_dir, kinds_text;
  int workers = 0;
  visible.add_options()
      ("help,h", "show this help")
      ("out,o", po::value<std::string>(&out_path), "calibration file to write (default: $ICLSWEEP_CALIBRATION, else ~/.config/iclsweep/calibration.ini)")
      ("workers", po::value<int>(&workers), "processes running the calibration points at once (default: every core, as a sweep runs)")
      ("kinds", po::value<std::string>(&kinds_text), "comma-separated model kinds to calibrate (default: all; the others keep their values)")
      ("omniglot", po::value<std::string>(&omniglot_dir), "Omniglot folder, omniglot.path for the kinds that read it (default: the omniglot.path default)");
  po::variables_map vm;
  if (!parse_command_line("calibrate", args, visible, "", vm)) return kExitOk;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  if (!vm.count("workers")) workers = static_cast<int>(cores);
  if (workers < 1 || workers > 1024) throw InputError("--workers " + std::to_string(workers) + ": expected 1..1024 processes");
  if (out_path.empty()) {
    const char* env = std::getenv("ICLSWEEP_CALIBRATION");
    out_path = env && *env ? env : CostConstants::default_path();
  }
  if (out_path.empty()) throw InputError("no place for the calibration file: set HOME or pass --out FILE");
  std::vector<std::string> names = model_kind_names();
  if (!kinds_text.empty()) {
    names.clear();
    std::stringstream s(kinds_text);
    for (std::string k; std::getline(s, k, ',');) names.push_back(model_kind(k).name());  // unknown kinds: exit 2 naming them
  }

  // The points, priced; a kind whose inputs are missing (Omniglot data) is skipped with the reason.
  const ParamRegistry& reg = registry();
  std::vector<Probe> probes;
  for (const auto& name : names) {
    const ModelKind& kind = model_kind(name);
    // --omniglot DIR goes to the kinds of the family that owns omniglot.path.
    bool reads_omniglot_path = false;
    for (const auto& f : families().all())
      for (const auto& k : f.kinds)
        if (k.get() == &kind)
          for (const auto& spec : f.params) reads_omniglot_path = reads_omniglot_path || spec.key == "omniglot.path";
    std::vector<Probe> mine;
    std::string skipped;
    for (auto overrides : kind.calibration_points()) {
      ParamMap p = ParamMap::defaults(reg);
      if (reads_omniglot_path && !omniglot_dir.empty()) overrides.push_back("omniglot.path=" + omniglot_dir);
      for (const auto& o : overrides) p.set_assignment(reg, o);
      if (auto problems = kind.check_inputs(p); !problems.empty()) {
        skipped = problems.front();
        break;
      }
      if (auto problems = kind.validate(p); !problems.empty())
        throw Error("calibrate: a calibration point of " + name + " is invalid (a defect): " + problems.front());
      mine.push_back(Probe{&kind, p, kind.cost_terms(p), {}});
    }
    if (!skipped.empty()) {
      std::printf("calibrate: %s skipped (its constants keep their values): %s\n", name.c_str(), skipped.c_str());
      continue;
    }
    for (auto& m : mine) probes.push_back(std::move(m));
  }
  if (probes.empty()) throw InputError("calibrate: nothing to measure (every kind was skipped)");
  double predicted_total = 0;
  // Predictions for the ETA use the reference constants: the file being replaced may be damaged.
  auto reference_seconds = [](const Probe& p) { return price(p.kind->cost_constants(), p.terms, CostConstants{}); };
  for (const auto& p : probes) predicted_total += reference_seconds(p);
  std::printf("calibrate: %zu points of %zu kinds on %d worker process%s at once (%u cores), ~%.0f s; load average %s\n",
              probes.size(), names.size(), workers, workers == 1 ? "" : "es", cores, predicted_total, load_average().c_str());
  std::fflush(stdout);

  // Workers: forked processes (each a sweep rank's whole address space: per-process caches stay apart),
  // each running every point in the same order and writing "index seconds" lines to a pipe.
  int fds[2];
  if (::pipe(fds) != 0) throw Error("calibrate: pipe() failed");
  std::vector<pid_t> pids;
  for (int w = 0; w < workers; ++w) {
    const pid_t pid = ::fork();
    if (pid < 0) throw Error("calibrate: fork() failed");
    if (pid == 0) {
      ::close(fds[0]);
      for (std::size_t i = 0; i < probes.size(); ++i) {
        // CPU time of this single-threaded process: what the point costs a core, also on a machine where
        // other processes take turns on the cores (wall time would count their turns too).
        const double t0 = thread_cpu_seconds();
        try {
          probes[i].kind->run(probes[i].params, ProgressFn{});
        } catch (const std::exception&) {  // a failed point (e.g. a gate) still measured its work
        }
        const double s = thread_cpu_seconds() - t0;
        char line[64];
        const int len = std::snprintf(line, sizeof line, "%zu %.9g\n", i, s);
        if (::write(fds[1], line, static_cast<std::size_t>(len)) != len) ::_exit(1);
      }
      ::_exit(0);
    }
    pids.push_back(pid);
  }
  ::close(fds[1]);
  std::FILE* in = ::fdopen(fds[0], "r");
  const auto started = std::chrono::steady_clock::now();
  const std::size_t total = probes.size() * static_cast<std::size_t>(workers);
  std::size_t done = 0;
  std::size_t index = 0;
  double seconds = 0;
  double predicted_done = 0;
  while (in && std::fscanf(in, "%zu %lf", &index, &seconds) == 2 && index < probes.size()) {
    probes[index].seconds.push_back(seconds);
    ++done;
    predicted_done += reference_seconds(probes[index]) / workers;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double eta = predicted_done > 0 ? elapsed * (predicted_total - predicted_done) / predicted_done : 0;
    std::fprintf(stderr, "\rcalibrate: %zu/%zu runs, %s %zu, elapsed %s, ETA %s   ", done, total,
                 probes[index].kind->name().c_str(), index, format_duration(elapsed).c_str(),
                 format_duration(std::max(0.0, eta)).c_str());
  }
  std::fprintf(stderr, "\n");
  if (in) std::fclose(in);
  bool workers_ok = true;
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    workers_ok = workers_ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  if (!workers_ok || done != total)
    throw Error("calibrate: a worker process died (" + std::to_string(done) + " of " + std::to_string(total) +
                " runs reported); nothing written");

  // Fit per kind, then show every point: measured, the fit's estimate, the reference estimate.
  const CostConstants* previous = nullptr;
  CostConstants existing;
  if (::access(out_path.c_str(), F_OK) == 0) {
    try {
      existing = CostConstants::load(out_path);
      previous = &existing;
    } catch (const InputError& e) {  // rewriting a damaged file is what calibrate is for
      std::printf("calibrate: %s is replaced whole (it does not parse: %s)\n", out_path.c_str(), e.what());
    }
  }
  std::map<std::string, double> values = previous ? previous->values : std::map<std::string, double>{};
  CostConstants fitted;
  std::printf("\n%-12s %5s %10s %10s %7s %10s %7s\n", "kind", "point", "measured", "fitted", "ratio", "reference", "ratio");
  for (const auto& name : names) {
    std::vector<const Probe*> mine;
    for (const auto& p : probes)
      if (p.kind->name() == name) mine.push_back(&p);
    if (mine.empty()) continue;
    const auto constants = mine.front()->kind->cost_constants();
    for (const auto& [k, v] : fit(constants, mine)) values[k] = fitted.values[k] = v;
    for (std::size_t i = 0; i < mine.size(); ++i) {
      const double m = mine[i]->measured();
      const double f = price(constants, mine[i]->terms, fitted), r = price(constants, mine[i]->terms, CostConstants{});
      std::printf("%-12s %5zu %9.3fs %9.3fs %7.2f %9.3fs %7.2f\n", name.c_str(), i, m, f, f / m, r, r / m);
    }
  }
  std::printf("\n%-26s %12s %12s  %s\n", "constant", "fitted", "reference", "unit");
  for (const auto& name : names)
    for (const auto& c : model_kind(name).cost_constants())
      if (fitted.values.count(c.name))
        std::printf("%-26s %12.4g %12.4g  s per %s\n", c.name.c_str(), fitted.values[c.name], c.reference_seconds, c.unit.c_str());
  char host[256] = "?";
  ::gethostname(host, sizeof host - 1);
  std::error_code ignored;  // existing folders are fine; a real failure shows at the write
  std::filesystem::create_directories(std::filesystem::path(out_path).parent_path(), ignored);
  std::ostringstream header;
  header << "iclsweep calibrate on " << host << ", " << iso_date() << ", " << workers << " worker(s) on " << cores << " cores";
  write_calibration(out_path, values, header.str());
  std::printf("\nwrote %s (`iclsweep list` and `run` read it; ICLSWEEP_CALIBRATION=FILE points them at another)\n", out_path.c_str());
  return kExitOk;
}

}  // namespace icl::cli
