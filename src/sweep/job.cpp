#include "iclsweep/sweep/job.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/family.hpp"
#include "iclsweep/core/quote.hpp"
#include "iclsweep/data/params.hpp"
#include "iclsweep/sweep/model_kinds.hpp"

namespace icl {

namespace {
// Every family's kinds (src/kinds/), as "theory, online (family theory_curves: PAPER-SPEC §4 ...); ..." for
// run.model_kind's help.
std::string family_kinds_help() {
  std::string out;
  for (const auto& f : families().all()) {
    std::string kinds;
    for (const auto& k : f.kinds) kinds += (kinds.empty() ? "" : ", ") + k->name();
    out += (out.empty() ? "" : "; ") + kinds + " (family " + f.name + ": " + f.summary + ")";
  }
  return out;
}
}  // namespace

// run.model_kind's default is part of the results' identity (a point's hash leaves defaults out), so it
// stays "transformer" whatever the families are.
std::vector<ParamSpec> sweep_param_specs() {
  return {
      {"run.model_kind", ParamType::String, "transformer",
       "what each point runs: one of the families' model kinds (docs/families.md): " + family_kinds_help(),
       model_kind_names()},
  };
}

// ---- point validators -------------------------------------------------------

namespace {

// Every broken data rule of a point at once (DataParams::from() stops at the first).
std::vector<std::string> data_point_errors(const ParamMap& p) {
  if (!p.values().count("data.dataset_size")) return {};  // registry without the data room (tests)
  // A kind that reads its data elsewhere (Omniglot takes Lo = C - H and D from its dataset) checks the data keys itself.
  if (p.values().count("run.model_kind"))
    if (const ModelKind* kind = families().find_kind(p.get_string("run.model_kind")); kind && !kind->follows_stylized_data_rules())
      return {};
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
  for (const auto& [k, v] : grid_values) s += (s.empty() ? "" : ", ") + k + "=" + printable(v);
  return s;
}



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
constexpr std::size_t kMaxListProblems = 10;  // per value list: a 10^6-item typo gives 10 lines and a count
constexpr std::uintmax_t kMaxJobFileBytes = 64u << 20;
constexpr const char* kBom = "\xEF\xBB\xBF";

// Where a value came from: a line of the file, a --set argument, or neither (a registry default).
struct Source {
  int line = 0;
  std::string override_text;  // the --set argument when the value came from one
};

// Collects "where: message" lines; where = "file:line", "file" or "--set 'k=v'".
class Problems {
 public:
  explicit Problems(std::string file) : file_(std::move(file)) {}
  void at_line(int line, const std::string& msg) {
    if (full()) return;
    lines_.emplace_back(line > 0 ? line : kNoLine, line > 0 ? file_ + ":" + std::to_string(line) + ": " + msg : file_ + ": " + msg);
  }
  void at_override(const std::string& assignment, const std::string& msg) {
    if (full()) return;
    lines_.emplace_back(kOverride, "--set " + quote(assignment) + ": " + msg);
  }
  void at(const Source& where, const std::string& msg) {
    if (!where.override_text.empty())
      at_override(where.override_text, msg);
    else
      at_line(where.line, msg);
  }
  bool empty() const { return lines_.empty(); }
  std::size_t count() const { return lines_.size() + dropped_; }
  void throw_if_any() const {
    if (lines_.empty()) return;
    const std::size_t total = count();
    std::string msg = std::to_string(total) + (total == 1 ? " problem" : " problems") + " in job " + file_ + " (nothing was run):";
    auto sorted = lines_;  // file order, then problems without a line, then --set problems
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& l : sorted) msg += "\n  " + l.second;
    if (dropped_)
      msg += "\n  ... and " + std::to_string(dropped_) + " more problems (the first " + std::to_string(kMaxProblems) +
             " are listed): is this a job file?";
    throw InputError(msg);
  }

