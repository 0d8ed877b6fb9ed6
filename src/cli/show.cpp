// `iclsweep show R.h5 INDEX|ID`: one point of a results file: parameters, status, error, seed, rank,
// host, times, the selected checkpoint and why, and its metrics there.
#include <boost/program_options.hpp>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>
#include <sstream>

#include "iclsweep/cli/commands.hpp"
#include "iclsweep/cli/exit_codes.hpp"
#include "iclsweep/cli/options.hpp"
#include "iclsweep/cli/registry.hpp"
#include "iclsweep/cli/table.hpp"
#include "iclsweep/core/error.hpp"
#include "iclsweep/core/family.hpp"
#include "iclsweep/core/quote.hpp"
#include "iclsweep/store/merge.hpp"
#include "iclsweep/store/results_file.hpp"

namespace po = boost::program_options;

namespace icl::cli {

namespace {


std::size_t find_point(const ResultsFile& file, const std::string& token) {
  const auto ids = file.point_ids();
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] == token) return i;
  if (!token.empty() && token.find_first_not_of("0123456789") == std::string::npos) {
    std::size_t index = 0;
    const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
    if (ec == std::errc() && end == token.data() + token.size() && index < file.num_points()) return index;
    throw InputError("point index " + quote(token) + " is outside 0.." + std::to_string(file.num_points() - 1) + " of " +
                     printable(file.path(), 200));
  }
  throw InputError("no point with id " + quote(token) + " in " + printable(file.path(), 200) +
                   " (give a canonical index or a 16-hex-digit id, as `iclsweep list` / `status` print them)");
}

double scalar(const PointRecord& rec, const std::string& path) {
  const auto it = rec.fields.find(path);
  if (it == rec.fields.end() || it->second.values.empty()) return NAN;
  return it->second.values[0];
}

double at(const PointRecord& rec, const std::string& path, double index) {
  const auto it = rec.fields.find(path);
  if (it == rec.fields.end() || !(index >= 0) || index >= static_cast<double>(it->second.values.size())) return NAN;
  return it->second.values[static_cast<std::size_t>(index)];
}

// The selected checkpoint of one view of the point's kind (ModelKind::result_views: "" for the fields at the
// root) and every selected/<split>/<metric> there. Returns the scalar paths it printed.
std::set<std::string> print_view(const PointRecord& rec, const ResultView& view) {
  const std::string& prefix = view.prefix;
  std::set<std::string> used;
  const double index = scalar(rec, prefix + "selected/index");
  used.insert(prefix + "selected/index");
  used.insert(prefix + "selected/index_by_error");
  std::printf("\nselected checkpoint of %s: ", view.name.c_str());
  if (!(index >= 0)) {
    std::printf("none (no finite pretraining loss)\n");
  } else {
    std::printf("index %.0f, step %.0f: the last checkpoint with the minimal pretraining loss (%.4g) (PAPER-SPEC §6.1)\n",
                index, at(rec, prefix + "checkpoint/step", index), at(rec, prefix + "eval/pretraining/loss", index));
    const double by_error = scalar(rec, prefix + "selected/index_by_error");
    if (by_error >= 0)
      std::printf("  by the pretraining 0-1 error (the p_relevant figure): index %.0f, step %.0f (error %.4g)\n", by_error,
                  at(rec, prefix + "checkpoint/step", by_error), at(rec, prefix + "eval/pretraining/error", by_error));
  }
  // selected/<split>/<metric> as a split x metric table, with the view's extra heads as "<tag><metric>" columns
  // (the gated mixture's g and h: alpha/selected_iw/ as "g:<metric>", alpha/selected_ic/ as "h:<metric>").
  std::vector<std::pair<std::string, std::string>> heads = {{prefix + "selected/", ""}};
  heads.insert(heads.end(), view.extra_heads.begin(), view.extra_heads.end());
  std::map<std::string, std::map<std::string, double>> table;
  std::vector<std::string> metrics;
  for (const auto& [path, v] : rec.fields)
    for (const auto& [head, tag] : heads) {
    if (path.compare(0, head.size(), head) != 0 || !v.dims.empty()) continue;
    const auto rest = path.substr(head.size());
    const auto slash = rest.find('/');
    if (slash == std::string::npos) continue;
    const auto metric = tag + rest.substr(slash + 1);
    table[rest.substr(0, slash)][metric] = v.values[0];
    bool known = false;
    for (const auto& m : metrics) known = known || m == metric;
    if (!known) metrics.push_back(metric);
    used.insert(path);
    }
  if (table.empty()) return used;
  const std::vector<std::string> preferred = {"error", "loss", "context_fraction", "in_context_frac", "in_weight_frac",
                                            "other_frac", "p_iwl", "g:error", "h:error"};
  std::stable_sort(metrics.begin(), metrics.end(), [&](const std::string& a, const std::string& b) {
    auto rank = [&](const std::string& m) {
      for (std::size_t k = 0; k < preferred.size(); ++k)
        if (preferred[k] == m) return k;
      return preferred.size();
    };
    return rank(a) < rank(b);
  });
  Table t;
  std::vector<std::string> header = {"split"};
  header.insert(header.end(), metrics.begin(), metrics.end());
  t.header(header);
  auto row = [&](const std::string& split) {
    std::vector<std::string> r = {split};
    for (const auto& m : metrics) {
      const auto it = table[split].find(m);
      r.push_back(it == table[split].end() ? "-" : format_cell(it->second));
    }
    t.row(r);
  };
  if (table.count("pretraining")) row("pretraining");
  for (const auto& [split, _] : table)
    if (split != "pretraining") row(split);
  std::printf("metrics at that checkpoint (nan: a split meaningless for this point):\n%s", t.render().c_str());
  return used;
}

}  // namespace

