#include "iclsweep/sweep/job.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "iclsweep/core/error.hpp"
#include "iclsweep/data/params.hpp"

namespace icl {

std::vector<ParamSpec> sweep_param_specs() {
  return {
      {"run.model_kind", ParamType::String, "transformer",
       "what each point runs: transformer (PAPER-SPEC §2), gated (§3), theory (§4 curves), online (Algorithm 1), "
       "omniglot (§5.3), lm_facts (the LM analog of §5.5)",
       {"transformer", "gated", "theory", "online", "omniglot", "lm_facts"}},
  };
}

// ---- point validators -------------------------------------------------------

namespace {

// Every broken data rule of a point at once (DataParams::from() stops at the first).
std::vector<std::string> data_point_errors(const ParamMap& p) {
  if (!p.values().count("data.dataset_size")) return {};  // registry without the data room (tests)
  // Omniglot takes Lo = C - H and D from its dataset: its model kind checks the data keys against it.
  if (p.values().count("run.model_kind") && p.get_string("run.model_kind") == "omniglot") return {};
  std::vector<std::string> out;
  try {
    for (const auto& e : DataParams::read(p).collect_errors()) out.push_back(e.what());
  } catch (const Error& e) {
    out.push_back(e.what());
  }
  return out;
}

struct ValidatorTable {
  std::mutex mutex;
  std::vector<std::pair<std::string, PointValidator>> list{{"data", data_point_errors}};
};
ValidatorTable& validator_table() {
  static ValidatorTable table;
  return table;
}

}  // namespace

void add_point_validator(const std::string& name, PointValidator validator) {
  auto& t = validator_table();
  std::lock_guard<std::mutex> lock(t.mutex);
  for (auto& [n, v] : t.list)
    if (n == name) {
      v = std::move(validator);
      return;
    }
  t.list.emplace_back(name, std::move(validator));
}

std::vector<std::pair<std::string, PointValidator>> point_validators() {
  auto& t = validator_table();
  std::lock_guard<std::mutex> lock(t.mutex);
  return t.list;
}

// ---- identity and cost ------------------------------------------------------

std::string to_hex64(std::uint64_t value) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(value));
  return buf;
}

std::string identity_text(const ParamMap& params, const ParamRegistry& registry) {
  std::string out;
  for (const auto& [key, value] : params.values()) {
    const ParamSpec* spec = registry.find(key);
    if (spec && spec->default_value == value) continue;
    if (!out.empty()) out += ';';
    out += key + '=' + value;
  }
  return out;
}

std::string point_id(const ParamMap& params, const ParamRegistry& registry) {
  const std::string text = identity_text(params, registry);
  return to_hex64(XXH64(text.data(), text.size(), 0));
}

std::string JobPoint::describe() const {
  if (grid_values.empty()) return "the single point";
  std::string s;
  for (const auto& [k, v] : grid_values) s += (s.empty() ? "" : ", ") + k + "=" + v;
  return s;
}


double ms_per_token_step() {
  if (const char* env = std::getenv("ICLSWEEP_MS_PER_TOKEN_STEP")) {
    char* end = nullptr;
    const double v = std::strtod(env, &end);
    if (*end == '\0' && v > 0) return v;
    throw InputError("ICLSWEEP_MS_PER_TOKEN_STEP='" + std::string(env) + "': expected a positive number of milliseconds");
  }
  return kDefaultMsPerTokenStep;
}

double core_hours(double cost, double ms) { return cost * ms / 3.6e6; }

// ---- parsing ----------------------------------------------------------------

namespace {

// Sections of fixed values are the registry's key prefixes (data, model, train, eval, run, theory, ...),
// so a room that registers new keys gets its section without touching the parser.
std::vector<std::string> fixed_sections(const ParamRegistry& registry) {
  std::vector<std::string> sections;
  for (const auto& spec : registry.specs()) {
    const std::string section = spec.key.substr(0, spec.key.find('.'));
    if (std::find(sections.begin(), sections.end(), section) == sections.end()) sections.push_back(section);
  }
  return sections;
}

constexpr const char* kSeedKey = "data.seed";
constexpr std::size_t kMaxPointProblems = 50;

// Collects "where: message" lines; where = "file:line", "file" or "--set 'k=v'".
class Problems {
 public:
  explicit Problems(std::string file) : file_(std::move(file)) {}
  void at_line(int line, const std::string& msg) {
    lines_.emplace_back(line > 0 ? line : kNoLine, line > 0 ? file_ + ":" + std::to_string(line) + ": " + msg : file_ + ": " + msg);
  }
  void at_override(const std::string& assignment, const std::string& msg) {
    lines_.emplace_back(kOverride, "--set '" + assignment + "': " + msg);
  }
  bool empty() const { return lines_.empty(); }
  std::size_t count() const { return lines_.size(); }
  void throw_if_any() const {
    if (lines_.empty()) return;
    std::string msg = std::to_string(lines_.size()) + (lines_.size() == 1 ? " problem" : " problems") +
                      " in job " + file_ + " (nothing was run):";
    auto sorted = lines_;  // file order, then problems without a line, then --set problems
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& l : sorted) msg += "\n  " + l.second;
    throw InputError(msg);
  }