 private:
  // A 64 MiB file of bad lines must not become gigabytes of messages.
  static constexpr std::size_t kMaxProblems = 200;
  bool full() {
    if (lines_.size() < kMaxProblems) return false;
    ++dropped_;
    return true;
  }
  std::size_t dropped_ = 0;
  static constexpr int kNoLine = 1 << 30, kOverride = kNoLine + 1;
  std::string file_;
  std::vector<std::pair<int, std::string>> lines_;
};

struct FixedValue {
  std::string value;  // canonical
  Source source;
};

// An axis while the job is being assembled: may come from the file or an override.
struct PendingAxis {
  GridAxis axis;
  bool is_seed = false;
  std::string override_text;  // the --set that replaced its list, if one did
};

std::string nearest_section(const std::string& name, const std::vector<std::string>& sections) {
  std::string best;
  if (name.size() > 2 * kQuoteMaxChars) return best;  // no section is that long
  std::size_t best_d = 3;
  for (const auto& s : sections) {
    const auto d = edit_distance(name, s);
    if (d < best_d) best_d = d, best = s;
  }
  return best;
}

// Canonical values of a list for one key; every bad item is reported (the first kMaxListProblems, then a
// count). Duplicate values are reported and dropped (they would only produce duplicate points); they are
// found with a hash set, so a long list costs linear time.
std::vector<std::string> canonical_list(const ParamSpec& spec, const std::string& text,
                                        const std::function<void(const std::string&)>& report) {
  std::vector<std::string> raw;
  try {
    raw = expand_value_list(text, Grid::kMaxPoints);
  } catch (const InputError& e) {
    report("'" + spec.key + "': " + e.what());
    return {};
  }
  std::vector<std::string> out;
  out.reserve(raw.size());
  std::unordered_set<std::string> seen;
  seen.reserve(raw.size());
  std::size_t problems = 0;
  auto problem = [&](const std::string& m) {
    if (++problems <= kMaxListProblems) report(m);
  };
  for (auto& item : raw) {
    std::string v;
    try {
      v = canonical_value(spec, item);
    } catch (const InputError& e) {
      problem(e.what());
      continue;
    }
    if (!seen.insert(v).second) {
      problem("'" + spec.key + "': value " + printable(v) + (item != v ? " (written " + printable(item) + ")" : "") +
              " appears twice in the list; remove the repeat");
      continue;
    }
    out.push_back(std::move(v));
  }
  if (problems > kMaxListProblems)
    report("'" + spec.key + "': ... and " + std::to_string(problems - kMaxListProblems) +
           " more problems in this value list (the first " + std::to_string(kMaxListProblems) + " are listed)");
  return out;
}

// First position of `key` in `msg` as a whole name (not inside data.num_contexts_x or a.data.num_contexts).
std::size_t find_key(const std::string& msg, const std::string& key) {
  const auto name_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; };
  for (auto at = msg.find(key); at != std::string::npos; at = msg.find(key, at + 1)) {
    const bool starts = at == 0 || !name_char(msg[at - 1]);
    const std::size_t end = at + key.size();
    const bool ends = end == msg.size() || !name_char(msg[end]) || (msg[end] == '.' && (end + 1 == msg.size() || msg[end + 1] == ' '));
    if (starts && ends) return at;
  }
  return std::string::npos;
}

// Refuses what cannot be a job file before it is read as one: a directory (read as an empty job, it
// used to train one default point), a device or FIFO, a file too large for a job.
void check_job_path(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status))
    throw InputError("cannot open job file " + quote(path) + ": no such file; check the path (job files live in jobs/)");
  if (fs::is_directory(status))
    throw InputError("job file " + quote(path) + " is a directory: give one job file (.ini) inside it, e.g. " +
                     printable((fs::path(path) / "local.ini").string()));
  if (!fs::is_regular_file(status))
    throw InputError("job file " + quote(path) + " is not a regular file (a device, FIFO or socket): give a .ini job file");
  const auto size = fs::file_size(path, ec);
  if (!ec && size > kMaxJobFileBytes)
    throw InputError("job file " + quote(path) + " is " + std::to_string(size) + " bytes, more than the " +
                     std::to_string(kMaxJobFileBytes >> 20) + " MiB a job file may have: is it a job file?");
}

