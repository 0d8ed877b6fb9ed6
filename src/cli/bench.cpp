// `iclsweep bench`: milliseconds per training step of the §2 transformer on one core, per context
// length, with achieved GFLOP/s against the machine's single-core Eigen SGEMM. Compare with the PyTorch
// peer: OMP_NUM_THREADS=1 python3 ../shared/bench/torch_ref_bench.py --threads 1 (run both back to back:
// the machine may be shared).
#include <algorithm>
#include <cstdio>
#include <iterator>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "iclsweep/cli/commands.hpp"
#include "iclsweep/cli/exit_codes.hpp"
#include "iclsweep/core/error.hpp"
#include "iclsweep/core/quote.hpp"
#include "iclsweep/data/pool.hpp"
#include "iclsweep/model/speed.hpp"

namespace icl::cli {

namespace {
std::vector<int> parse_int_list(const std::string& option, const std::string& text) {
  std::vector<int> out;
  std::stringstream s(text);
  std::string item;
  while (std::getline(s, item, ',')) {
    try {
      std::size_t used = 0;
      const int v = std::stoi(item, &used);
      if (used != item.size() || v < 0) throw std::invalid_argument(item);
      out.push_back(v);
    } catch (const std::exception&) {
      throw InputError(option + " " + quote(text) + ": expected a comma-separated list of non-negative integers, e.g. 1,4,8,16");
    }
  }
  if (out.empty()) throw InputError(option + ": empty list");
  return out;
}
int parse_int(const std::string& option, const std::string& text, int min) {
  try {
    std::size_t used = 0;
    const int v = std::stoi(text, &used);
    if (used == text.size() && v >= min) return v;
  } catch (const std::exception&) {
  }
  throw InputError(option + " " + quote(text) + ": expected an integer >= " + std::to_string(min));
}
std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  if (!(f >> a >> b >> c)) return "unknown";
  return a + " " + b + " " + c;
}
}  // namespace

int cmd_bench(const Args& args) {
  std::vector<int> contexts{1, 4, 8, 16};
  ModelConfig config;
  int batch = 32, classes = 10, chunks = 7, steps = 50;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::printf(
          "usage: iclsweep bench [--L 1,4,8,16] [--batch 32] [--classes 10] [--blocks 2] [--heads 1] [--embed 64]\n"
          "                      [--chunks 7] [--steps 50]\n\n"
          "Times the transformer's training step (forward, backward, Adam) on one core: median over CHUNKS chunks of\n"
          "STEPS steps, after 20 warm-up steps, on a fixed pool of random batches. Prints wall-clock and thread-CPU\n"
          "milliseconds per step (CPU time is what to compare on a shared machine), the matmul GFLOP/s, and the\n"
          "single-core SGEMM rate of this machine for reference.\n");
      return kExitOk;
    }
    static const char* const known[] = {"--L", "--batch", "--classes", "--blocks", "--heads", "--embed", "--chunks", "--steps"};
    if (std::find(std::begin(known), std::end(known), a) == std::end(known))
      throw InputError("bench: unknown option " + quote(a) + " (see iclsweep bench --help)");
    if (i + 1 >= args.size()) throw InputError("bench: option " + quote(a) + " needs a value (see iclsweep bench --help)");
    const std::string& v = args[++i];
    if (a == "--L") contexts = parse_int_list(a, v);
    else if (a == "--batch") batch = parse_int(a, v, 1);
    else if (a == "--classes") classes = parse_int(a, v, 2);
    else if (a == "--blocks") config.num_blocks = parse_int(a, v, 1);
    else if (a == "--heads") config.num_heads = parse_int(a, v, 1);
    else if (a == "--embed") config.embed_dim = parse_int(a, v, 2);
    else if (a == "--chunks") chunks = parse_int(a, v, 1);
    else if (a == "--steps") steps = parse_int(a, v, 1);
    else throw InputError("bench: unknown option " + quote(a) + " (see iclsweep bench --help)");
  }
  config.validate();

  std::printf("transformer train step: B=%d, E=%d, %d block(s), %d head(s), widening %d, C=%d; float32, 1 thread\n", batch,
              config.embed_dim, config.num_blocks, config.num_heads, config.widening_factor, classes);
  std::printf("load average before: %s (%u CPUs)\n", load_average().c_str(), std::thread::hardware_concurrency());
  const double peak = sgemm_gflops(1024, 5);
  std::printf("single-core SGEMM (Eigen, 1024^3, thread CPU time): %.1f GFLOP/s\n\n", peak);
  std::printf("%4s %12s %12s %12s %10s %8s %12s %9s\n", "L", "ms/step", "cpu ms/step", "MFLOP/step", "GFLOP/s", "of SGEMM",
              "assembly ms", "of step");
  for (int L : contexts) {
    const StepTiming t = time_train_step(config, batch, L, classes, chunks, steps);
    // Batch assembly (pool lookup, prototypes + sigma * xi regenerated from Philox, labels) is separate
    // from the step above, which trains on fixed batches: sigma = 0.2, the paper's default.
    const double assembly_ms = time_batch_assembly_ms(L, 200, batch, 0.2);
    std::printf("%4d %12.4f %12.4f %12.2f %10.1f %7.0f%% %12.4f %8.1f%%\n", L, t.ms_per_step, t.cpu_ms_per_step,
                t.flops_per_step * 1e-6, t.gflops, 100.0 * t.gflops / peak, assembly_ms, 100.0 * assembly_ms / t.ms_per_step);
    std::fflush(stdout);
  }
  std::printf("\nload average after: %s. ms/step is wall clock (median of %d chunks of %d steps); GFLOP/s uses CPU time.\n",
              load_average().c_str(), chunks, steps);
  return kExitOk;
}

}  // namespace icl::cli