 private:
  static constexpr int kNoLine = 1 << 30, kOverride = kNoLine + 1;
  std::string file_;
  std::vector<std::pair<int, std::string>> lines_;
};

struct FixedValue {
  std::string value;  // canonical
  int line = 0;
};

// An axis while the job is being assembled: may come from the file or an override.
struct PendingAxis {
  GridAxis axis;
  bool is_seed = false;
};

std::string nearest_section(const std::string& name, const std::vector<std::string>& sections) {
  std::string best;
  std::size_t best_d = 3;
  for (const auto& s : sections) {
    const auto d = edit_distance(name, s);
    if (d < best_d) best_d = d, best = s;
  }
  return best;
}

// Canonical values of a list for one key; every bad item is reported. Duplicate values are reported
// and dropped (they would only produce duplicate points).
std::vector<std::string> canonical_list(const ParamSpec& spec, const std::string& text,
                                        const std::function<void(const std::string&)>& report) {
  std::vector<std::string> raw;
  try {
    raw = expand_value_list(text);
  } catch (const InputError& e) {
    report("'" + spec.key + "': " + e.what());
    return {};
  }
  std::vector<std::string> out;
  for (const auto& item : raw) {
    std::string v;
    try {
      v = canonical_value(spec, item);
    } catch (const InputError& e) {
      report(e.what());
      continue;
    }
    if (std::find(out.begin(), out.end(), v) != out.end()) {
      report("'" + spec.key + "': value " + v + (item != v ? " (written " + item + ")" : "") +
             " appears twice in the list; remove the repeat");
      continue;
    }
    out.push_back(v);
  }
  return out;
}

}  // namespace

Job Job::load(const std::string& path, const std::vector<std::string>& overrides, const ParamRegistry& registry) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot open job file '" + path + "': check the path (job files live in jobs/)");
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path, overrides, registry);
}

