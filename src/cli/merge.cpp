// `iclsweep merge A.h5 B.h5 [...] --out C.h5`: one results file holding every point of the inputs once.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>

#include "iclsweep/cli/commands.hpp"
#include "iclsweep/cli/exit_codes.hpp"
#include "iclsweep/cli/options.hpp"
#include "iclsweep/core/error.hpp"
#include "iclsweep/store/merge.hpp"

namespace po = boost::program_options;

namespace icl::cli {

int cmd_merge(const Args& args) {
  std::vector<std::string> inputs;
  std::string out;
  po::options_description desc("iclsweep merge A.h5 B.h5 [...] --out C.h5: combine results files");
  MergeOptions mo;
  desc.add_options()("help,h", "this help")("out,o", po::value(&out)->required(), "new results file (never replaced)")(
      "accept-changed-inputs", po::bool_switch(&mo.accept_changed_inputs),
      "merge files made from different input data (Omniglot images, the lm_facts corpus generator); the merged file "
      "records every fingerprint");
  po::options_description hidden;
  hidden.add_options()("inputs", po::value(&inputs)->composing(), "input files");
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("inputs", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    if (vm.count("help")) {
      std::cout << desc
                << "\nPoints are identified by their id (the hash of their parameters): each id is kept once. A point "
                   "done in one file\nand pending or failed in another is taken as done; done in two files with "
                   "different results is a conflict\nand nothing is written. To grow a sweep instead (more seeds or N), "
                   "run the larger job with --from OLD.h5.\n";
      return kExitOk;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw InputError(std::string(e.what()) + " (see iclsweep merge --help)");
  }
  const MergeSummary s = merge_results(inputs, out, mo);
  std::printf("wrote %s: %zu points (%zu done, %zu failed, %zu pending) from %zu files; %zu duplicate ids kept once\n",
              out.c_str(), s.points, s.done, s.failed, s.pending, inputs.size(), s.duplicates);
  return kExitOk;
}

}  // namespace icl::cli
