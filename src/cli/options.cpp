#include "iclsweep/cli/options.hpp"

#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/quote.hpp"

namespace po = boost::program_options;

namespace icl::cli {

namespace {
// The first line of an options_description's caption ("iclsweep run JOB.ini --out RESULTS.h5 [options]").
std::string usage_line(const po::options_description& d) {
  std::ostringstream os;
  os << d;
  std::string line = os.str().substr(0, os.str().find('\n'));
  if (!line.empty() && line.back() == ':') line.pop_back();
  return line;
}
}  // namespace

bool parse_command_line(const std::string& command, const Args& args, const po::options_description& visible,
                        const std::string& help_footer, po::variables_map& vm, const po::options_description* hidden,
                        const char* positional) {
  po::options_description all;
  all.add(visible);
  if (hidden) all.add(*hidden);
  po::positional_options_description pos;
  if (positional) pos.add(positional, 1);
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    if (vm.count("help")) {
      std::cout << visible << help_footer;
      return false;
    }
    po::notify(vm);
  } catch (const po::required_option& e) {
    // A missing positional argument is named as what it is, not as the hidden option behind it ('--job',
    // '--file'), which --help does not list and which users never type.
    if (hidden && positional && e.get_option_name() == std::string("--") + positional) {
      const auto* what = hidden->find_nothrow(positional, false);
      const std::string name = what && !what->description().empty() ? what->description() : positional;
      const std::string caption = usage_line(visible);
      throw InputError("missing the " + name + (caption.empty() ? "" : " (usage: " + caption.substr(0, caption.find('\n')) + ")") +
                       "; see iclsweep " + command + " --help");
    }
    throw InputError(printable(e.what(), 4 * kQuoteMaxChars) + " (see iclsweep " + command + " --help)");
  } catch (const po::too_many_positional_options_error&) {
    const std::string caption = usage_line(visible);
    const auto* what = hidden && positional ? hidden->find_nothrow(positional, false) : nullptr;
    throw InputError("too many arguments: iclsweep " + command + " takes one " +
                     (what && !what->description().empty() ? what->description() : std::string("argument")) +
                     (caption.empty() ? "" : " (usage: " + caption.substr(0, caption.find('\n')) + ")") + "; see iclsweep " +
                     command + " --help");
  } catch (const po::error& e) {
    // Boost echoes the offending argument raw: escape and truncate it like every other echo of input.
    throw InputError(printable(e.what(), 4 * kQuoteMaxChars) + " (see iclsweep " + command + " --help)");
  }
  return true;
}

void check_point_timeout(double seconds) {
  check_seconds("--point-timeout", seconds);
  // Workers report progress every 2 s (the heartbeat): a limit of a few heartbeats fails healthy points.
  if (seconds != 0 && seconds < kMinPointTimeoutSeconds)
    throw InputError("--point-timeout " + format_option_value(seconds) + ": must be 0 (automatic: max(300 s, 10 x the "
                     "cost model's estimate)) or at least " + format_option_value(kMinPointTimeoutSeconds) +
                     " seconds: workers report progress every 2 s, so a shorter limit hands out healthy points again "
                     "and fails them (e.g. --point-timeout 600)");
}

void check_seconds(const std::string& option, double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e7)
    throw InputError(option + " " + format_option_value(seconds) + ": must be a number of seconds from 0 to 1e7 (e.g. " +
                     option + " 30)");
}

void check_count(const std::string& option, long long value, long long min, long long max) {
  if (value < min || value > max)
    throw InputError(option + " " + std::to_string(value) + ": must be an integer from " + std::to_string(min) + " to " +
                     std::to_string(max));
}

std::string format_option_value(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  if (!(f >> a >> b >> c)) return "unknown";
  return a + " " + b + " " + c;
}

}  // namespace icl::cli
