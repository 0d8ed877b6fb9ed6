#pragma once
// What one grid point produces, independent of the model kind and of HDF5.
//
// A model kind (transformer, gated, theory, online, ...) declares a ResultSchema before the sweep
// starts: every field it will write, with its per-point shape. The store preallocates one dataset of
// shape (num_points, *dims) per field, so later writes touch raw data only (crash safety, see
// docs/results-format.md). A PointRecord carries one point's values; a field may be shorter than its
// declared first dimension (fewer checkpoints for this point) and is padded with NaN / -1 on disk.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace icl {

enum class FieldType { Float32, Float64, Int32 };

struct FieldSpec {
  std::string path;                // relative to the point tables, e.g. "eval/eval-default-none/error"
  FieldType type = FieldType::Float32;
  std::vector<std::int64_t> dims;  // per-point shape; {} = scalar
  std::string description;         // becomes the dataset's "description" attribute
  std::map<std::string, std::string> attributes;  // extra attributes (units, axis names)
};

struct ResultSchema {
  std::vector<FieldSpec> fields;
  const FieldSpec* find(const std::string& path) const {
    for (const auto& f : fields)
      if (f.path == path) return &f;
    return nullptr;
  }
  // Adds a field or widens an existing one to the elementwise max of dims (points with more checkpoints).
  void merge(const FieldSpec& f) {
    for (auto& g : fields)
      if (g.path == f.path) {
        for (std::size_t i = 0; i < g.dims.size() && i < f.dims.size(); ++i) g.dims[i] = std::max(g.dims[i], f.dims[i]);
        return;
      }
    fields.push_back(f);
  }
};

struct FieldValues {
  std::vector<std::int64_t> dims;  // actual shape for this point (dims[0] may be < the schema's)
  std::vector<double> values;      // row-major, converted to the field's type on write
};

struct PointRecord {
  std::map<std::string, FieldValues> fields;
  void set_scalar(const std::string& path, double v) { fields[path] = FieldValues{{}, {v}}; }
  void set_vector(const std::string& path, std::vector<double> v) {
    const auto n = static_cast<std::int64_t>(v.size());
    fields[path] = FieldValues{{n}, std::move(v)};
  }
  void set_array(const std::string& path, std::vector<std::int64_t> dims, std::vector<double> v) {
    fields[path] = FieldValues{std::move(dims), std::move(v)};
  }
};

}  // namespace icl
