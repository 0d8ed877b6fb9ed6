#include <boost/program_options.hpp>
#include <cstdio>
#include <new>
#include <set>
#include <iostream>
#include <exception>
#include <string>

#include "iclsweep/build_info.hpp"
#include "iclsweep/cli/commands.hpp"
#include "iclsweep/cli/exit_codes.hpp"
#include "iclsweep/cli/registry.hpp"
#include "iclsweep/core/error.hpp"
#include "iclsweep/core/quote.hpp"

namespace po = boost::program_options;

namespace icl::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"run", "run a sweep (one process, or under mpirun/srun), resuming an existing results file", cmd_run},
      {"train", "train one point from --set options into a results file (progress shown)", cmd_train},
      {"status", "done / failed / remaining points, per-rank throughput and launches of a results file", cmd_status},
      {"keys", "list every parameter key with its default and rule", cmd_keys},
      {"bench", "time the transformer's training step on one core (ms/step, GFLOP/s)", cmd_bench},
      {"calibrate", "measure this machine's cost-model constants for list/run/slurm/submit (about a minute)", cmd_calibrate},
      {"sample", "write sequences of one data split (train, pretraining, eval-...) to an HDF5 file", cmd_sample},
      {"list", "expand and validate a job file: points, ids, cost estimate (runs nothing)", cmd_list},
      {"show", "one point of a results file: parameters, status, run, selected checkpoint and metrics", cmd_show},
      {"merge", "combine results files into a new one (each point id once; conflicting points refused)", cmd_merge},
  };
  return table;
}

static void usage(std::FILE* out) {
  std::fprintf(out, "iclsweep %s (%s): in-context vs in-weight learning sweeps\n\nusage: iclsweep COMMAND [options]\n\ncommands:\n",
               build::version, build::git_commit);
  for (const auto& c : commands()) std::fprintf(out, "  %-8s %s\n", c.name, c.summary);
  std::fprintf(out, "\n`iclsweep COMMAND --help` describes a command's options.\n");
}

int cmd_keys(const Args& args) {
  po::options_description desc(
      "iclsweep keys [PREFIX ...]: every parameter key (or those starting with a PREFIX, e.g. data. or train.) with "
      "its type, default, allowed values and rule");
  desc.add_options()("help,h", "this help");
  po::options_description hidden;
  std::vector<std::string> prefixes;
  hidden.add_options()("prefix", po::value(&prefixes)->composing(), "key prefixes");
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("prefix", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw InputError(printable(e.what(), 4 * kQuoteMaxChars) + " (see iclsweep keys --help)");
  }
  if (vm.count("help")) {
    std::cout << desc << "\nJob-file syntax: docs/job-files.md. Short names (num_contexts) work in job files and --set.\n";
    return kExitOk;
  }
  auto type_name = [](ParamType t) {
    switch (t) {
      case ParamType::Int: return "int";
      case ParamType::Real: return "real";
      case ParamType::Bool: return "bool";
      case ParamType::String: return "text";
    }
    return "?";
  };
  std::size_t shown = 0;
  for (const auto& s : registry().specs()) {
    bool match = prefixes.empty();
    for (const auto& p : prefixes) match = match || s.key.compare(0, p.size(), p) == 0 || s.key.find("." + p) != std::string::npos;
    if (!match) continue;
    ++shown;
    std::string rule = s.help;
    if (!s.choices.empty()) {
      std::string c;
      for (const auto& v : s.choices) c += (c.empty() ? "" : " | ") + v;
      rule = "one of: " + c + ". " + rule;
    }
    // Integer keys show their declared range, checked before any value is used (docs/job-files.md).
    std::printf("%-34s %-5s %-14s %-11s %s\n", s.key.c_str(), type_name(s.type),
                s.default_value.empty() ? "(unset)" : s.default_value.c_str(),
                s.type == ParamType::Int ? range_text(s).c_str() : "-", rule.c_str());
  }
  if (shown == 0) {
    std::string all_prefixes;
    for (const auto& p : prefixes) all_prefixes += (all_prefixes.empty() ? "" : ", ") + quote(p);
    std::set<std::string> sections;  // from the registry: a new room's section shows up by itself
    for (const auto& spec : registry().specs()) sections.insert(spec.key.substr(0, spec.key.find('.') + 1));
    std::string listed;
    for (const auto& sec : sections) listed += (listed.empty() ? "" : ", ") + sec;
    throw InputError("no parameter key starts with " + all_prefixes + " (the sections are " + listed + ")");
  }
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
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "iclsweep %s: error: out of memory (std::bad_alloc; see `ulimit -v` and the job's memory "
                           "limit): ask for less (smaller sizes or counts) or give the process more memory\n", c.name);
      return kExitFailure;
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
