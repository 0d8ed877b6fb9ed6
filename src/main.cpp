#include <cstring>

#include "iclsweep/cli/commands.hpp"
#include "iclsweep/sweep/engine.hpp"

int main(int argc, char** argv) {
  // Commands that write a results file drain on SIGTERM/SIGINT/SIGUSR1 from their very first instruction
  // (exit 3), so a signal during start-up, job expansion or file creation never kills them half-way.
  if (argc >= 2 && (std::strcmp(argv[1], "run") == 0 || std::strcmp(argv[1], "train") == 0))
    icl::install_drain_handlers();
  return icl::cli::main(argc, argv);
}
