#pragma once
// The `iclsweep` subcommands. Each takes the arguments after its name and returns the process exit code.
#include <string>
#include <vector>

namespace icl::cli {

using Args = std::vector<std::string>;

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const Args& args);
};

// The dispatch table (src/cli/main.cpp). Add a command by adding a line there.
const std::vector<Command>& commands();
int main(int argc, char** argv);

int cmd_keys(const Args& args);
int cmd_bench(const Args& args);  // src/cli/bench.cpp
int cmd_sample(const Args& args);  // src/cli/sample.cpp
int cmd_run(const Args& args);
int cmd_train(const Args& args);
int cmd_status(const Args& args);
int cmd_list(const Args& args);  // src/cli/list.cpp
int cmd_show(const Args& args);  // src/cli/show.cpp
int cmd_merge(const Args& args);  // src/cli/merge.cpp
int cmd_calibrate(const Args& args);  // src/cli/calibrate.cpp

}  // namespace icl::cli