Job Job::parse(const std::string& text, const std::string& source_name, const std::vector<std::string>& overrides,
               const ParamRegistry& registry) {
  Job job;
  job.source_name_ = source_name;
  job.file_text_ = text;
  job.overrides_ = overrides;
  Problems problems(source_name);

  // Pass 1: scan lines the way Boost.Program_options reads a config file ('#' to end of line is a comment,
  // "[section]", "name = value"), keeping line numbers, which Boost does not report.
  std::map<std::string, FixedValue> fixed;
  std::vector<PendingAxis> axes;
  std::map<std::string, int> fixed_lines, grid_lines;  // full key -> first line it was set on
  const std::vector<std::string> sections = [&] {
    auto s = fixed_sections(registry);
    s.push_back("grid");
    return s;
  }();
  std::string section_list;
  for (const auto& s : sections) section_list += (section_list.empty() ? "[" : " [") + s + "]";
  std::string section;
  bool section_ok = false;
  int grid_line = 0;
  std::istringstream lines(text);
  std::string raw_line;
  for (int line_no = 1; std::getline(lines, raw_line); ++line_no) {
    std::string line = raw_line;
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    line = trim(line);
    if (line.empty()) continue;
    if (line.front() == '[') {
      if (line.back() != ']') {
        problems.at_line(line_no, "'" + line + "': a section header is [name]");
        section_ok = false;
        continue;
      }
      section = trim(line.substr(1, line.size() - 2));
      section_ok = std::find(sections.begin(), sections.end(), section) != sections.end();
      if (section == "grid" && !grid_line) grid_line = line_no;
      if (!section_ok) {
        const auto near = nearest_section(section, sections);
        problems.at_line(line_no, "unknown section [" + section + "]" +
                                      (near.empty() ? "" : "; did you mean [" + near + "]?") + " Sections: " + section_list);
      }
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos || eq == 0) {
      problems.at_line(line_no, "'" + line + "': expected 'name = value' or a [section] header");
      continue;
    }
    if (section.empty()) {
      problems.at_line(line_no, "'" + line + "' comes before any [section]: put it under one of " + section_list);
      continue;
    }
    if (!section_ok) continue;  // already reported the section; its keys would only add noise
    const std::string name = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    auto note_duplicate = [&](std::map<std::string, int>& first_line, const std::string& key) {
      const auto it = first_line.find(key);
      if (it == first_line.end()) {
        first_line[key] = line_no;
        return false;
      }
      problems.at_line(line_no, "'" + key + "' is set twice (first on line " + std::to_string(it->second) +
                                    "): keep one");
      return true;
    };

    if (section == "grid") {
      const bool is_seed = name == "seeds" || name == kSeedKey;
      const ParamSpec* spec = nullptr;
      if (is_seed) {
        spec = registry.find(kSeedKey);
        if (!spec) {
          problems.at_line(line_no, "'seeds' needs the key data.seed, which this build does not register");
          continue;
        }
      } else {
        try {
          spec = &registry.resolve(name);
        } catch (const InputError& e) {
          problems.at_line(line_no, std::string(e.what()) + " ([grid] keys are full keys such as data.dataset_size)");
          continue;
        }
      }
      if (note_duplicate(grid_lines, spec->key)) continue;
      auto values = canonical_list(*spec, value, [&](const std::string& m) { problems.at_line(line_no, m); });
      axes.push_back({GridAxis{spec->key, std::move(values), line_no}, is_seed});
      continue;
    }

    // A fixed value: "[data] num_contexts = 4" is data.num_contexts.
    if (name.find('.') != std::string::npos) {
      problems.at_line(line_no, "'" + name + "' inside [" + section + "]: write the short name ('" +
                                    name.substr(name.rfind('.') + 1) + "') or move it to [grid] with a value list");
      continue;
    }
    const std::string key = section + "." + name;
    const ParamSpec* spec = registry.find(key);
    if (!spec) {
      try {
        registry.resolve(key);  // only for its "did you mean" message
      } catch (const InputError& e) {
        problems.at_line(line_no, e.what());
      }
      continue;
    }
    if (note_duplicate(fixed_lines, key)) continue;
    try {
      fixed[key] = FixedValue{canonical_value(*spec, value), line_no};
    } catch (const InputError& e) {
      problems.at_line(line_no, e.what());
    }
  }

  // A key cannot be both fixed and swept.
  for (const auto& a : axes) {
    const auto it = fixed.find(a.axis.key);
    if (it != fixed.end())
      problems.at_line(a.axis.line, "'" + a.axis.key + "' is both a fixed value (line " + std::to_string(it->second.line) +
                                        ") and a [grid] key: remove one of them");
  }

  // Pass 2: --set overrides, after the file.
  auto find_axis = [&](const std::string& key) -> PendingAxis* {
    for (auto& a : axes)
      if (a.axis.key == key) return &a;
    return nullptr;
  };
  for (const auto& assignment : overrides) {
    const auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0) {
      problems.at_override(assignment, "expected key=value (e.g. --set train.steps=2000, --set grid.data.dataset_size=2^6,2^8, --set seeds=0..1)");
      continue;
    }
    std::string key = trim(assignment.substr(0, eq));
    const std::string value = assignment.substr(eq + 1);
    auto report = [&](const std::string& m) { problems.at_override(assignment, m); };
    bool grid_form = false;
    if (key.rfind("grid.", 0) == 0) {
      grid_form = true;
      key = key.substr(5);
    }
    const bool is_seed_list = key == "seeds";
    const ParamSpec* spec = nullptr;
    try {
      spec = &registry.resolve(is_seed_list ? std::string(kSeedKey) : key);
    } catch (const InputError& e) {
      report(e.what());
      continue;
    }
    PendingAxis* axis = find_axis(spec->key);
    if (is_seed_list && !axis) {
      // --set seeds=... adds a seed axis to a job without one (it replaces a fixed data.seed).
      fixed.erase(kSeedKey);
      axes.push_back({GridAxis{kSeedKey, {}, 0}, true});
      axis = &axes.back();
    }
    if (grid_form && !axis) {
      std::string keys;
      for (const auto& a : axes) keys += (keys.empty() ? "" : ", ") + a.axis.key;
      report("'" + spec->key + "' is not a [grid] key of this job (grid keys: " + (keys.empty() ? "none" : keys) +
             "); to set a fixed value write --set " + spec->key + "=VALUE");
      continue;
    }
    if (axis) {
      // A grid key: the override replaces its list (a single value collapses the axis to one point).
      axis->axis.values = canonical_list(*spec, value, report);
      axis->axis.line = 0;
      continue;
    }
    try {
      fixed[spec->key] = FixedValue{canonical_value(*spec, value), 0};
    } catch (const InputError& e) {
      report(e.what());
    }
  }

  // Base parameters and the ordered grid (seeds innermost).
  job.base_ = ParamMap::defaults(registry);
  for (const auto& [key, fv] : fixed) job.base_.set_raw(key, fv.value);
  // An axis left without values is already reported; leaving it out lets the other points still be checked.
  std::vector<GridAxis> ordered;
  for (const auto& a : axes)
    if (!a.is_seed && !a.axis.values.empty()) ordered.push_back(a.axis);
  for (const auto& a : axes)
    if (a.is_seed && !a.axis.values.empty()) ordered.push_back(a.axis);
  job.grid_ = Grid(std::move(ordered));

  // Points are checked even when there are problems above, so one run of the command lists everything.
  std::size_t n = 0;
  try {
    n = job.grid_.size();
  } catch (const InputError& e) {
    problems.at_line(grid_line, e.what());
  }

  // Line that a point-level message refers to: the grid or fixed key it names first, else [grid].
  auto line_for_message = [&](const std::string& msg) {
    std::size_t best_pos = std::string::npos;
    int best_line = grid_line;
    auto consider = [&](const std::string& key, int line) {
      const auto pos = msg.find(key);
      if (line > 0 && pos < best_pos) best_pos = pos, best_line = line;
    };
    for (const auto& a : job.grid_.axes()) consider(a.key, a.line);
    for (const auto& [key, fv] : fixed) consider(key, fv.line);
    return best_line;
  };

  const auto validators = point_validators();
  std::unordered_map<std::string, std::size_t> seen;  // canonical text -> first index
  std::size_t point_problems = 0;
  auto point_problem = [&](const JobPoint& pt, const std::string& msg) {
    if (++point_problems > kMaxPointProblems) return;
    problems.at_line(line_for_message(msg), "point " + std::to_string(pt.index) + " (" + pt.describe() + "): " + msg);
  };
  job.points_.reserve(n);
  std::string ids;  // concatenated ids, the input of the grid hash
  ids.reserve(n * 16);
  for (std::size_t i = 0; i < n; ++i) {
    JobPoint pt;
    pt.index = i;
    pt.params = job.base_;
    const auto values = job.grid_.values_at(i);
    for (std::size_t k = 0; k < values.size(); ++k) {
      const auto& key = job.grid_.axes()[k].key;
      pt.params.set_raw(key, values[k]);
      pt.grid_values.emplace_back(key, values[k]);
    }
    const std::string canon = identity_text(pt.params, registry);
    pt.id = to_hex64(XXH64(canon.data(), canon.size(), 0));
    const auto [it, fresh] = seen.emplace(canon, i);
    if (!fresh)
      point_problem(pt, "has the same parameters as point " + std::to_string(it->second) +
                            " (" + job.points_[it->second].describe() + "); every point must differ");
    for (const auto& [name, validate] : validators) {
      try {
        for (const auto& m : validate(pt.params)) point_problem(pt, m);
      } catch (const std::exception& e) {
        point_problem(pt, "the " + name + " check failed: " + e.what());
      }
    }
    ids += pt.id;
    job.points_.push_back(std::move(pt));
  }
  if (point_problems > kMaxPointProblems)
    problems.at_line(grid_line, "... and " + std::to_string(point_problems - kMaxPointProblems) +
                                    " more point problems (the first " + std::to_string(kMaxPointProblems) + " are listed)");
  problems.throw_if_any();

  job.grid_hash_ = to_hex64(XXH64(ids.data(), ids.size(), 0));
  return job;
}

std::string Job::text() const {
  std::string t = file_text_;
  if (overrides_.empty()) return t;
  if (!t.empty() && t.back() != '\n') t += '\n';
  t += "# --set overrides, applied after this file:\n";
  for (const auto& o : overrides_) t += "# --set " + o + "\n";
  return t;
}

}  // namespace icl