// A job file is text: NUL bytes, invalid UTF-8 or control characters in more than a few places mean
// something else (a results file, an archive) was given. Returns the reason, or "" for text.
std::string binary_reason(const std::string& text) {
  std::size_t bad = 0, first_bad = std::string::npos;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t n = utf8_sequence_length(text, i);
    const bool control = n == 1 && c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f';
    if (n == 0 || control || c == 0x7F) {
      if (first_bad == std::string::npos) first_bad = i;
      ++bad;
      i += 1;
    } else {
      i += n;
    }
  }
  // Known binary formats a user may mistake for a job: HDF5 (a results or sample file), zip, gzip, ELF, PNG.
  static const char* const kMagic[] = {"\x89HDF\r\n\x1a\n", "PK\x03\x04", "\x1f\x8b", "\x7f" "ELF", "\x89PNG"};
  bool magic = false;
  for (const char* m : kMagic) magic = magic || text.compare(0, std::strlen(m), m) == 0;
  // A stray byte or two in a text file is reported at its line, with its key; more is not text.
  if (!magic && bad <= 8) return "";
  if (magic) return "it begins with the signature of a binary format (HDF5, zip, gzip, ELF or PNG)";
  char byte[8];
  std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[first_bad]));
  return std::to_string(bad) + " bytes that are not text, the first (" + byte + ") at offset " + std::to_string(first_bad);
}

}  // namespace