int cmd_show(const Args& args) {
  std::string path, token;
  po::options_description desc("iclsweep show RESULTS.h5 INDEX|ID: one point's parameters, status, run and metrics");
  bool all_params = false;
  desc.add_options()("help,h", "this help")("all-params", po::bool_switch(&all_params),
                                              "also list the parameters at their defaults");
  po::options_description hidden;
  hidden.add_options()("file", po::value(&path), "results file")("point", po::value(&token), "index or id");
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("file", 1).add("point", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw InputError(std::string(e.what()) + " (see iclsweep show --help)");
  }
  if (vm.count("help")) {
    std::printf("%s", (std::ostringstream() << desc).str().c_str());
    std::printf("\nINDEX is the canonical point index, ID the 16-hex-digit point id (iclsweep list / status print "
                "both).\nCurves: analysis/plot.py RESULTS.h5 --curves INDEX\n");
    return kExitOk;
  }
  if (path.empty() || token.empty()) throw InputError("usage: iclsweep show RESULTS.h5 INDEX|ID (see --help)");

  const ResultsFile file = ResultsFile::open(path, /*writable=*/false);
  const std::size_t i = find_point(file, token);
  const PointMeta meta = file.meta(i);
  const ParamMap params = params_from_text(file.params_texts()[i]);
  const auto grid = file.grid_keys();
  std::printf("point %zu of %s: id %s, seed %lld, %s\n", i, printable(path, 200).c_str(), printable(file.point_ids()[i]).c_str(),
              static_cast<long long>(file.seeds()[i]), to_string(meta.status));
  std::printf("\nparameters (* = grid key):\n");
  for (const auto& k : grid)
    std::printf("  %-34s %s *\n", printable(k).c_str(), params.values().count(k) && !params.get_string(k).empty()
                                                  ? printable(params.get_string(k), 200).c_str() : "(unset)");
  const ParamMap defaults = ParamMap::defaults(registry());
  std::size_t at_default = 0;
  for (const auto& [k, v] : params.values()) {
    bool is_grid = false;
    for (const auto& g : grid) is_grid = is_grid || g == k;
    if (is_grid) continue;
    const auto d = defaults.values().find(k);
    if (!all_params && d != defaults.values().end() && d->second == v) {
      ++at_default;
      continue;
    }
    std::printf("  %-34s %s\n", printable(k).c_str(), v.empty() ? "(unset)" : printable(v, 200).c_str());
  }
  if (at_default) std::printf("  ... and %zu more at their defaults (--all-params lists them)\n", at_default);
  if (meta.status == PointStatus::Pending) {
    std::printf("\nnot run yet%s\n", ResultsFile::writer_active(path) ? " (a sweep is writing this file now)" : "");
    return kExitOk;
  }
  std::printf("\nrun: rank %d on %s, started %s, ended %s, wall time %s s\n", meta.rank,
              meta.host.empty() ? "?" : printable(meta.host).c_str(), format_utc(meta.start_time, /*zone=*/true).c_str(), format_utc(meta.end_time, /*zone=*/true).c_str(),
              format_cell(meta.wall_time).c_str());
  if (meta.status == PointStatus::Failed) {
    std::printf("error: %s\n", printable(meta.error, 600).c_str());
    return kExitOk;
  }
  const PointRecord rec = file.read_point(i);
  std::set<std::string> used;
  // The point's kind lays out its views; a kind this binary does not know shows the fields at the root.
  std::vector<ResultView> views = {{"", "the model", {}}};
  if (params.values().count("run.model_kind"))
    if (const ModelKind* kind = families().find_kind(params.get_string("run.model_kind"))) views = kind->result_views();
  for (const auto& view : views)
    if (scalar(rec, view.prefix + "selected/index") >= 0) {  // -1 / NaN: another kind's field
      const auto u = print_view(rec, view);
      used.insert(u.begin(), u.end());
    }
  std::vector<std::pair<std::string, double>> others;
  std::size_t curves = 0;
  for (const auto& [p, v] : rec.fields) {
    if (used.count(p)) continue;
    if (v.dims.empty()) {
      const FieldSpec* spec = file.schema().find(p);
      const bool unset_int = spec && spec->type == FieldType::Int32 && v.values[0] == -1;  // int fill value
      if (std::isfinite(v.values[0]) && !unset_int) others.emplace_back(p, v.values[0]);
    } else {
      ++curves;
    }
  }
  if (!others.empty()) {
    std::printf("\nother scalars:\n");
    for (const auto& [p, v] : others) std::printf("  %-50s %s\n", p.c_str(), format_cell(v).c_str());
  }
  std::printf("\n%zu recorded curves (e.g. train/loss, eval/<split>/error): analysis/plot.py %s --curves %zu\n", curves,
              path.c_str(), i);
  return kExitOk;
}

}  // namespace icl::cli
