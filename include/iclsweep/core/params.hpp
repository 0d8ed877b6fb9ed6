#pragma once
// Named parameters: the one vocabulary shared by job files, `--set key=value`, grid points,
// point hashing and HDF5 attributes.
//
// Keys are "section.name" (data.num_contexts, model.num_blocks, train.steps, eval.num_eval_samples).
// Each room declares its keys as ParamSpecs (see data/params.hpp etc.); a ParamMap holds values as
// canonical strings so that the same value always prints (and hashes) the same way.
#include <cstdint>
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
};

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

// Canonical text of a value of the given type ("0.90" -> "0.9", "1e3" -> "1000" for Real; "+4" -> "4" for Int).
// Throws InputError naming the key when the text does not parse as that type or is not one of the choices.
std::string canonical_value(const ParamSpec& spec, const std::string& text);

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