Job Job::load(const std::string& path, const std::vector<std::string>& overrides, const ParamRegistry& registry,
              const PointCheckProgress& progress) {
  check_job_path(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot open job file " + quote(path) + ": check the path and its permissions");
  std::ostringstream content;
  content << in.rdbuf();
  std::string text = content.str();
  if (text.compare(0, 3, kBom) == 0) text.erase(0, 3);  // editors on Windows write one; it is not part of the text
  if (const std::string why = binary_reason(text); !why.empty())
    throw InputError("job file " + quote(path) + " is not text (binary file?): " + why +
                     "; give the .ini job file (results files are .h5, see docs/job-files.md)");
  bool has_setting = false;
  {
    std::istringstream lines(text);
    for (std::string line; !has_setting && std::getline(lines, line);) {
      if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
      has_setting = !trim(line).empty();
    }
  }
  if (!has_setting)
    throw InputError("job file " + quote(path) + (text.empty() ? " is empty" : " has no settings (only comments and blank lines)") +
                     ": a job names at least what it runs, e.g. the two lines `[run]` and `model_kind = transformer` "
                     "(docs/job-files.md); for one point from --set options use `iclsweep train`");
  return parse(text, path, overrides, registry, progress);
}

namespace {

// What the job file and the --set overrides say: fixed values and grid axes, each with where it came from.
struct JobSettings {
  std::map<std::string, FixedValue> fixed;
  std::vector<PendingAxis> axes;
  int grid_line = 0;  // the first [grid] header (0 = none): where grid-wide problems are reported
};

// Notes that `key` is set on `line_no`; false (and a problem) when an earlier line set it already.
bool first_setting(std::map<std::string, int>& first_line, const std::string& key, int line_no, Problems& problems) {
  const auto it = first_line.find(key);
  if (it == first_line.end()) {
    first_line[key] = line_no;
    return true;
  }
  problems.at_line(line_no, "'" + key + "' is set twice (first on line " + std::to_string(it->second) + "): keep one");
  return false;
}

// "[grid] data.dataset_size = 2^6, 2^8" (or "seeds = 0..3"): one axis.
void scan_grid_entry(const std::string& name, const std::string& value, int line_no, const ParamRegistry& registry,
                     std::map<std::string, int>& grid_lines, JobSettings& settings, Problems& problems) {
  const bool is_seed = name == "seeds" || name == kSeedKey;
  const ParamSpec* spec = nullptr;
  if (is_seed) {
    spec = registry.find(kSeedKey);
    if (!spec) {
      problems.at_line(line_no, "'seeds' needs the key data.seed, which this build does not register");
      return;
    }
  } else {
    try {
      spec = &registry.resolve(name);
    } catch (const InputError& e) {
      problems.at_line(line_no, std::string(e.what()) + " ([grid] keys are full keys such as data.dataset_size)");
      return;
    }
  }
  if (!first_setting(grid_lines, spec->key, line_no, problems)) return;
  auto values = canonical_list(*spec, value, [&](const std::string& m) { problems.at_line(line_no, m); });
  settings.axes.push_back({GridAxis{spec->key, std::move(values), line_no}, is_seed, ""});
}

// A fixed value: "[data] num_contexts = 4" is data.num_contexts.
void scan_fixed_entry(const std::string& section, const std::string& name, const std::string& value, int line_no,
                      const ParamRegistry& registry, std::map<std::string, int>& fixed_lines, JobSettings& settings,
                      Problems& problems) {
  if (name.find('.') != std::string::npos) {
    problems.at_line(line_no, quote(name) + " inside [" + section + "]: write the short name (" +
                                  quote(name.substr(name.rfind('.') + 1)) + ") or move it to [grid] with a value list");
    return;
  }
  const std::string key = section + "." + name;
  const ParamSpec* spec = registry.find(key);
  if (!spec) {
    try {
      registry.resolve(key);  // only for its "did you mean" message
    } catch (const InputError& e) {
      problems.at_line(line_no, e.what());
    }
    return;
  }
  if (!first_setting(fixed_lines, key, line_no, problems)) return;
  try {
    settings.fixed[key] = FixedValue{canonical_value(*spec, value), Source{line_no, ""}};
  } catch (const InputError& e) {
    problems.at_line(line_no, e.what());
  }
}

// The scanner: reads lines the way Boost.Program_options reads a config file ('#' to end of line is a
// comment, "[section]", "name = value"), keeping line numbers, which Boost does not report. Every value
// is checked against its key's spec here; a key that is both fixed and swept is a problem.
JobSettings scan_job_text(const std::string& text, const ParamRegistry& registry, Problems& problems) {
  JobSettings settings;
  const auto& fixed = settings.fixed;
  const auto& axes = settings.axes;
  int& grid_line = settings.grid_line;
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
  std::istringstream lines(text);
  std::string raw_line;
  for (int line_no = 1; std::getline(lines, raw_line); ++line_no) {
    std::string line = raw_line;
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    line = trim(line);
    if (line.empty()) continue;
    if (line.front() == '[') {
      if (line.back() != ']') {
        problems.at_line(line_no, quote(line) + ": a section header is [name]");
        section_ok = false;
        continue;
      }
      section = trim(line.substr(1, line.size() - 2));
      section_ok = std::find(sections.begin(), sections.end(), section) != sections.end();
      if (section == "grid" && !grid_line) grid_line = line_no;
      if (!section_ok) {
        const auto near = nearest_section(section, sections);
        problems.at_line(line_no, "unknown section [" + printable(section) + "]" +
                                      (near.empty() ? "" : "; did you mean [" + near + "]?") + " Sections: " + section_list);
      }
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos || eq == 0) {
      problems.at_line(line_no, quote(line) + ": expected 'name = value' or a [section] header");
      continue;
    }
    if (section.empty()) {
      problems.at_line(line_no, quote(line) + " comes before any [section]: put it under one of " + section_list);
      continue;
    }
    if (!section_ok) continue;  // already reported the section; its keys would only add noise
    const std::string name = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (section == "grid")
      scan_grid_entry(name, value, line_no, registry, grid_lines, settings, problems);
    else
      scan_fixed_entry(section, name, value, line_no, registry, fixed_lines, settings, problems);
  }

  // A key cannot be both fixed and swept.
  for (const auto& a : axes) {
    const auto it = fixed.find(a.axis.key);
    if (it != fixed.end())
      problems.at_line(a.axis.line, "'" + a.axis.key + "' is both a fixed value (line " + std::to_string(it->second.source.line) +
                                        ") and a [grid] key: remove one of them");
  }

  return settings;
}

// The --set overrides, applied after the file: "key=value" replaces a fixed value, a grid key's list or
// adds one ("grid.key=list"); "seeds=..." adds a seed axis to a job without one.
void apply_overrides(const std::vector<std::string>& overrides, const ParamRegistry& registry, JobSettings& settings,
                     Problems& problems) {
  auto& fixed = settings.fixed;
  auto& axes = settings.axes;
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
      axes.push_back({GridAxis{kSeedKey, {}, 0}, true, ""});
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
      axis->override_text = assignment;
      continue;
    }
    try {
      fixed[spec->key] = FixedValue{canonical_value(*spec, value), Source{0, assignment}};
    } catch (const InputError& e) {
      report(e.what());
    }
  }

}

