// `iclsweep sample --set KEY=VALUE ... --split NAME --count K --out FILE.h5`: writes K sequences of one
// split of the stylized distribution (PAPER-SPEC §1) exactly as the model would see them, for
// inspection in Python (h5py) and for checking the generator against the spec.
#include <boost/program_options.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "iclsweep/build_info.hpp"
#include "iclsweep/cli/commands.hpp"
#include "iclsweep/cli/exit_codes.hpp"
#include "iclsweep/cli/options.hpp"
#include "iclsweep/cli/registry.hpp"
#include "iclsweep/core/error.hpp"
#include "iclsweep/data/pool.hpp"
#include "iclsweep/data/splits.hpp"
#include "iclsweep/store/h5.hpp"

namespace po = boost::program_options;

namespace icl::cli {

namespace {

// Every parameter as a typed root attribute (Int/Bool -> int64, Real -> double, String -> string);
// unset optional parameters are left out.
void write_parameters(const h5::File& file, const ParamMap& params) {
  for (const auto& [key, value] : params.values()) {
    if (value.empty()) continue;
    const ParamSpec* spec = registry().find(key);
    const ParamType type = spec ? spec->type : ParamType::String;
    switch (type) {
      case ParamType::Int:
      case ParamType::Bool: file.set_attribute(key, static_cast<std::int64_t>(params.get_int(key))); break;
      case ParamType::Real: file.set_attribute(key, params.get_real(key)); break;
      case ParamType::String: file.set_attribute(key, value); break;
    }
  }
}

// Appends `batch` (B sequences) to the flat output buffers.
void append(const Batch& batch, std::vector<std::int32_t>& labels, std::vector<std::int32_t>& classes,
            std::vector<float>& inputs, std::vector<float>& label_dist) {
  labels.insert(labels.end(), batch.labels.begin(), batch.labels.end());
  classes.insert(classes.end(), batch.classes.begin(), batch.classes.end());
  inputs.insert(inputs.end(), batch.inputs.begin(), batch.inputs.end());
  label_dist.insert(label_dist.end(), batch.label_dist.begin(), batch.label_dist.end());
}

}  // namespace

int cmd_sample(const Args& args) {
  po::options_description visible(
      "iclsweep sample [options]: write sequences of one data split to an HDF5 file (datasets labels, inputs, "
      "label_dist, classes, positions; parameters as root attributes)");
  std::string split_name = "train", out_path;
  long long count = 100;
  visible.add_options()
      ("help,h", "show this help")
      ("set,s", po::value<std::vector<std::string>>()->composing(), "parameter KEY=VALUE (data.num_contexts=4); repeatable")
      ("split", po::value<std::string>(&split_name)->default_value("train"),
       "train (the training minibatches of steps 0, 1, ...), pretraining, or eval-<relevance>-<conditioning>[-flip_label]")
      ("count", po::value<long long>(&count)->default_value(100), "number of sequences K")
      ("out,o", po::value<std::string>(&out_path), "output file (.h5), replaced if it exists");
  std::string footer = "\nSplits: train";
  for (const auto& s : evaluation_splits()) footer += ", " + s.name;
  footer += "\nKeys: iclsweep keys.\n";
  po::variables_map vm;
  if (!parse_command_line("sample", args, visible, footer, vm)) return kExitOk;
  if (out_path.empty()) throw InputError("missing --out FILE.h5 (see iclsweep sample --help)");
  if (count < 1) throw InputError("--count must be >= 1, got " + std::to_string(count));

  ParamMap params = ParamMap::defaults(registry());
  if (vm.count("set"))
    for (const auto& a : vm["set"].as<std::vector<std::string>>()) params.set_assignment(registry(), a);
  const DataParams data = DataParams::from(params);
  const auto train_pool = std::make_shared<const Pool>(Pool::training(data));

  std::vector<std::int32_t> labels, classes;
  std::vector<float> inputs, label_dist;
  std::vector<std::int64_t> positions;
  Batch batch;
  const int K = static_cast<int>(count);
  if (split_name == "train") {
    // The minibatches training consumes, in step order (train.batch_size per step, the last one cut to K).
    const int batch_size = params.has("train.batch_size") ? params.get_int32("train.batch_size") : 32;
    if (batch_size < 1) throw ParamError("train.batch_size", std::to_string(batch_size), "must be >= 1");
    std::vector<std::int64_t> step_positions;
    for (std::int64_t step = 0; static_cast<int>(positions.size()) < K; ++step) {
      training_positions(data.seed, train_pool->size(), step, batch_size, step_positions);
      step_positions.resize(std::min<std::size_t>(static_cast<std::size_t>(batch_size), K - positions.size()));
      train_pool->assemble(step_positions, false, batch);
      append(batch, labels, classes, inputs, label_dist);
      positions.insert(positions.end(), step_positions.begin(), step_positions.end());
    }
  } else {
    EvalOptions opt;
    if (params.has("eval.num_eval_samples")) opt.num_eval_samples = params.get_int32("eval.num_eval_samples");
    if (params.has("eval.num_pretraining_samples"))
      opt.pretraining_samples = params.get_int32("eval.num_pretraining_samples");
    if (params.has("eval.default_p_relevant_context")) opt.default_p_relevant = params.get_real("eval.default_p_relevant_context");
    // More pretraining draws only extend the same position list (one stream, drawn in order); more
    // evaluation draws would need a larger (different) pool, so those are capped instead.
    opt.pretraining_samples = std::max(opt.pretraining_samples, K);
    const EvalSet eval(data, train_pool, opt);
    std::size_t s = 0;
    try {
      s = eval.find(split_name);
    } catch (const InputError& e) {
      throw InputError(std::string(e.what()) + " (or train)");
    }
    if (!eval.valid(s)) std::fprintf(stderr, "iclsweep sample: warning: %s\n", eval.invalid_reason(s).c_str());
    const auto& all = eval.positions(s);
    if (static_cast<std::size_t>(K) > all.size())
      throw InputError("split '" + split_name + "' has " + std::to_string(all.size()) + " sequences, fewer than --count " +
                       std::to_string(K) + ": lower --count or raise eval.num_eval_samples");
    positions.assign(all.begin(), all.begin() + K);
    for (int begin = 0; begin < K; begin += 100) {
      const int n = std::min(100, K - begin);
      eval.pool(s).assemble(positions.data() + begin, n, eval.splits()[s].flip, batch);
      append(batch, labels, classes, inputs, label_dist);
    }
  }

  const auto Kd = static_cast<hsize_t>(K), S = static_cast<hsize_t>(data.num_contexts + 1),
             D = static_cast<hsize_t>(data.num_dims), C = static_cast<hsize_t>(data.num_classes());
  h5::File file(out_path, h5::FileMode::Truncate);
  file.write_dataset<std::int32_t>("labels", {Kd, S}, labels)
      .set_attribute("description", std::string("observed labels: OOBD shift, then label noise; column L is the query target"));
  file.write_dataset<float>("inputs", {Kd, S, D}, inputs)
      .set_attribute("description", std::string("inputs mu_c + sigma * xi (sequence, position, feature)"));
  file.write_dataset<float>("label_dist", {Kd, C}, label_dist)
      .set_attribute("description", std::string("evaluation target from the clean shifted query (PAPER-SPEC 1.5)"));
  file.write_dataset<std::int32_t>("classes", {Kd, S}, classes)
      .set_attribute("description", std::string("clean classes after the OOBD shift, before label noise"));
  file.write_dataset<std::int64_t>("positions", {Kd}, positions)
      .set_attribute("description", std::string("pool positions the sequences were drawn from"));
  write_parameters(file, params);
  file.set_attribute("split", split_name);
  file.set_attribute("count", static_cast<std::int64_t>(K));
  file.set_attribute("iclsweep_version", std::string(build::version) + " (" + build::git_commit + ")");
  file.close();
  std::printf("wrote %d sequences of split '%s' to %s\n", K, split_name.c_str(), out_path.c_str());
  return kExitOk;
}

}  // namespace icl::cli
