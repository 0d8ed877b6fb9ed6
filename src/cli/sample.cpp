// `iclsweep sample --set KEY=VALUE ... --split NAME --count K --out FILE.h5`: writes K sequences of one
// split of the stylized distribution (PAPER-SPEC §1) exactly as the model would see them, for
// inspection in Python (h5py) and for checking the generator against the spec.
#include <boost/program_options.hpp>
#include <algorithm>
#include <cerrno>
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
#include "iclsweep/core/quote.hpp"
#include "iclsweep/data/pool.hpp"
#include "iclsweep/data/splits.hpp"
#include "iclsweep/store/h5.hpp"
#include "iclsweep/store/output_file.hpp"
#include "iclsweep/sweep/model_kinds.hpp"

namespace po = boost::program_options;

namespace icl::cli {

namespace {

// Most sequences one sample file may hold (the train split streams, so only the file's size bounds it).
constexpr long long kMaxSampleCount = (1LL << 31) - 1;

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

// Sequences go to the file in chunks of kChunkRows, so memory stays bounded whatever --count is
// (10^7 sequences used to die in std::bad_alloc while collecting them all first).
class SequenceWriter {
 public:
  static constexpr std::size_t kChunkRows = 8192;

  SequenceWriter(const h5::File& file, hsize_t K, hsize_t S, hsize_t D, hsize_t C)
      : labels_ds_(file.create_dataset<std::int32_t>("labels", {K, S})),
        inputs_ds_(file.create_dataset<float>("inputs", {K, S, D})),
        label_dist_ds_(file.create_dataset<float>("label_dist", {K, C})),
        classes_ds_(file.create_dataset<std::int32_t>("classes", {K, S})),
        positions_ds_(file.create_dataset<std::int64_t>("positions", {K})) {
    labels_ds_.set_attribute("description", std::string("observed labels: OOBD shift, then label noise; column L is the query target"));
    inputs_ds_.set_attribute("description", std::string("inputs mu_c + sigma * xi (sequence, position, feature)"));
    label_dist_ds_.set_attribute("description", std::string("evaluation target from the clean shifted query (PAPER-SPEC 1.5)"));
    classes_ds_.set_attribute("description", std::string("clean classes after the OOBD shift, before label noise"));
    positions_ds_.set_attribute("description", std::string("pool positions the sequences were drawn from"));
  }

  // Appends `batch` (B sequences, drawn from `positions`).
  void append(const Batch& batch, const std::int64_t* positions, std::size_t n) {
    labels_.insert(labels_.end(), batch.labels.begin(), batch.labels.end());
    classes_.insert(classes_.end(), batch.classes.begin(), batch.classes.end());
    inputs_.insert(inputs_.end(), batch.inputs.begin(), batch.inputs.end());
    label_dist_.insert(label_dist_.end(), batch.label_dist.begin(), batch.label_dist.end());
    positions_.insert(positions_.end(), positions, positions + n);
    if (positions_.size() >= kChunkRows) flush();
  }
  void flush() {
    const auto n = static_cast<hsize_t>(positions_.size());
    labels_ds_.write_rows(written_, n, labels_);
    inputs_ds_.write_rows(written_, n, inputs_);
    label_dist_ds_.write_rows(written_, n, label_dist_);
    classes_ds_.write_rows(written_, n, classes_);
    positions_ds_.write_rows(written_, n, positions_);
    written_ += n;
    labels_.clear(), classes_.clear(), inputs_.clear(), label_dist_.clear(), positions_.clear();
  }
  std::int64_t written() const { return static_cast<std::int64_t>(written_ + positions_.size()); }

