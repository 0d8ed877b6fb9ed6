#pragma once
// The cost model: what one grid point costs in core-seconds, so `iclsweep list` can size a Slurm job,
// `run` can show an ETA and order work most-expensive-first, and a hung point can be told from a slow one.
//
// Each model kind states its cost from its own terms (ModelKind::cost_terms): counts of a unit its
// run time scales with (GFLOP of training matmuls, evaluation sequences, pool samples, one point's
// setup), each priced by a machine constant in seconds per unit. The constants are what differs
// between machines; `iclsweep calibrate` measures them by running small real points of every kind
// with every core busy (as a sweep runs) and fitting the constants, and writes them to a file that
// `list`, `run` and `slurm/submit` read. Without that file each kind's reference values apply
// (`iclsweep calibrate` on the machine the project is developed on: docs/cost-model.md).
#include <map>
#include <string>
#include <vector>

namespace icl {

// One priced unit of a kind's work.
struct CostConstant {
  std::string name;          // "transformer/train_gflop": the kind's name, a dot, the unit
  std::string unit;          // what one count is, for docs and `calibrate`'s table
  double reference_seconds;  // seconds per unit with every core busy, on the reference machine
};

// How many units of one constant a point needs.
struct CostTerm {
  std::string constant;
  double count = 0;
};

// The machine constants in effect: a calibration file's values over the kinds' reference values.
class CostConstants {
 public:
  // $ICLSWEEP_CALIBRATION if set (a file that must exist), else $XDG_CONFIG_HOME/iclsweep/calibration.ini
  // (~/.config/...) if it exists, else none (reference values). Loaded once per process.
  static const CostConstants& active();
  static std::string default_path();
  // Reads `name = seconds` lines (# comments); throws InputError naming the file and line.
  static CostConstants load(const std::string& path);

  // The file's value for `name`, else `reference`.
  double seconds(const std::string& name, double reference) const;
  // "calibration /path (written 2026-12-07 on host)" or "reference constants (no calibration file)".
  std::string describe() const;
  bool calibrated() const { return !path_.empty(); }

  std::map<std::string, double> values;

 private:
  std::string path_, header_;
};

// Seconds of `terms` priced by `machine` (the constants' reference values where it has none).
double price(const std::vector<CostConstant>& constants, const std::vector<CostTerm>& terms, const CostConstants& machine);

// Writes constants as a calibration file (atomically: a temporary, then rename), with a header comment.
void write_calibration(const std::string& path, const std::map<std::string, double>& values, const std::string& header);

}  // namespace icl
