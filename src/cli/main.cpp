#include <cstdio>
#include <exception>
#include <string>

#include "iclsweep/build_info.hpp"
#include "iclsweep/cli/commands.hpp"
#include "iclsweep/cli/exit_codes.hpp"
#include "iclsweep/cli/registry.hpp"
#include "iclsweep/core/error.hpp"
#include "iclsweep/core/quote.hpp"

namespace icl::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"run", "run a sweep (one process, or under mpirun/srun), resuming an existing results file", cmd_run},
      {"train", "train one point from --set options into a results file (progress shown)", cmd_train},
      {"status", "done / failed / remaining points, per-rank throughput and launches of a results file", cmd_status},
      {"keys", "list every parameter key with its default and rule", cmd_keys},
      {"bench", "time the transformer's training step on one core (ms/step, GFLOP/s)", cmd_bench},
      {"sample", "write sequences of one data split (train, pretraining, eval-...) to an HDF5 file", cmd_sample},
      {"list", "expand and validate a job file: points, ids, cost estimate (runs nothing)", cmd_list},
  };
  return table;
}

static void usage(std::FILE* out) {
  std::fprintf(out, "iclsweep %s (%s): in-context vs in-weight learning sweeps\n\nusage: iclsweep COMMAND [options]\n\ncommands:\n",
               build::version, build::git_commit);
  for (const auto& c : commands()) std::fprintf(out, "  %-8s %s\n", c.name, c.summary);
  std::fprintf(out, "\n`iclsweep COMMAND --help` describes a command's options.\n");
}

int cmd_keys(const Args&) {
  // Integer keys show their declared range, checked before any value is used (docs/job-files.md).
  std::printf("%-34s %-14s %-18s %s\n", "KEY", "DEFAULT", "RANGE", "MEANING");
  for (const auto& s : registry().specs())
    std::printf("%-34s %-14s %-18s %s\n", s.key.c_str(), s.default_value.empty() ? "(unset)" : s.default_value.c_str(),
                s.type == ParamType::Int ? range_text(s).c_str() : "-", s.help.c_str());
  return kExitOk;
}

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? kExitUsage : kExitOk;
  }
  if (std::string(argv[1]) == "--version") {
    std::printf("iclsweep %s (%s) %s\n", build::version, build::git_commit, build::cxx_flags);
    return kExitOk;
  }
  const std::string name = argv[1];
  for (const auto& c : commands()) {
    if (name != c.name) continue;
    Args args(argv + 2, argv + argc);
    try {
      return c.run(args);
    } catch (const InputError& e) {
      std::fprintf(stderr, "iclsweep %s: error: %s\n", c.name, e.what());
      return kExitUsage;
    } catch (const ParamError& e) {
      std::fprintf(stderr, "iclsweep %s: error: %s\n", c.name, e.what());
      return kExitUsage;
    } catch (const StoreError& e) {
      std::fprintf(stderr, "iclsweep %s: error: %s\n", c.name, e.what());
      return kExitStore;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "iclsweep %s: error: %s\n", c.name, e.what());
      return kExitFailure;
    }
  }
  std::fprintf(stderr, "iclsweep: unknown command %s\n\n", quote(name).c_str());
  usage(stderr);
  return kExitUsage;
}

}  // namespace icl::cli