// The point checker: builds each of the job's `n` points once, runs every point validator on it and
// reports each message at the key it names (a grid key's message per point, any other once with the number
// of points it hits); finds duplicate points. Returns the grid hash (xxh64 over the ordered point ids).
std::string check_points(const Job& job, std::size_t n, const std::map<std::string, FixedValue>& fixed,
                         const std::vector<std::string>& axis_overrides, int grid_line, const ParamRegistry& registry,
                         const PointCheckProgress& progress, Problems& problems) {
  // Where a point-level message comes from: the grid or fixed key it names first, else the [grid] line.
  // A message about a grid key is the point's own; any other is the same for every point that has it.
  struct Origin {
    Source source;
    bool grid_key = false;
  };
  auto origin_of = [&](const std::string& msg) {
    std::size_t best_pos = std::string::npos;
    Origin best{Source{grid_line, ""}, false};
    auto consider = [&](const std::string& key, const Source& source, bool grid_key) {
      const auto pos = find_key(msg, key);
      if ((source.line > 0 || !source.override_text.empty()) && pos < best_pos) best_pos = pos, best = Origin{source, grid_key};
    };
    for (std::size_t k = 0; k < job.grid().axes().size(); ++k)
      consider(job.grid().axes()[k].key, Source{job.grid().axes()[k].line, axis_overrides[k]}, true);
    for (const auto& [key, fv] : fixed) consider(key, fv.source, false);
    return best;
  };

  const auto validators = point_validators();
  std::size_t point_problems = 0;  // beyond kMaxPointProblems only counted
  auto point_problem = [&](const Source& where, const std::string& msg) {
    if (++point_problems > kMaxPointProblems) return;
    problems.at(where, msg);
  };
  // Messages that do not depend on a grid value, once each with the number of points they hit.
  struct Shared {
    Source source;
    std::size_t first = 0, count = 0;
    std::string first_point;
  };
  std::vector<std::pair<std::string, Shared>> shared;
  std::unordered_map<std::string, std::size_t> shared_index;

  // Points are built one at a time, checked and dropped: validation memory does not grow with the grid.
  // Duplicate detection keeps 16 bytes per point (id hash, index), sorted once at the end.
  std::vector<std::pair<std::uint64_t, std::size_t>> id_hashes;
  id_hashes.reserve(n);
  XXH64_state_t* hash_state = XXH64_createState();
  XXH64_reset(hash_state, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (progress && i % 4096 == 0) progress(i, n);
    const JobPoint pt = job.point(i);
    id_hashes.emplace_back(std::strtoull(pt.id.c_str(), nullptr, 16), i);
    XXH64_update(hash_state, pt.id.data(), pt.id.size());
    for (const auto& [name, validate] : validators) {
      std::vector<std::string> messages;
      try {
        messages = validate(pt.params);
      } catch (const std::exception& e) {
        messages = {"the " + name + " check failed: " + e.what()};
      }
      for (const auto& m : messages) {
        const Origin o = origin_of(m);
        if (o.grid_key) {
          point_problem(o.source, "point " + std::to_string(i) + " (" + pt.describe() + "): " + m);
          continue;
        }
        const auto [it, fresh] = shared_index.emplace(m, shared.size());
        if (fresh) {
          if (shared.size() >= kMaxPointProblems) {
            shared_index.erase(it);
            ++point_problems;
            continue;
          }
          shared.push_back({m, Shared{o.source, i, 0, pt.describe()}});
        }
        ++shared[it->second].second.count;
      }
    }
  }
  if (progress && n) progress(n, n);
  const std::string grid_hash = to_hex64(XXH64_digest(hash_state));
  XXH64_freeState(hash_state);

  for (const auto& [msg, s] : shared) {
    const std::string who = s.count == n && n > 1 ? "every point (" + std::to_string(n) + ")"
                            : s.count == 1       ? "point " + std::to_string(s.first) + " (" + s.first_point + ")"
                                                 : "point " + std::to_string(s.first) + " (" + s.first_point + ") and " +
                                                       std::to_string(s.count - 1) + " more points";
    problems.at(s.source, who + ": " + msg);
  }

  // Points with identical parameters (cannot arise once repeated values are rejected, but checked).
  std::sort(id_hashes.begin(), id_hashes.end());
  for (std::size_t k = 1; k < id_hashes.size(); ++k) {
    if (id_hashes[k].first != id_hashes[k - 1].first) continue;
    const JobPoint a = job.point(id_hashes[k - 1].second), b = job.point(id_hashes[k].second);
    if (identity_text(a.params, registry) != identity_text(b.params, registry)) continue;  // a hash collision
    point_problem(Source{grid_line, ""}, "point " + std::to_string(b.index) + " (" + b.describe() +
                                             ") has the same parameters as point " + std::to_string(a.index) + " (" +
                                             a.describe() + "); every point must differ");
  }
  if (point_problems > kMaxPointProblems)
    problems.at_line(grid_line, "... and " + std::to_string(point_problems - kMaxPointProblems) +
                                    " more point problems (the first " + std::to_string(kMaxPointProblems) + " are listed)");
  return grid_hash;
}

}  // namespace

