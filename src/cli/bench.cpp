// `iclsweep bench`: milliseconds per training step of the §2 transformer on one core, per context
// length, with achieved GFLOP/s against the machine's single-core Eigen SGEMM. Compare with the PyTorch
// peer: OMP_NUM_THREADS=1 python3 ../shared/bench/torch_ref_bench.py --threads 1 (run both back to back:
// the machine may be shared).
#include <charconv>
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
#include "iclsweep/cli/options.hpp"
#include "iclsweep/core/error.hpp"
#include "iclsweep/core/model_kind.hpp"
#include "iclsweep/core/quote.hpp"
#include "iclsweep/core/timing.hpp"
#include "iclsweep/data/omniglot_images.hpp"
#include "iclsweep/data/omniglot_speed.hpp"
#include "iclsweep/data/pool.hpp"
#include "iclsweep/lm/lm_speed.hpp"
#include "iclsweep/model/speed.hpp"
#include "iclsweep/model/config.hpp"

namespace icl::cli {

namespace {
// Options are sizes: each has a range (the matching job key's where there is one), checked before any
// work, so that no value reaches an allocation or a 32-bit product unchecked.
int parse_int(const std::string& option, const std::string& text, int min, int max = 1 << 20) {
  long long v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc() && end == text.data() + text.size() && v >= min && v <= max) return static_cast<int>(v);
  throw InputError(option + " " + quote(text) + ": expected an integer in " + std::to_string(min) + ".." + std::to_string(max));
}
std::vector<int> parse_int_list(const std::string& option, const std::string& text, int min, int max) {
  std::vector<int> out;
  std::stringstream s(text);
  std::string item;
  while (std::getline(s, item, ',')) {
    try {
      out.push_back(parse_int(option, item, min, max));
    } catch (const InputError&) {
      throw InputError(option + " " + quote(text) + ": expected a comma-separated list of integers in " + std::to_string(min) +
                       ".." + std::to_string(max) + ", e.g. 1,4,8,16");
    }
  }
  if (out.empty()) throw InputError(option + ": empty list");
  return out;
}
// A configuration whose training step cannot fit is refused with its size (as `list` refuses such points).
void check_bench_memory(double bytes, const std::string& what) {
  if (bytes <= kMaxPointMemoryBytes) return;
  char msg[320];
  std::snprintf(msg, sizeof msg, "%s needs ~%.3g GB for one training step, more than the %.0f GB one rank may use: "
                "make it smaller", what.c_str(), bytes / 1e9, kMaxPointMemoryBytes / (1024.0 * 1024 * 1024));
  throw InputError(msg);
}

// The image store for the assembly columns, or null (with the reason printed) when `folder` holds none.
std::shared_ptr<const OmniglotImages> bench_images(const std::string& folder) {
  const std::string dir = resolve_omniglot_folder(folder);
  try {
    const double t0 = thread_cpu_seconds();
    auto images = OmniglotImages::load(dir);
    std::printf("images: %d classes, %d drawings from %s, decoded in %.2f s CPU, %.1f MB held (1 bit per pixel);\n"
                "        the full dataset (1623 x 20 drawings) holds %.1f MB\n",
                images->num_classes(), images->total_drawings(), dir.c_str(), thread_cpu_seconds() - t0,
                images->memory_bytes() / 1e6, omniglot_image_store_bytes(1623 * 20) / 1e6);
    return images;
  } catch (const InputError& e) {
    std::printf("images: none read from %s, so no assembly columns (pass --omniglot DIR, e.g. ../shared/data/omniglot):\n  %s\n",
                dir.c_str(), e.what());
    return nullptr;
  }
}

int bench_omniglot(const std::vector<int>& contexts, int batch, int classes, int image_size, int chunks, int steps,
                   const std::string& omniglot_folder) {
  constexpr std::int64_t kAssemblyPoolSize = 100000;  // N = 10^5, the middle of the paper's sweeps
  constexpr double kAssemblySigma = 0.1;              // the H6 input noise
  std::printf("omniglot train step: ResNet-v1 tokenizer on %dx%d images + transformer (E=64, 2 blocks, 1 head, C=%d) + Adam;\n"
              "B=%d, float32, 1 thread\n",
              image_size, image_size, classes, batch);
  std::printf("load average before: %s (%u CPUs)\n", load_average().c_str(), std::thread::hardware_concurrency());
  const double peak = sgemm_gflops(1024, 5);
  std::printf("single-core SGEMM (Eigen, 1024^3, thread CPU time): %.1f GFLOP/s\n", peak);
  const auto images = bench_images(omniglot_folder);
  std::printf("\n%4s %7s %10s %12s %11s %9s %9s %15s %10s", "L", "images", "ms/step", "cpu ms/step", "GFLOP/step", "GFLOP/s",
              "of SGEMM", "tokenizer ms", "of step");
  if (images) std::printf(" %12s %8s %9s", "assembly ms", "of step", "pool MB");
  std::printf("\n");
  for (int L : contexts) {
    const OmniglotStepTiming r = time_omniglot_step(batch, L, image_size, classes, chunks, steps);
    const StepTiming& t = r.step;
    std::printf("%4d %7d %10.1f %12.1f %11.3f %9.1f %8.0f%% %15.1f %9.0f%%", L, batch * (L + 1), t.ms_per_step, t.cpu_ms_per_step,
                t.flops_per_step * 1e-9, t.gflops, 100.0 * t.gflops / peak, r.tokenizer_cpu_ms, 100.0 * r.tokenizer_cpu_ms / t.cpu_ms_per_step);
    if (images) {
      const OmniglotAssemblyTiming a = time_omniglot_assembly(images, image_size, L, batch, kAssemblyPoolSize, kAssemblySigma);
      std::printf(" %12.2f %7.1f%% %9.2f", a.cpu_ms_per_batch, 100.0 * a.cpu_ms_per_batch / t.cpu_ms_per_step, a.pool_bytes / 1e6);
    }
    std::printf("\n");
    std::fflush(stdout);
  }
  std::printf("\nload average after: %s. ms/step is wall clock (median of %d chunks of %d steps); GFLOP/s uses CPU time.\n",
              load_average().c_str(), chunks, steps);
  if (images)
    std::printf("assembly: one training batch of the stream (epoch shuffle, drawing 0 decoded%s, sigma = %.1f noise) from a\n"
                "pool of N = %lld sequences, thread CPU time, median; the step above trains on fixed batches and excludes it.\n",
                image_size == OmniglotImages::kSide ? "" : " and area-downsampled", kAssemblySigma,
                static_cast<long long>(kAssemblyPoolSize));
  return kExitOk;
}
}  // namespace

