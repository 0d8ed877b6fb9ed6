#include "iclsweep/cli/commands.hpp"

int main(int argc, char** argv) { return icl::cli::main(argc, argv); }
