#pragma once
// Named parameters: the one vocabulary shared by job files, `--set key=value`, grid points,
// point hashing and HDF5 attributes.
//
// Keys are "section.name" (data.num_contexts, model.num_blocks, train.steps, eval.num_eval_samples).
// Each room declares its keys as ParamSpecs (see data/params.hpp etc.); a ParamMap holds values as
// canonical strings so that the same value always prints (and hashes) the same way.
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace icl {

enum class ParamType { Int, Real, String, Bool };

struct ParamSpec {
  std::string key;            // "data.num_contexts"
  ParamType type;
  std::string default_value;  // canonical text; "" = unset (optional parameter)
  std::string help;
  std::vector<std::string> choices;  // for String: allowed values (empty = free text)
  // For Int: the accepted range, checked by canonical_value() before any room reads the value. A key
  // that declares none gets the 32-bit range, so no reader can silently truncate it.
  std::int64_t int_min = std::numeric_limits<std::int32_t>::min();
  std::int64_t int_max = std::numeric_limits<std::int32_t>::max();
};

// An Int key's range as `iclsweep keys` and docs/job-files.md show it: "1..2^16", "0..2^32-1".
std::string range_text(const ParamSpec& spec);
// An integer bound, as a power of two (2^k, 2^k-1, -2^k) when it is one, else in decimal.
std::string bound_text(std::int64_t v);

class ParamRegistry {
 public:
  void add(const std::vector<ParamSpec>& specs);
  const ParamSpec* find(const std::string& key) const;
  // Resolves "num_contexts" to "data.num_contexts" when the short name is unique; full keys pass through.
  // Throws InputError with a "did you mean" suggestion for unknown keys.
  const ParamSpec& resolve(const std::string& key_or_short_name) const;
  std::vector<std::string> suggestions(const std::string& key, std::size_t max = 3) const;
  const std::vector<ParamSpec>& specs() const { return specs_; }

 private:
  std::vector<ParamSpec> specs_;
};

// Canonical text of a value of the given type, so that every spelling of one number prints, compares and
// hashes the same: Real "0.90" -> "0.9", "1e0" -> "1", "-0" -> "0"; Int "+4" -> "4", "1.5e1" -> "15",
// "2^10" -> "1024" (exact 64-bit arithmetic, then the key's declared range). Throws InputError naming
// the key, the value (quoted()), the rule and the fix when the text does not parse as that type, is out
// of range, is a subnormal real, holds a control character or is not one of the choices.
std::string canonical_value(const ParamSpec& spec, const std::string& text);

// Strict parsers of canonical (or stored) text, throwing ParamError naming `key`: what ParamMap's
// getters use instead of std::stoll/std::stod (which name no key).
std::int64_t parse_int_value(const std::string& key, const std::string& text);
double parse_real_value(const std::string& key, const std::string& text);

class ParamMap {
 public:
  ParamMap() = default;
  // All registry keys at their defaults.
  static ParamMap defaults(const ParamRegistry& registry);

  // Sets a value after resolving the key and canonicalising the value.
  void set(const ParamRegistry& registry, const std::string& key, const std::string& value);
  // Parses "key=value".
  void set_assignment(const ParamRegistry& registry, const std::string& assignment);
  void set_raw(const std::string& key, const std::string& canonical) { values_[key] = canonical; }

  bool has(const std::string& key) const;  // present and not unset ("")
  const std::string& get_string(const std::string& key) const;
  std::int64_t get_int(const std::string& key) const;
  // get_int() for a reader that keeps the value in an int: throws ParamError rather than truncating.
  int get_int32(const std::string& key) const;
  double get_real(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  std::optional<std::int64_t> get_optional_int(const std::string& key) const;

  const std::map<std::string, std::string>& values() const { return values_; }
  // "key=value;key=value" in key order: the input to point hashing.
  std::string canonical_text() const;

 private:
  std::map<std::string, std::string> values_;
};

// Shortest decimal text that parses back to exactly v ("0.9", "1e-05").
std::string format_real(double v);

// Without leading and trailing whitespace (job files, --set values).
std::string trim(const std::string& s);

// Edit distance, for "did you mean".
std::size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace icl
