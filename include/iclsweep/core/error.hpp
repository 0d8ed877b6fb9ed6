#pragma once
// Typed errors. Every user-facing failure names what is wrong (key, file, value) and how to fix it;
// the CLI prints `what()` and exits with a code per type (see cli/exit_codes.hpp).
#include <stdexcept>
#include <string>

#include "iclsweep/core/quote.hpp"

namespace icl {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A parameter value that breaks a rule of the spec: names the key, the value (escaped and truncated
// by printable(), since it may be user input) and the rule.
struct ParamError : Error {
  ParamError(std::string key, std::string value, std::string rule)
      : Error("parameter '" + printable(key) + "' = " + printable(value) + ": " + rule),
        key(std::move(key)), value(std::move(value)), rule(std::move(rule)) {}
  std::string key, value, rule;
};

// Job files, CLI values and other user input that cannot be parsed.
struct InputError : Error {
  using Error::Error;
};

// Training diverged (non-finite loss or gradient): the point is recorded as failed, the sweep goes on.
struct NumericError : Error {
  using Error::Error;
};

// A results/output file problem (exit 5). what() starts with one line a user can act on (the cause and
// the fix); HDF5's own error stack, when there is one, follows on the next line as `detail`.
// sys_errno is the operating-system cause when known (ENOSPC, EROFS, EACCES, ...), else 0.
struct StoreError : Error {
  explicit StoreError(const std::string& headline, int sys_errno = 0, const std::string& detail = "")
      : Error(detail.empty() ? headline : headline + "\n  detail: " + detail),
        headline(headline), detail(detail), sys_errno(sys_errno) {}
  std::string headline, detail;
  int sys_errno = 0;
};

}  // namespace icl
