#pragma once
// Process exit codes, documented in the README. Scripts (slurm/, tests) depend on them: never renumber.
namespace icl::cli {
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;        // unexpected error
inline constexpr int kExitUsage = 2;          // bad command line, job file or parameter value
inline constexpr int kExitIncomplete = 3;     // sweep drained on a signal: file consistent, rerun to resume
inline constexpr int kExitPointsFailed = 4;   // sweep finished, but some points are recorded as failed
inline constexpr int kExitStore = 5;          // results file unreadable, mismatched or locked
}  // namespace icl::cli