Job Job::parse(const std::string& raw_text, const std::string& source_name, const std::vector<std::string>& overrides,
               const ParamRegistry& registry, const PointCheckProgress& progress) {
  Job job;
  job.source_name_ = source_name;
  job.file_text_ = raw_text;
  job.overrides_ = overrides;
  const std::string text = raw_text.compare(0, 3, kBom) == 0 ? raw_text.substr(3) : raw_text;
  Problems problems(printable(source_name, 4 * kQuoteMaxChars));

  JobSettings settings = scan_job_text(text, registry, problems);
  apply_overrides(overrides, registry, settings, problems);
  const auto& fixed = settings.fixed;
  const auto& axes = settings.axes;
  const int grid_line = settings.grid_line;

  // Base parameters and the ordered grid (seeds innermost).
  job.base_ = ParamMap::defaults(registry);
  job.defaults_ = job.base_;
  for (const auto& [key, fv] : fixed) job.base_.set_raw(key, fv.value);
  // An axis left without values is already reported; leaving it out lets the other points still be checked.
  std::vector<GridAxis> ordered;
  std::vector<std::string> axis_overrides;
  for (int seed_pass = 0; seed_pass < 2; ++seed_pass)
    for (const auto& a : axes)
      if (a.is_seed == (seed_pass == 1) && !a.axis.values.empty()) {
        ordered.push_back(a.axis);
        axis_overrides.push_back(a.override_text);
      }
  job.grid_ = Grid(std::move(ordered));

  // The point cap, from the axis lengths alone: nothing is built for a grid that is too large.
  std::size_t n = 0;
  try {
    n = job.grid_.size();
  } catch (const InputError& e) {
    problems.at_line(grid_line, e.what());
  }

  job.grid_hash_ = check_points(job, n, fixed, axis_overrides, grid_line, registry, progress, problems);
  problems.throw_if_any();
  job.size_ = n;
  return job;
}

JobPoint Job::point(std::size_t index) const {
  JobPoint pt;
  pt.index = index;
  pt.params = base_;
  const auto values = grid_.values_at(index);
  pt.grid_values.reserve(values.size());
  for (std::size_t k = 0; k < values.size(); ++k) {
    const auto& key = grid_.axes()[k].key;
    pt.params.set_raw(key, values[k]);
    pt.grid_values.emplace_back(key, values[k]);
  }
  // identity_text() against the registry defaults this job was parsed with; both maps hold the registry's
  // keys in the same order, so one merged walk replaces a lookup per key.
  std::string canon;
  const auto& d = defaults_.values();
  auto def = d.begin();
  for (const auto& [key, value] : pt.params.values()) {
    while (def != d.end() && def->first < key) ++def;
    if (def != d.end() && def->first == key && def->second == value) continue;
    if (!canon.empty()) canon += ';';
    canon += key;
    canon += '=';
    canon += value;
  }
  pt.id = to_hex64(XXH64(canon.data(), canon.size(), 0));
  return pt;
}

const std::vector<JobPoint>& Job::points() const {
  if (points_.size() != size_) {
    points_.clear();
    points_.reserve(size_);
    for (std::size_t i = 0; i < size_; ++i) points_.push_back(point(i));
  }
  return points_;
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