 private:
  h5::Dataset labels_ds_, inputs_ds_, label_dist_ds_, classes_ds_, positions_ds_;
  std::vector<std::int32_t> labels_, classes_;
  std::vector<float> inputs_, label_dist_;
  std::vector<std::int64_t> positions_;
  hsize_t written_ = 0;
};

}  // namespace

int cmd_sample(const Args& args) {
  po::options_description visible(
      "iclsweep sample [options]: write sequences of one data split to an HDF5 file (datasets labels, inputs, "
      "label_dist, classes, positions; the split's effective data.* parameters as root attributes, the training "
      "value as training.<key> where the split differs)");
  std::string split_name = "train", out_path;
  bool overwrite = false;
  long long count = 100;
  visible.add_options()
      ("help,h", "show this help")
      ("set,s", po::value<std::vector<std::string>>()->composing(), "parameter KEY=VALUE (data.num_contexts=4); repeatable")
      ("split", po::value<std::string>(&split_name)->default_value("train"),
       "train (the training minibatches of steps 0, 1, ...), pretraining, or eval-<relevance>-<conditioning>[-flip_label]")
      ("count", po::value<long long>(&count)->default_value(100), "number of sequences K")
      ("out,o", po::value<std::string>(&out_path), "output file (.h5); refused if it exists, unless --overwrite")
      ("overwrite", po::bool_switch(&overwrite), "replace an existing file (never one a running sweep holds)");
  std::string footer = "\nSplits: train";
  for (const auto& s : evaluation_splits()) footer += ", " + s.name;
  footer += "\nKeys: iclsweep keys.\n";
  po::variables_map vm;
  if (!parse_command_line("sample", args, visible, footer, vm)) return kExitOk;
  if (!vm.count("out")) throw InputError("missing --out FILE.h5 (see iclsweep sample --help)");
  OutputFile::check_path(out_path, "--out");

  ParamMap params = ParamMap::defaults(registry());
  if (vm.count("set"))
    for (const auto& a : vm["set"].as<std::vector<std::string>>()) params.set_assignment(registry(), a);
  // Only for the kinds that train on these sequences: refuse the others, never mislead.
  if (const std::string name = params.get_string("run.model_kind"); !model_kind(name).reads_stylized_sequences()) {
    std::string readers;
    for (const auto& k : model_kind_names())
      if (model_kind(k).reads_stylized_sequences()) readers += (readers.empty() ? "" : ", ") + k;
    throw InputError("iclsweep sample writes the stylized distribution's sequences, which run.model_kind = " + name +
                     " does not train on; the kinds that do: " + readers);
  }
  const DataParams data = DataParams::from(params);

  // --count is checked against what the split can give and the size of the file before anything is drawn.
  const auto S = static_cast<hsize_t>(data.num_contexts + 1), D = static_cast<hsize_t>(data.num_dims),
             C = static_cast<hsize_t>(data.num_classes());
  const double bytes_per_sequence = 4.0 * (2 * S + S * D + C) + 8.0;  // labels, classes, inputs, label_dist, positions
  auto size_text = [&](long long k) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.0f bytes (%.3g GB)", bytes_per_sequence * static_cast<double>(k),
                  bytes_per_sequence * static_cast<double>(k) / 1e9);
    return std::string(buf);
  };
  const bool train_split = split_name == "train";
  // The train split is drawn step by step; pretraining draws one position list of --count entries, bounded
  // like eval.num_pretraining_samples; the evaluation splits have their fixed size (checked below).
  const long long max_count = train_split ? kMaxSampleCount : registry().resolve("eval.num_pretraining_samples").int_max;
  if (count < 1 || count > max_count)
    throw InputError("--count " + std::to_string(count) + ": must be between 1 and " + std::to_string(max_count) + " for split " +
                     quote(split_name) + (count > max_count ? " (" + std::to_string(count) + " sequences would be " + size_text(count) + ")" : "") +
                     "; lower --count");
  const auto K = static_cast<std::int64_t>(count);
  const auto Kd = static_cast<hsize_t>(K);
  const auto train_pool = std::make_shared<const Pool>(Pool::training(data));

  // The evaluation split (if one is asked for) is built and checked before the file is claimed.
  std::unique_ptr<const EvalSet> eval;
  std::size_t s = 0;
  // The distribution the sequences were actually drawn from: an evaluation split has its own pool (its
  // relevance, p', conditioning, flip and size); the training configuration is kept as training.<key>.
  DataParams effective = data;
  if (!train_split) {
    EvalOptions opt;
    opt.num_eval_samples = params.get_int32("eval.num_eval_samples");
    opt.pretraining_samples = params.get_int32("eval.num_pretraining_samples");
    if (params.has("eval.default_p_relevant_context")) opt.default_p_relevant = params.get_real("eval.default_p_relevant_context");
    // More pretraining draws only extend the same position list (one stream, drawn in order); more
    // evaluation draws would need a larger (different) pool, so those are capped instead.
    opt.pretraining_samples = std::max<int>(opt.pretraining_samples, static_cast<int>(K));
    eval = std::make_unique<const EvalSet>(data, train_pool, opt);
    try {
      s = eval->find(split_name);
    } catch (const InputError& e) {
      throw InputError(std::string(e.what()) + " (or train)");
    }
    if (!eval->valid(s)) std::fprintf(stderr, "iclsweep sample: warning: %s\n", eval->invalid_reason(s).c_str());
    if (static_cast<std::size_t>(K) > eval->positions(s).size())
      throw InputError("split " + quote(split_name) + " has " + std::to_string(eval->positions(s).size()) +
                       " sequences, fewer than --count " + std::to_string(K) + ": lower --count or raise eval.num_eval_samples");
    effective = eval->pool(s).params();
    effective.flip_label = eval->splits()[s].flip;
  }
  const int batch_size = params.get_int32("train.batch_size");
  if (batch_size < 1) throw ParamError("train.batch_size", std::to_string(batch_size), "must be >= 1");

  // The same way every command creates its file (store/output_file.hpp): never over an existing file
  // without --overwrite, never over a file a live writer holds, a temporary name, then a rename.
  const std::uint64_t data_bytes = 4 * (2 * Kd * S + Kd * S * D + Kd * C) + 8 * Kd;
  OutputFile out = OutputFile::claim(out_path, OutputRequest{overwrite, data_bytes + data_bytes / 8 + 256 * 1024, "sample file"});

  h5::File file;
  try {
    auto fapl = h5::PropertyList::file_access();
    fapl.sec2_driver().file_locking(false, true);  // our writer lock, not HDF5's flock (as for results files)
    file = h5::File(out.temp_path(), h5::FileMode::Exclusive, &fapl);
    out.reserve();
    // Sequences stream into the file chunk by chunk (SequenceWriter): memory does not grow with --count.
    SequenceWriter writer(file, Kd, S, D, C);
    std::vector<std::int64_t> positions;
    Batch batch;
    if (train_split) {
      // The minibatches training consumes, in step order (train.batch_size per step, the last one cut to K).
      for (std::int64_t step = 0; writer.written() < K; ++step) {
        training_positions(data.seed, train_pool->size(), step, batch_size, positions);
        positions.resize(static_cast<std::size_t>(std::min<std::int64_t>(batch_size, K - writer.written())));
        train_pool->assemble(positions, false, batch);
        writer.append(batch, positions.data(), positions.size());
      }
    } else {
      const auto& all = eval->positions(s);
      for (std::int64_t begin = 0; begin < K; begin += 100) {
        const int n = static_cast<int>(std::min<std::int64_t>(100, K - begin));
        eval->pool(s).assemble(all.data() + begin, n, eval->splits()[s].flip, batch);
        writer.append(batch, all.data() + begin, static_cast<std::size_t>(n));
      }
    }
    writer.flush();
    ParamMap effective_params = params;
    effective.write_to(effective_params);
    write_parameters(file, effective_params);
    for (const auto& [key, value] : params.values())  // what training would use, where the split differs
      if (key.compare(0, 5, "data.") == 0 && effective_params.get_string(key) != value && !value.empty())
        file.set_attribute("training." + key, value);
    file.set_attribute("split", split_name);
    file.set_attribute("count", static_cast<std::int64_t>(K));
    file.set_attribute("iclsweep_version", std::string(build::version) + " (" + build::git_commit + ")");
    file.flush();
    out.commit(file.contents_size());
    file.close();
  } catch (const StoreError& e) {
    if (out.committed()) throw;
    file.discard();
    throw out.failure(e);
  }
  std::printf("wrote %lld sequences of split %s to %s\n", static_cast<long long>(K), quote(split_name).c_str(),
              printable(out_path, 4 * kQuoteMaxChars).c_str());
  return kExitOk;
}

}  // namespace icl::cli