// `iclsweep bench --model lm`: the character LM of the lm_facts kind (issue 13), against
// OMP_NUM_THREADS=1 /usr/bin/python3 ../shared/bench/torch_charlm_bench.py (same configs, T, B).
int cmd_bench_lm(const Args& args) {
  std::string configs = "2x64,4x64,4x128";
  int seq = 96, batch = 32, chunks = 5, steps = 10, heads = 4;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::printf(
          "usage: iclsweep bench --model lm [--configs 2x64,4x64,4x128] [--T 96] [--B 32] [--heads 4] [--chunks 5] [--steps 10]\n\n"
          "Times the lm_facts character LM's training step (LAYERSxWIDTH configs; forward, next-token CE at every\n"
          "position, backward, Adam) on one core: median over CHUNKS chunks of STEPS steps on random tokens. Compare\n"
          "back to back with: OMP_NUM_THREADS=1 /usr/bin/python3 ../shared/bench/torch_charlm_bench.py\n");
      return kExitOk;
    }
    if (a == "--model") {
      ++i;
      continue;
    }
    if (i + 1 >= args.size()) throw InputError("bench: option '" + a + "' needs a value (see iclsweep bench --model lm --help)");
    const std::string& v = args[++i];
    if (a == "--configs") configs = v;
    else if (a == "--T") seq = parse_int(a, v, 2, 4096);
    else if (a == "--B") batch = parse_int(a, v, 1, 4096);
    else if (a == "--heads") heads = parse_int(a, v, 1, 256);
    else if (a == "--chunks") chunks = parse_int(a, v, 1, 1000);
    else if (a == "--steps") steps = parse_int(a, v, 1, 100000);
    else throw InputError("bench: unknown option '" + a + "' for --model lm (see iclsweep bench --model lm --help)");
  }
  // Every config is checked before anything is printed or timed.
  std::vector<std::pair<std::string, lm::LmConfig>> lm_configs;
  std::stringstream list(configs);
  std::string item;
  while (std::getline(list, item, ',')) {
    const auto x = item.find('x');
    if (x == std::string::npos) throw InputError("bench: --configs " + quote(configs) + ": expected LAYERSxWIDTH items, e.g. 4x64");
    lm::LmConfig c;
    c.num_layers = parse_int("--configs", item.substr(0, x), 1, 64);   // lm.layers
    c.embed_dim = parse_int("--configs", item.substr(x + 1), 2, 4096);  // lm.width
    c.num_heads = heads;
    c.max_len = seq;
    c.validate();
    check_bench_memory(lm::lm_train_memory_bytes(c, batch, seq), "--configs " + item);
    lm_configs.emplace_back(item, c);
  }
  std::printf("lm_facts character LM train step: T=%d, B=%d, %d heads, vocab %d; float32, 1 thread\n", seq, batch, heads,
              lm::vocab_size());
  std::printf("load average before: %s (%u CPUs)\n", load_average().c_str(), std::thread::hardware_concurrency());
  std::printf("%8s %10s %12s %12s %12s %10s\n", "config", "params", "ms/step", "cpu ms/step", "GFLOP/step", "GFLOP/s");
  for (const auto& [item, c] : lm_configs) {
    const lm::LmStepTiming t = lm::time_lm_train_step(c, batch, seq, chunks, steps);
    std::printf("%8s %10zu %12.2f %12.2f %12.3f %10.1f\n", item.c_str(), t.num_parameters, t.ms_per_step, t.cpu_ms_per_step,
                t.flops_per_step * 1e-9, t.gflops);
    std::fflush(stdout);
  }
  std::printf("\nload average after: %s. GFLOP counts causal attention as half (the peer counts the full T x T).\n",
              load_average().c_str());
  return kExitOk;
}

