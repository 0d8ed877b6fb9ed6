#pragma once
// The one way every subcommand reads its command line (Boost.Program_options).
#include <boost/program_options.hpp>
#include <string>

#include "iclsweep/cli/commands.hpp"

namespace icl::cli {

// Parses `args` against `visible` (plus `hidden` options, one of which may take the single positional
// argument `positional`). Boost's errors become InputError naming the command and its --help. Returns
// false after printing `visible` and `help_footer` when --help was asked for (checked before required
// options, so `iclsweep run --help` works without a job file).
bool parse_command_line(const std::string& command, const Args& args,
                        const boost::program_options::options_description& visible, const std::string& help_footer,
                        boost::program_options::variables_map& vm,
                        const boost::program_options::options_description* hidden = nullptr,
                        const char* positional = nullptr);

// Option values (not job parameters): InputError naming the option, the value and the rule.
void check_seconds(const std::string& option, double seconds);  // finite, 0 ..= 1e7
// --point-timeout: 0 (automatic) or kMinPointTimeoutSeconds ..= 1e7.
inline constexpr double kMinPointTimeoutSeconds = 5;  // 2.5 heartbeats
void check_point_timeout(double seconds);
void check_count(const std::string& option, long long value, long long min, long long max);
std::string format_option_value(double v);
// The 1, 5 and 15 minute load averages ("0.12 0.30 0.25", or "unknown"): what a timing report states beside its numbers.
std::string load_average();

}  // namespace icl::cli
