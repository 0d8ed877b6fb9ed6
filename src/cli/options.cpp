#include "iclsweep/cli/options.hpp"

#include <cmath>
#include <iostream>
#include <sstream>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/quote.hpp"

namespace po = boost::program_options;

namespace icl::cli {

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
  } catch (const po::error& e) {
    // Boost echoes the offending argument raw: escape and truncate it like every other echo of input.
    throw InputError(printable(e.what(), 4 * kQuoteMaxChars) + " (see iclsweep " + command + " --help)");
  }
  return true;
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

}  // namespace icl::cli
