#pragma once
// The [grid] of a job file: ordered axes (key, value list) whose cartesian product is the set of points.
//
// Order is part of a job's identity: the first axis varies slowest and the seed axis (data.seed) is
// always innermost, so a point's canonical index is its mixed-radix number over the axes.
#include <cstddef>
#include <string>
#include <vector>

namespace icl {

// Expands one grid value list into its items (raw text, not yet canonicalised for a key's type).
// Items are separated by commas; an item may be a range:
//   "0.0, 0.2, 0.4"            -> 0.0 0.2 0.4
//   "0..4"                     -> 0 1 2 3 4              (integers, both ends included)
//   "0..10 step 5"             -> 0 5 10
//   "2^6..2^14"                -> 2^6 2^7 ... 2^14       (every power)
//   "2^6..2^20 step 2"         -> 2^6 2^8 ... 2^20       (step counts exponents)
//   "1, 2, 2^4..2^6"           -> 1 2 2^4 2^5 2^6        (forms mix)
// Powers stay as "2^k" text: canonical_value() turns them into integers for Int keys.
// Throws InputError naming the item and the accepted forms; an empty list is an error. The number of values
// is computed first, in checked arithmetic, and a list of more than `max_values` is refused before any
// value is made (no grid may have more points than that).
std::vector<std::string> expand_value_list(const std::string& text, std::size_t max_values = 1'000'000);

struct GridAxis {
  std::string key;                  // full key, e.g. "data.dataset_size"
  std::vector<std::string> values;  // canonical values, in list order
  int line = 0;                     // line in the job file (0 = from the command line / unknown)
};

class Grid {
 public:
  // Axes in file order; put the seed axis last (Job does) so seeds vary fastest.
  explicit Grid(std::vector<GridAxis> axes = {}) : axes_(std::move(axes)) {}

  const std::vector<GridAxis>& axes() const { return axes_; }
  std::vector<std::string> keys() const;
  // Product of the axis lengths (1 for a grid without axes: the job is a single point).
  // Throws InputError past max_points, so a typo like 0..100000000 fails early and says so.
  std::size_t size(std::size_t max_points = kMaxPoints) const;
  // The values of point `index` in axis order: index = ((i_0 * n_1 + i_1) * n_2 + i_2) ...
  std::vector<std::string> values_at(std::size_t index) const;

  static constexpr std::size_t kMaxPoints = 1'000'000;  // each point holds a full ParamMap (~5 KB)

 private:
  std::vector<GridAxis> axes_;
};

}  // namespace icl
