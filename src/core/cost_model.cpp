#include "iclsweep/core/cost_model.hpp"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/model_kind.hpp"
#include "iclsweep/core/params.hpp"
#include "iclsweep/core/quote.hpp"

namespace icl {


std::string CostConstants::default_path() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) return std::string(xdg) + "/iclsweep/calibration.ini";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.config/iclsweep/calibration.ini";
  return "";
}

CostConstants CostConstants::load(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw InputError("calibration file " + quote(path, 4 * kQuoteMaxChars) + " cannot be read (" + std::strerror(errno) +
                     "): write one with `iclsweep calibrate`, or unset ICLSWEEP_CALIBRATION to use the reference constants");
  CostConstants c;
  c.path_ = path;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const std::string t = trim(line);
    if (t.empty()) continue;
    if (t[0] == '#') {
      if (c.header_.empty()) c.header_ = trim(t.substr(1));
      continue;
    }
    const auto eq = t.find('=');
    const std::string name = eq == std::string::npos ? "" : trim(t.substr(0, eq));
    const std::string value = eq == std::string::npos ? "" : trim(t.substr(eq + 1));
    char* end = nullptr;
    const double v = value.empty() ? NAN : std::strtod(value.c_str(), &end);
    if (name.empty() || end == nullptr || *end != '\0' || !(v > 0) || !std::isfinite(v))
      throw InputError("calibration file " + quote(path, 4 * kQuoteMaxChars) + " line " + std::to_string(n) + ": " + printable(t) +
                       ": expected `kind/unit = SECONDS` with a positive number: rerun `iclsweep calibrate` to rewrite it");
    c.values[name] = v;
  }
  return c;
}

const CostConstants& CostConstants::active() {
  static const CostConstants constants = [] {
    if (const char* old = std::getenv("ICLSWEEP_MS_PER_TOKEN_STEP"); old && *old)
      std::fprintf(stderr, "iclsweep: warning: ICLSWEEP_MS_PER_TOKEN_STEP is no longer read: costs are core-seconds per model "
                           "kind; measure this machine with `iclsweep calibrate` (docs/cost-model.md)\n");
    if (const char* env = std::getenv("ICLSWEEP_CALIBRATION"); env && *env) return load(env);
    const std::string path = default_path();
    if (!path.empty() && ::access(path.c_str(), F_OK) == 0) return load(path);
    return CostConstants{};
  }();
  return constants;
}

double CostConstants::seconds(const std::string& name, double reference) const {
  const auto it = values.find(name);
  return it == values.end() ? reference : it->second;
}

std::string CostConstants::describe() const {
  if (path_.empty()) return "reference constants (no calibration file; `iclsweep calibrate` measures this machine's)";
  return "calibration " + path_ + (header_.empty() ? "" : " (" + header_ + ")");
}

void write_calibration(const std::string& path, const std::map<std::string, double>& values, const std::string& header) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp);
    if (!out) throw InputError("cannot write the calibration file " + quote(tmp, 4 * kQuoteMaxChars) + ": " + std::strerror(errno));
    out << "# " << header << "\n";
    out << "# seconds per unit with every core busy; read by iclsweep list/run and slurm/submit (docs/cost-model.md)\n";
    char buf[64];
    for (const auto& [name, v] : values) {
      std::snprintf(buf, sizeof buf, "%.6g", v);
      out << name << " = " << buf << "\n";
    }
    if (!out.flush()) throw InputError("cannot write the calibration file " + quote(tmp, 4 * kQuoteMaxChars) + ": " + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp.c_str());
    throw InputError("cannot write the calibration file " + quote(path, 4 * kQuoteMaxChars) + ": " + std::strerror(e));
  }
}

double price(const std::vector<CostConstant>& constants, const std::vector<CostTerm>& terms, const CostConstants& machine) {
  double seconds = 0;
  for (const auto& t : terms) {
    const CostConstant* c = nullptr;
    for (const auto& k : constants)
      if (k.name == t.constant) c = &k;
    if (!c) throw Error("cost model: term '" + t.constant + "' has no constant (a kind's cost_terms and cost_constants disagree)");
    seconds += t.count * machine.seconds(c->name, c->reference_seconds);
  }
  return seconds;
}

double ModelKind::cost(const ParamMap& point) const {
  const auto constants = cost_constants();
  return price(constants, cost_terms(point), CostConstants::active());
}

}  // namespace icl