int cmd_bench(const Args& args) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--model") {
      if (args[i + 1] == "lm") return cmd_bench_lm(args);
      if (args[i + 1] != "transformer")
        if (args[i + 1] != "omniglot")
          throw InputError("bench: --model '" + args[i + 1] + "': expected transformer, omniglot or lm");
    }
  std::vector<int> contexts{1, 4, 8, 16};
  ModelConfig config;
  int batch = 32, classes = 10, chunks = 7, steps = 50, image_size = 105;
  std::string model = "transformer", omniglot_folder;
  bool set_contexts = false, set_classes = false, set_chunks = false, set_steps = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::printf(
          "usage: iclsweep bench [--model transformer|omniglot|lm] [--L 1,4,8,16] [--batch 32] [--classes 10] [--blocks 2]\n"
          "                      [--heads 1] [--embed 64] [--image-size 105] [--omniglot DIR] [--chunks 7] [--steps 50]\n\n"
          "Times the transformer's training step (forward, backward, Adam) on one core: median over CHUNKS chunks of\n"
          "STEPS steps, after 20 warm-up steps, on a fixed pool of random batches. Prints wall-clock and thread-CPU\n"
          "milliseconds per step (CPU time is what to compare on a shared machine), the matmul GFLOP/s, and the\n"
          "single-core SGEMM rate of this machine for reference.\n\n"
          "--model omniglot times the Omniglot step of PAPER-SPEC §5.3 instead: the ResNet-v1 tokenizer over the\n"
          "B*(L+1) images (IMAGE-SIZE^2 pixels) + the transformer with C = 1623 + Adam with the warmup_rsqrt\n"
          "schedule (defaults --L 2,4 --classes 1623 --chunks 5 --steps 4, 3 warm-up steps), and the tokenizer's\n"
          "forward + backward alone. GFLOP counts every convolution (stem backward: kernel gradient only) and\n"
          "the transformer's matmuls. Peer: OMP_NUM_THREADS=1 /usr/bin/python3 ../shared/bench/torch_omniglot_bench.py\n"
          "--modes step --backends onednn --channels_last --size 105. With images in --omniglot DIR (default: the\n"
          "omniglot.path default, docs/omniglot.md) it also reports the image store's memory and the time to assemble\n"
          "one training batch (N = 10^5, sigma = 0.1) beside the step.\n");
      return kExitOk;
    }
    static const char* const known[] = {"--L", "--batch", "--classes", "--blocks", "--heads", "--embed", "--chunks", "--steps",
                                        "--model", "--image-size", "--omniglot"};
    if (std::find(std::begin(known), std::end(known), a) == std::end(known))
      throw InputError("bench: unknown option " + quote(a) + " (see iclsweep bench --help)");
    if (i + 1 >= args.size()) throw InputError("bench: option " + quote(a) + " needs a value (see iclsweep bench --help)");
    const std::string& v = args[++i];
    if (a == "--L") contexts = parse_int_list(a, v, 1, 4096), set_contexts = true;
    else if (a == "--batch") batch = parse_int(a, v, 1, 65536);  // train.batch_size
    else if (a == "--classes") classes = parse_int(a, v, 2, 1 << 20), set_classes = true;
    else if (a == "--model") {
      if (v != "transformer" && v != "omniglot") throw InputError("bench: --model '" + v + "': expected transformer, omniglot or lm");
      model = v;
    } else if (a == "--image-size") image_size = parse_int(a, v, 8, OmniglotImages::kSide);  // omniglot.image_size
    else if (a == "--omniglot") omniglot_folder = v;
    else if (a == "--blocks") config.num_blocks = parse_int(a, v, 1, 64);      // model.num_blocks
    else if (a == "--heads") config.num_heads = parse_int(a, v, 1, 65536);     // model.num_heads
    else if (a == "--embed") config.embed_dim = parse_int(a, v, 2, 65536);     // model.embed_dim
    else if (a == "--chunks") chunks = parse_int(a, v, 1, 1000), set_chunks = true;
    else if (a == "--steps") steps = parse_int(a, v, 1, 100000), set_steps = true;
    else throw InputError("bench: unknown option " + quote(a) + " (see iclsweep bench --help)");
  }
  config.validate();
  for (const int L : contexts)
    check_bench_memory(model == "omniglot" ? omniglot_train_memory_bytes(config, batch, L, image_size, classes)
                                           : transformer_memory_bytes(config, batch, 2 * L + 1, classes, config.embed_dim),
                       "--L " + std::to_string(L) + " with --batch " + std::to_string(batch));
  if (model == "omniglot") {
    if (!set_contexts) contexts = {2, 4};
    if (!set_classes) classes = 1623;
    if (!set_chunks) chunks = 5;
    if (!set_steps) steps = 4;
    return bench_omniglot(contexts, batch, classes, image_size, chunks, steps, omniglot_folder);
  }

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
