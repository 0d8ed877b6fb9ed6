#include "iclsweep/store/results_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <Eigen/Core>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <sys/stat.h>

#include "iclsweep/build_info.hpp"
#include "iclsweep/core/error.hpp"
#include "iclsweep/store/h5.hpp"  // before <mpi.h>: sets OMPI_SKIP_MPICXX
#include "iclsweep/store/output_file.hpp"

#include <mpi.h>

namespace icl {

const char* to_string(PointStatus s) {
  switch (s) {
    case PointStatus::Pending: return "pending";
    case PointStatus::Done: return "done";
    case PointStatus::Failed: return "failed";
  }
  return "?";
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Datasets every results file has under /points (besides params/ and the schema fields).
const std::set<std::string> kReservedPointNames = {
    "index", "id", "seed", "params", "params_text", "status", "error", "rank", "host", "start_time", "end_time",
    "wall_time", "cpu_time"};
// Root attributes we write; provenance pairs may not reuse these names.
const std::set<std::string> kReservedRootAttributes = {
    "format", "format_version", "num_points", "grid_hash", "job_text", "grid_json", "grid_keys", "fields",
    "created_at", "iclsweep_version", "git_commit", "compiler", "cxx_flags", "build_type", "hdf5_version",
    "eigen_version", "mpi_version", "max_launches"};

const char* field_type_name(FieldType t) {
  switch (t) {
    case FieldType::Float32: return "float32";
    case FieldType::Float64: return "float64";
    case FieldType::Int32: return "int32";
  }
  return "?";
}

FieldType parse_field_type(const std::string& name, const std::string& where) {
  if (name == "float32") return FieldType::Float32;
  if (name == "float64") return FieldType::Float64;
  if (name == "int32") return FieldType::Int32;
  throw StoreError("results file: field '" + where + "' has unknown field_type '" + name + "'");
}

h5::Datatype datatype_of(FieldType t) {
  switch (t) {
    case FieldType::Float32: return h5::Datatype::native<float>();
    case FieldType::Float64: return h5::Datatype::native<double>();
    case FieldType::Int32: return h5::Datatype::native<std::int32_t>();
  }
  return h5::Datatype::native<double>();
}

// Preallocated, filled at creation, no modification-time messages: later writes are raw bytes only.
h5::PropertyList preallocated() {
  auto dcpl = h5::PropertyList::dataset_create();
  dcpl.contiguous().alloc_time_early().fill_time_alloc().track_times(false);
  return dcpl;
}
template <class T>
h5::PropertyList preallocated(T fill) {
  auto dcpl = preallocated();
  dcpl.fill_value<T>(fill);
  return dcpl;
}

h5::PropertyList results_fapl() {
  auto fapl = h5::PropertyList::file_access();
  // Earliest library-version bounds (the default, stated for clarity): superblock v0 has no
  // "open for writing" flag, so a killed writer never leaves a file that needs h5clear.
  fapl.sec2_driver().libver_bounds(H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST);
  // No HDF5 flock: readers (`iclsweep status`, h5py) may open the file while a sweep writes it, which
  // is safe because its metadata never changes. Writers exclude each other with an OFD lock on the file itself (WriterLock) instead.
  fapl.file_locking(false, true);
  // No data sieving: a row write touches exactly that row's bytes, nothing around it.
  fapl.sieve_buffer_size(0);
  return fapl;
}

std::string eigen_version() {
  return std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
         std::to_string(EIGEN_MINOR_VERSION);
}

std::string mpi_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int len = 0;
  MPI_Get_library_version(text, &len);  // allowed before MPI_Init
  std::string s(text, static_cast<std::size_t>(std::max(len, 0)));
  const auto nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  while (!s.empty() && (s.back() == ' ' || s.back() == ',')) s.pop_back();
  return s;
}

double now_unix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool parses_as_real(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  return *end == '\0' && std::isfinite(v);
}

std::size_t product(const std::vector<std::int64_t>& dims) {
  std::size_t n = 1;
  for (auto d : dims) n *= static_cast<std::size_t>(d);
  return n;
}

std::string dims_text(const std::vector<std::int64_t>& dims) {
  std::string s = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + ")";
}

std::string first_component(const std::string& path) { return path.substr(0, path.find('/')); }

void validate_schema(const ResultSchema& schema) {
  std::set<std::string> names;
  for (const auto& f : schema.fields) {
    const std::string& p = f.path;
    if (p.empty() || p.front() == '/' || p.back() == '/' || p.find("//") != std::string::npos)
      throw StoreError("results schema: field path '" + p + "' must be a relative path like 'eval/split/error'");
    if (kReservedPointNames.count(first_component(p)))
      throw StoreError("results schema: field '" + p + "' clashes with the reserved /points/" + first_component(p) +
                       ": rename the field in its model kind's ResultSchema");
    for (auto d : f.dims)
      if (d < 1) throw StoreError("results schema: field '" + p + "' has dims " + dims_text(f.dims) + "; every dim must be >= 1");
    if (!names.insert(p).second) throw StoreError("results schema: field '" + p + "' is declared twice");
    if (!f.dims.empty() && !names.insert(p + "_shape").second)
      throw StoreError("results schema: field '" + p + "_shape' clashes with the shape table of field '" + p + "'");
  }
  // A field cannot also be a group holding other fields.
  for (const auto& a : names)
    for (const auto& b : names)
      if (b.size() > a.size() && b.compare(0, a.size() + 1, a + "/") == 0)
        throw StoreError("results schema: field '" + a + "' is also the parent of '" + b + "': rename one of them");
}

struct FieldSlot {
  FieldSpec spec;
  h5::Dataset data;   // (P, *dims)
  h5::Dataset shape;  // (P, rank) int32, only for rank >= 1; -1 = not written
  std::size_t row_size = 1;
};

}  // namespace

struct ResultsFile::Impl {
  std::string path;
  Options options;
  bool writable = false;
  WriterLock lock;  // declared before `file`: released after the file is closed
  h5::File file;
  std::size_t num_points = 0;
  std::uint64_t file_bytes = 0;  // the file's size when opened: no dataset can hold more
  std::string grid_hash;
  ResultSchema schema;
  std::vector<FieldSlot> fields;
  h5::Dataset id, status, error, rank, host, start_time, end_time, wall_time;
  h5::Dataset cpu_time;  // absent (invalid) in a file from before it existed
  h5::Dataset run_used, run_start, run_slurm, run_ranks, run_host, run_commit, run_command;
  std::vector<PointStatus> statuses;
  // A point between stage_point/stage_failure and commit_staged: its padded rows (one per schema field,
  // empty for a failure: its field rows are left as they are) and meta, written by commit_staged.
  struct Staged {
    std::size_t index = 0;
    PointStatus status = PointStatus::Done;
    PointMeta meta;
    std::vector<std::vector<double>> rows;         // per field slot, padded to the schema's dims
    std::vector<std::vector<std::int32_t>> shapes;  // per field slot of rank >= 1
  };
  std::vector<Staged> staged;
  std::size_t launches_used = 0;

  // Before File::discard(): open datasets would keep the file open past it.
  void close_datasets() {
    fields.clear();
    for (auto* d : {&id, &status, &error, &rank, &host, &start_time, &end_time, &wall_time, &cpu_time, &run_used, &run_start,
                    &run_slurm, &run_ranks, &run_host, &run_commit, &run_command})
      *d = h5::Dataset{};
  }
  void require_writable(const char* what) const {
    if (!writable) throw StoreError("results file '" + path + "' is open read-only; cannot " + what);
  }
  void require_not_staged(std::size_t index) const {
    for (const auto& st : staged)
      if (st.index == index)
        throw StoreError("results file '" + path + "': point " + std::to_string(index) +
                         " is staged twice in one batch");
  }
  void require_index(std::size_t index) const {
    if (index >= num_points)
      throw StoreError("results file '" + path + "': point index " + std::to_string(index) + " is outside 0.." +
                       std::to_string(num_points - 1));
  }
  void flush() {
    file.flush();
    if (options.sync_to_disk) file.sync_to_disk();
  }
  void open_datasets();
};

// ---- creation -----------------------------------------------------------------------------

// Writes every dataset and attribute of a new results file into the open, empty file `f`.
static void build_file(h5::File& f, const SweepManifest& m, const ResultSchema& schema) {
  const std::size_t P = m.point_params.size();

  // Root attributes: identity, provenance, the job and grid as text.
  f.set_attribute("format", std::string(ResultsFile::kFormatName));
  f.set_attribute("format_version", ResultsFile::kFormatVersion);
  f.set_attribute("num_points", static_cast<std::int64_t>(P));
  f.set_attribute("grid_hash", m.grid_hash);
  f.set_attribute("job_text", m.job_text);
  f.set_attribute("grid_json", m.grid_json);
  f.set_attribute("grid_keys", m.grid_keys);
  std::vector<std::string> field_paths;
  for (const auto& fs : schema.fields) field_paths.push_back(fs.path);
  f.set_attribute("fields", field_paths);
  f.set_attribute("created_at", now_unix());
  f.set_attribute("iclsweep_version", std::string(build::version));
  f.set_attribute("git_commit", std::string(build::git_commit));
  f.set_attribute("compiler", std::string(build::compiler));
  f.set_attribute("cxx_flags", std::string(build::cxx_flags));
  f.set_attribute("build_type", std::string(build::build_type));
  f.set_attribute("hdf5_version", h5::library_version());
  f.set_attribute("eigen_version", eigen_version());
  f.set_attribute("mpi_version", mpi_version());
  f.set_attribute("max_launches", static_cast<std::int64_t>(ResultsFile::kMaxLaunches));
  for (const auto& [k, v] : m.provenance) {
    if (kReservedRootAttributes.count(k))
      throw StoreError("results file: provenance key '" + k + "' clashes with a built-in root attribute; rename it");
    f.set_attribute(k, v);
  }

  // Per-point identity and parameters (written once, here).
  auto points = f.create_group("points");
  std::vector<std::int64_t> index(P), seeds(P, -1);
  for (std::size_t i = 0; i < P; ++i) index[i] = static_cast<std::int64_t>(i);
  if (!m.point_seeds.empty()) {
    seeds = m.point_seeds;
  } else {
    for (std::size_t i = 0; i < P; ++i)
      if (m.point_params[i].has("data.seed")) seeds[i] = m.point_params[i].get_int("data.seed");
  }
  points.write_dataset<std::int64_t>("index", {P}, index, nullptr);
  points.write_dataset<std::int64_t>("seed", {P}, seeds, nullptr);
  points.write_strings("id", m.point_ids, ResultsFile::kIdWidth);
  std::vector<std::string> params_text(P);
  std::set<std::string> keys;
  for (std::size_t i = 0; i < P; ++i) {
    params_text[i] = m.point_params[i].canonical_text();
    for (const auto& kv : m.point_params[i].values()) keys.insert(kv.first);
  }
  points.write_strings("params_text", params_text);
  auto params = points.create_group("params");
  const std::set<std::string> grid_keys(m.grid_keys.begin(), m.grid_keys.end());
  for (const auto& key : keys) {
    // float64 when every set value is a real number (unset -> NaN), else the canonical strings.
    std::vector<std::string> text(P);
    bool numeric = false, all_numeric = true;
    for (std::size_t i = 0; i < P; ++i) {
      const auto& vals = m.point_params[i].values();
      const auto it = vals.find(key);
      text[i] = it == vals.end() ? "" : it->second;
      if (text[i].empty()) continue;
      if (parses_as_real(text[i])) numeric = true;
      else all_numeric = false;
    }
    h5::Dataset d;
    if (all_numeric && (numeric || m.numeric_keys.count(key))) {
      std::vector<double> v(P, kNaN);
      for (std::size_t i = 0; i < P; ++i)
        if (!text[i].empty()) v[i] = std::strtod(text[i].c_str(), nullptr);
      d = params.write_dataset<double>(key, {P}, v, nullptr);
    } else {
      d = params.write_strings(key, text);
    }
    d.set_attribute("grid_axis", static_cast<std::uint8_t>(grid_keys.count(key) ? 1 : 0));
  }

  // Per-point bookkeeping, preallocated.
  points.create_dataset<std::uint8_t>("status", {P}, preallocated<std::uint8_t>(0))
      .set_attribute("values", std::string("0 pending, 1 done, 2 failed; a point's data is valid iff status == 1"));
  points.create_dataset("error", h5::Datatype::fixed_string(ResultsFile::kErrorWidth), {P}, preallocated());
  points.create_dataset<std::int32_t>("rank", {P}, preallocated<std::int32_t>(-1));
  points.create_dataset("host", h5::Datatype::fixed_string(ResultsFile::kHostWidth), {P}, preallocated());
  for (const char* t : {"start_time", "end_time", "wall_time", "cpu_time"})
    points.create_dataset<double>(t, {P}, preallocated<double>(kNaN)).set_attribute("units", std::string("s"));

  // Schema fields: (P, *dims), NaN / -1 fill, plus the per-point recorded shape.
  for (const auto& fs : schema.fields) {
    h5::Dims dims{P};
    for (auto d : fs.dims) dims.push_back(static_cast<hsize_t>(d));
    auto dcpl = fs.type == FieldType::Int32 ? preallocated<std::int32_t>(-1)
                : fs.type == FieldType::Float32 ? preallocated<float>(static_cast<float>(kNaN))
                                               : preallocated<double>(kNaN);
    h5::Dataset d;
    try {
      d = points.create_dataset(fs.path, datatype_of(fs.type), dims, &dcpl);
    } catch (const StoreError& e) {
      throw StoreError("results file: cannot create field '" + fs.path + "': " + e.what());
    }
    d.set_attribute("field_type", std::string(field_type_name(fs.type)));
    d.set_attribute("description", fs.description);
    d.set_attribute("point_dims", fs.dims);
    for (const auto& [k, v] : fs.attributes) d.set_attribute(k, v);
    if (!fs.dims.empty()) {
      auto s = points.create_dataset<std::int32_t>(fs.path + "_shape", {P, static_cast<hsize_t>(fs.dims.size())},
                                                   preallocated<std::int32_t>(-1));
      s.set_attribute("description", "recorded shape of " + fs.path +
                                         " for each point (the rest is padding); -1 = not written");
    }
  }

  // Launch table: kMaxLaunches preallocated slots, appended like points (used = status).
  const hsize_t K = ResultsFile::kMaxLaunches;
  auto runs = f.create_group("runs");
  runs.create_dataset<std::uint8_t>("used", {K}, preallocated<std::uint8_t>(0));
  runs.create_dataset<double>("start_time", {K}, preallocated<double>(kNaN));
  runs.create_dataset("slurm_job_id", h5::Datatype::fixed_string(ResultsFile::kSlurmIdWidth), {K}, preallocated());
  runs.create_dataset<std::int32_t>("num_ranks", {K}, preallocated<std::int32_t>(-1));
  runs.create_dataset("hostname", h5::Datatype::fixed_string(ResultsFile::kHostWidth), {K}, preallocated());
  runs.create_dataset("git_commit", h5::Datatype::fixed_string(ResultsFile::kCommitWidth), {K}, preallocated());
  runs.create_dataset("command_line", h5::Datatype::fixed_string(ResultsFile::kCommandWidth), {K}, preallocated());

  f.flush();
}

std::uint64_t ResultsFile::estimated_bytes(const SweepManifest& m, const ResultSchema& schema) {
  // An upper bound of what build_file() allocates: raw storage exactly; variable-length strings as
  // global-heap objects (16-byte reference + 16-byte header + the text, 8-aligned); measured object
  // sizes of HDF5 1.10 (h5stat -F: ~650 bytes per dataset header with its attributes, ~1.1 KB per
  // group's B-tree and heap) with room to spare. tests/unit/test_sweep_files.cpp checks the bound
  // against real files of 1 to 200 points.
  const std::uint64_t P = m.point_params.size();
  auto vlen = [](std::size_t n) -> std::uint64_t { return 32 + ((n + 8) / 8) * 8; };
  std::uint64_t raw = P * (8 + 8 + kIdWidth + 1 + kErrorWidth + 4 + kHostWidth + 3 * 8);
  std::uint64_t datasets = 12 + 7, attributes = 32, heap = 0;
  std::set<std::string> groups = {"/", "points", "points/params", "runs"};
  std::map<std::string, std::pair<bool, std::uint64_t>> keys;  // key -> (every value a number, string bytes)
  for (const auto& p : m.point_params) {
    heap += vlen(p.canonical_text().size());
    for (const auto& [k, v] : p.values()) {
      auto& [numeric, text] = keys.try_emplace(k, true, 0).first->second;
      if (!v.empty() && !parses_as_real(v)) numeric = false;
      text += vlen(v.size());
    }
  }
  for (const auto& [k, column] : keys) raw += column.first ? 8 * P : column.second;  // float64, or strings
  datasets += keys.size();
  attributes += keys.size();
  for (const auto& f : schema.fields) {
    std::uint64_t row = 1;
    for (auto d : f.dims) row *= static_cast<std::uint64_t>(d);
    raw += P * row * (f.type == FieldType::Float64 ? 8 : 4);
    if (!f.dims.empty()) raw += P * f.dims.size() * 4;
    datasets += f.dims.empty() ? 1 : 2;
    attributes += 4 + f.attributes.size();
    heap += vlen(f.description.size()) + vlen(f.path.size());
    for (const auto& [k, v] : f.attributes) heap += vlen(v.size());
    for (auto slash = f.path.find('/'); slash != std::string::npos; slash = f.path.find('/', slash + 1))
      groups.insert("points/" + f.path.substr(0, slash));
  }
  raw += kMaxLaunches * (1 + 8 + kSlurmIdWidth + 4 + kHostWidth + kCommitWidth + kCommandWidth);
  heap += vlen(m.job_text.size()) + vlen(m.grid_json.size()) + 20 * vlen(64);
  for (const auto& k : m.grid_keys) heap += vlen(k.size());
  for (const auto& [k, v] : m.provenance) heap += vlen(v.size());
  heap += 4096 * (2 + heap / 4096 / 8);  // partly filled heap collections
  const std::uint64_t meta = 16 * 1024 + datasets * 800 + groups.size() * 1400 + attributes * 64;
  const std::uint64_t total = raw + heap + meta;
  return total + total / 10 + 16 * 1024;
}

ResultsFile ResultsFile::create(const std::string& path, const SweepManifest& m, const ResultSchema& schema,
                                const Options& options) {
  const std::size_t P = m.point_params.size();
  if (P == 0) throw StoreError("results file '" + path + "': a sweep needs at least one point");
  if (m.point_ids.size() != P)
    throw StoreError("results file '" + path + "': " + std::to_string(m.point_ids.size()) + " point ids for " +
                     std::to_string(P) + " points");
  if (!m.point_seeds.empty() && m.point_seeds.size() != P)
    throw StoreError("results file '" + path + "': " + std::to_string(m.point_seeds.size()) + " seeds for " +
                     std::to_string(P) + " points");
  for (std::size_t i = 0; i < P; ++i)
    if (m.point_ids[i].size() > kIdWidth)
      throw StoreError("results file '" + path + "': point id '" + m.point_ids[i] + "' of point " + std::to_string(i) +
                       " is longer than " + std::to_string(kIdWidth) + " characters");
  validate_schema(schema);
  // The one way a command creates a file (store/output_file.hpp): refuses an existing file unless
  // overwrite and a file a live writer holds in any case, checks free space, builds under a temporary
  // name, preallocated, and renames it into place, so `path` is either absent (or the old file) or complete.
  OutputFile out = OutputFile::claim(path, OutputRequest{options.overwrite, estimated_bytes(m, schema), "results file"});
  const auto fapl = results_fapl();
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = options;
  impl->writable = true;
  impl->num_points = P;
  impl->grid_hash = m.grid_hash;
  try {
    impl->file = h5::File(out.temp_path(), h5::FileMode::Exclusive, &fapl);
    out.reserve();
    build_file(impl->file, m, schema);
    impl->open_datasets();
    if (options.fill_before_publishing) {
      // merge: the points are written into the temporary file, so `path` appears only complete, and a
      // killed merge leaves a `.creating-` file that the next writer of `path` removes.
      ResultsFile filling(std::move(impl));
      try {
        options.fill_before_publishing(filling);
      } catch (...) {
        impl = std::move(filling.impl_);
        throw;
      }
      impl = std::move(filling.impl_);
    }
    out.commit(impl->file.contents_size());  // fsync, then the rename: it never overtakes the contents
  } catch (const StoreError& e) {
    impl->close_datasets();
    impl->file.discard();
    throw out.failure(e);
  }
  // The lock was taken on the new file under its temporary name and follows it through the rename;
  // the HDF5 file stays open, so no descriptor of it is closed while the lock is held (NFS: closing
  // any descriptor of a file drops a process's locks on it).
  impl->lock = out.take_lock();
  return ResultsFile(std::move(impl));
}

// ---- opening ------------------------------------------------------------------------------

void ResultsFile::Impl::open_datasets() {
  {
    struct stat st;
    file_bytes = ::fstat(file.descriptor(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size)
                                                      : std::numeric_limits<std::uint64_t>::max();
  }
  auto need = [&](const std::string& p, std::size_t first_dim) {
    if (!file.exists(p))
      throw StoreError("results file '" + path + "' has no dataset '" + p +
                       "': the file is damaged or was not written by iclsweep; start a new results file");
    auto d = file.dataset(p);
    const auto dims = d.dims();
    if (dims.empty() || dims[0] != first_dim)
      throw StoreError("results file '" + path + "': dataset '" + p + "' has the wrong shape (expected " +
                       std::to_string(first_dim) + " rows)");
    // The sizes a file declares are checked against the bytes it really holds before anything is read
    // or allocated: a crafted 33 KB file must not make a reader allocate gigabytes. iclsweep's datasets
    // are contiguous and allocated at creation, so their storage is exactly elements x element size.
    const auto type = d.type();
    const hsize_t element = type.is_variable_string() ? 16 : type.size();  // a vlen element on disk: length + heap id
    const hsize_t n = d.num_elements();
    const hsize_t storage = d.storage_size();
    if (element == 0 || n > file_bytes / element + 1 || storage < n * element || storage > file_bytes)
      throw StoreError("results file '" + path + "' is damaged: dataset '" + p + "' declares " + std::to_string(n) +
                       " values (" + format_bytes(n * element) + ") but the file holds " + format_bytes(storage) +
                       " of data for it (file size " + format_bytes(file_bytes) +
                       "); copy it again from where it was written, or start a new results file");
    return d;
  };
  // The bookkeeping datasets hold one value per row.
  auto need_column = [&](const std::string& p, std::size_t first_dim) {
    auto d = need(p, first_dim);
    if (d.dims().size() != 1)
      throw StoreError("results file '" + path + "': dataset '" + p + "' has the wrong shape (expected " +
                       std::to_string(first_dim) + " rows, one value each): the file is damaged or was not written by "
                       "iclsweep; start a new results file");
    return d;
  };
  // The commit byte is read as uint8: any other element type would be converted silently.
  auto need_uint8 = [&](const std::string& p, std::size_t first_dim) {
    auto d = need_column(p, first_dim);
    const auto t = d.type();
    if (t.type_class() != H5T_INTEGER || t.size() != 1)
      throw StoreError("results file '" + path + "': dataset '" + p + "' does not hold uint8 status bytes: the file is "
                       "damaged or was not written by iclsweep; start a new results file");
    return d;
  };
  const std::size_t P = num_points;
  need_column("points/index", P);
  need_column("points/seed", P);
  need_column("points/params_text", P);
  id = need_column("points/id", P);
  status = need_uint8("points/status", P);
  error = need_column("points/error", P);
  rank = need_column("points/rank", P);
  host = need_column("points/host", P);
  start_time = need_column("points/start_time", P);
  end_time = need_column("points/end_time", P);
  wall_time = need_column("points/wall_time", P);
  // A file from before per-point CPU time keeps its layout (writing points changes no metadata, which
  // the crash safety rests on): its points, old and new, have none.
  if (file.exists("points/cpu_time")) cpu_time = need_column("points/cpu_time", P);
  const std::size_t K = kMaxLaunches;
  run_used = need_uint8("runs/used", K);
  run_start = need_column("runs/start_time", K);
  run_slurm = need_column("runs/slurm_job_id", K);
  run_ranks = need_column("runs/num_ranks", K);
  run_host = need_column("runs/hostname", K);
  run_commit = need_column("runs/git_commit", K);
  run_command = need_column("runs/command_line", K);

  // The schema as stored: field list, element type, per-point dims from the dataset shape.
  for (const auto& p : file.attribute<std::vector<std::string>>("fields")) {
    FieldSlot slot;
    slot.data = need("points/" + p, P);
    slot.spec.path = p;
    slot.spec.type = parse_field_type(slot.data.attribute<std::string>("field_type"), p);
    slot.spec.description = slot.data.attribute<std::string>("description");
    const auto dims = slot.data.dims();
    for (std::size_t i = 1; i < dims.size(); ++i) slot.spec.dims.push_back(static_cast<std::int64_t>(dims[i]));
    slot.row_size = product(slot.spec.dims);
    if (!slot.spec.dims.empty()) {
      slot.shape = need("points/" + p + "_shape", P);
      const auto shape_dims = slot.shape.dims();
      if (shape_dims.size() != 2 || shape_dims[1] != slot.spec.dims.size() ||
          slot.shape.type().type_class() != H5T_INTEGER)
        throw StoreError("results file '" + path + "' is damaged: dataset 'points/" + p + "_shape' should hold " +
                         std::to_string(slot.spec.dims.size()) + " integers per point (the rank of 'points/" + p +
                         "'); copy it again from where it was written, or start a new results file");
    }
    schema.fields.push_back(slot.spec);
    fields.push_back(std::move(slot));
  }

  const auto raw = status.read<std::uint8_t>();
  statuses.resize(P);
  for (std::size_t i = 0; i < P; ++i) {
    if (raw[i] > 2)
      throw StoreError("results file '" + path + "': /points/status[" + std::to_string(i) + "] = " +
                       std::to_string(raw[i]) + " is not 0, 1 or 2; the file is damaged");
    statuses[i] = static_cast<PointStatus>(raw[i]);
  }
  const auto used = run_used.read<std::uint8_t>();
  launches_used = static_cast<std::size_t>(std::count(used.begin(), used.end(), std::uint8_t{1}));
}

namespace {

// The causes a user can act on, found before HDF5 is asked: missing, a directory, unreadable, not HDF5.
void check_readable_results_file(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT)
      throw StoreError("results file '" + path + "' does not exist: check the path, or start the sweep with `iclsweep run`",
                       err);
    throw StoreError(system_cause(err) + ": cannot open results file '" + path + "'", err);
  }
  if (S_ISDIR(st.st_mode))
    throw StoreError("'" + path + "' is a directory, not a results file: pass the .h5 file `iclsweep run` wrote", EISDIR);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    throw StoreError(system_cause(err) + ": cannot read results file '" + path + "': check its permissions (ls -l)", err);
  }
  ::close(fd);
  if (!S_ISREG(st.st_mode) || !h5::File::is_hdf5(path))
    throw StoreError("'" + path + "' is not an HDF5 file, so not an iclsweep results file: pass the .h5 file that "
                     "`iclsweep run` wrote, or choose a new output path");
}

}  // namespace

// A root attribute of a file being opened; one of the wrong type (a hand-edited or foreign file) is named,
// not reported through HDF5's conversion trace.
template <class T>
static T checked_root_attribute(const h5::File& f, const std::string& path, const char* name) {
  try {
    return f.attribute<T>(name);
  } catch (const std::exception&) {
    throw StoreError("results file '" + path + "': root attribute '" + name + "' does not have the type iclsweep "
                     "writes (docs/results-format.md): the file is damaged or was not written by iclsweep; start a new "
                     "results file");
  }
}

ResultsFile ResultsFile::open_validated(const std::string& path, bool writable, const Options& options, WriterLock lock) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = options;
  impl->writable = writable;
  impl->lock = std::move(lock);
  const auto fapl = results_fapl();
  try {
    impl->file = h5::File(path, writable ? h5::FileMode::ReadWrite : h5::FileMode::ReadOnly, &fapl);
  } catch (const StoreError& e) {
    if (e.sys_errno != 0) throw;  // the OS cause is already the headline
    // HDF5 recognised the file but cannot read its structure: cut short (an incomplete copy) or damaged.
    const bool truncated = e.detail.find("truncated file") != std::string::npos;
    throw StoreError("results file '" + path + "' " +
                         (truncated ? "is truncated (an incomplete copy or a full disk?)" : "is damaged") +
                         ": HDF5 cannot open it; copy it again from where it was written, or start a new results file",
                     0, e.detail);
  }
  if (writable && impl->lock.valid()) {
    // The name must still lead to the file we locked (not one put there between the lock and the open).
    struct stat st;
    if (::fstat(impl->file.descriptor(), &st) != 0 || st.st_dev != impl->lock.identity().device ||
        st.st_ino != impl->lock.identity().inode)
      throw StoreError("results file '" + path + "' was replaced by another process while it was being opened: rerun "
                       "the command",
                       EBUSY);
  }
  auto& f = impl->file;
  if (!f.has_attribute("format") || checked_root_attribute<std::string>(f, path, "format") != kFormatName)
    throw StoreError("'" + path + "' is an HDF5 file but not an iclsweep results file (no root attribute format = '" +
                     std::string(kFormatName) + "'): pass the file `iclsweep run` wrote, or choose a new output path");
  if (!f.has_attribute("format_version"))
    throw StoreError("results file '" + path + "' has no root attribute format_version: the file is damaged or was not "
                     "written by iclsweep; start a new results file");
  const auto version = checked_root_attribute<std::int32_t>(f, path, "format_version");
  if (version != kFormatVersion) {
    const std::string writer = f.has_attribute("git_commit") ? f.attribute<std::string>("git_commit") : "unknown";
    throw StoreError("results file '" + path + "' has layout version " + std::to_string(version) + ", but this iclsweep (" +
                     build::version + ", " + build::git_commit + ") reads version " + std::to_string(kFormatVersion) +
                     ": resume or inspect it with the iclsweep that wrote it (git commit " + writer +
                     "), or start a new results file");
  }
  const auto num_points = checked_root_attribute<std::int64_t>(f, path, "num_points");
  if (num_points < 1)
    throw StoreError("results file '" + path + "': root attribute num_points = " + std::to_string(num_points) +
                     " (a results file has at least one point): the file is damaged; start a new results file");
  {
    // Every point holds at least its status byte and its 16-byte id: a count the file cannot hold is refused
    // before anything is sized by it.
    struct stat st;
    if (::fstat(f.descriptor(), &st) == 0 && static_cast<std::uint64_t>(num_points) > static_cast<std::uint64_t>(st.st_size) / 17)
      throw StoreError("results file '" + path + "' is damaged: root attribute num_points = " + std::to_string(num_points) +
                       " cannot fit in its " + format_bytes(static_cast<std::uint64_t>(st.st_size)) +
                       "; copy it again from where it was written, or start a new results file");
  }
  impl->num_points = static_cast<std::size_t>(num_points);
  impl->grid_hash = checked_root_attribute<std::string>(f, path, "grid_hash");
  impl->open_datasets();
  return ResultsFile(std::move(impl));
}

ResultsFile ResultsFile::open(const std::string& path, bool writable, const Options& options) {
  check_readable_results_file(path);
  if (!writable) return open_validated(path, false, options, WriterLock{});
  // Everything that can refuse the file is checked on a read-only open first, so a refused resume
  // (another grid, another layout, a damaged file, a live writer) never opens it for writing: opening
  // for writing alone rewrites the superblock's flags and the file's mtime.
  {
    const ResultsFile probe = open_validated(path, false, options, WriterLock{});
    if (options.check_before_writing) options.check_before_writing(probe);
  }
  WriterLock lock = WriterLock::acquire(path, "results file");
  remove_stale_temporaries(path);  // a resume cleans up after killed writers too, as a new file does
  return open_validated(path, true, options, std::move(lock));
}

ResultsFile::ResultsFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ResultsFile::ResultsFile(ResultsFile&&) noexcept = default;
ResultsFile& ResultsFile::operator=(ResultsFile&&) noexcept = default;
ResultsFile::~ResultsFile() = default;

const std::string& ResultsFile::path() const { return impl_->path; }
std::size_t ResultsFile::num_points() const { return impl_->num_points; }
const std::string& ResultsFile::grid_hash() const { return impl_->grid_hash; }
const ResultSchema& ResultsFile::schema() const { return impl_->schema; }

void ResultsFile::flush() { impl_->flush(); }
// Members go in reverse order: datasets, then the file (so H5Fclose really closes it), then the lock.
void ResultsFile::close() { impl_.reset(); }

// ---- writing ------------------------------------------------------------------------------

void ResultsFile::write_point(std::size_t index, const PointMeta& meta, const PointRecord& record) {
  stage_point(index, meta, record);
  commit_staged();
}

void ResultsFile::stage_point(std::size_t index, const PointMeta& meta, const PointRecord& record) {
  auto& s = *impl_;
  s.require_writable("write points");
  s.require_index(index);
  if (meta.status == PointStatus::Pending)
    throw StoreError("results file '" + s.path + "': point " + std::to_string(index) +
                     " written with status pending; a result is done or failed");
  const std::string where = "results file '" + s.path + "', point " + std::to_string(index) + ": field '";
  // Validate everything before the first byte is written.
  for (const auto& [name, values] : record.fields) {
    const FieldSpec* spec = s.schema.find(name);
    if (!spec) {
      std::string known;
      for (const auto& f : s.schema.fields) known += (known.empty() ? "" : ", ") + f.path;
      throw StoreError(where + name + "' is not in the results schema (fields: " + known +
                       "); declare it in the model kind's ResultSchema");
    }
    if (values.dims.size() != spec->dims.size())
      throw StoreError(where + name + "' has rank " + std::to_string(values.dims.size()) + " " + dims_text(values.dims) +
                       ", the schema says " + dims_text(spec->dims));
    for (std::size_t i = 0; i < values.dims.size(); ++i)
      if (values.dims[i] < 0 || values.dims[i] > spec->dims[i])
        throw StoreError(where + name + "' has dims " + dims_text(values.dims) + ", larger than the schema's " +
                         dims_text(spec->dims) + "; widen the field in the ResultSchema (ResultSchema::merge)");
    if (values.values.size() != product(values.dims))
      throw StoreError(where + name + "' has " + std::to_string(values.values.size()) + " values for dims " +
                       dims_text(values.dims));
  }

  s.require_not_staged(index);
  Impl::Staged st;
  st.index = index;
  st.status = meta.status == PointStatus::Failed ? PointStatus::Failed : PointStatus::Done;
  st.meta = meta;
  st.rows.reserve(s.fields.size());
  st.shapes.reserve(s.fields.size());
  for (auto& slot : s.fields) {
    const auto it = record.fields.find(slot.spec.path);
    std::vector<double> row(slot.row_size, kNaN);
    const std::size_t rank = slot.spec.dims.size();
    std::vector<std::int32_t> shape_row(rank, -1);
    if (it != record.fields.end()) {
      const auto& v = it->second;
      // Copy into the padded row: source index -> multi-index -> offset in the schema's dims.
      for (std::size_t src = 0; src < v.values.size(); ++src) {
        std::size_t rest = src, dst = 0, stride = 1;
        for (std::size_t k = rank; k-- > 0;) {
          const auto n = static_cast<std::size_t>(v.dims[k]);
          dst += (rest % n) * stride;
          rest /= n;
          stride *= static_cast<std::size_t>(slot.spec.dims[k]);
        }
        row[dst] = v.values[src];
      }
      for (std::size_t k = 0; k < rank; ++k) shape_row[k] = static_cast<std::int32_t>(v.dims[k]);
    }
    st.rows.push_back(std::move(row));
    st.shapes.push_back(std::move(shape_row));
  }
  s.staged.push_back(std::move(st));
}

void ResultsFile::mark_failed(std::size_t index, const PointMeta& meta) {
  stage_failure(index, meta);
  commit_staged();
}

void ResultsFile::stage_failure(std::size_t index, const PointMeta& meta) {
  auto& s = *impl_;
  s.require_writable("mark points failed");
  s.require_index(index);
  s.require_not_staged(index);
  Impl::Staged st;
  st.index = index;
  st.status = PointStatus::Failed;
  st.meta = meta;
  s.staged.push_back(std::move(st));
}

// One H5Dwrite per dataset for the whole batch (rows in ascending order), instead of one per point and
// dataset: that per-call cost, not the flushes, is what a commit costs.
void ResultsFile::commit_staged() {
  auto& s = *impl_;
  if (s.staged.empty()) return;
  std::vector<Impl::Staged> batch;
  batch.swap(s.staged);  // cleared whatever happens below
  std::sort(batch.begin(), batch.end(), [](const Impl::Staged& a, const Impl::Staged& b) { return a.index < b.index; });
  // Points written again (a retry, a crash mid-write) go back to pending first, so a status byte never
  // vouches for a mix of old and new rows.
  bool reset = false;
  for (const auto& st : batch)
    if (s.statuses[st.index] != PointStatus::Pending) {
      const std::uint8_t pending = 0;
      s.status.write_row<std::uint8_t>(st.index, &pending, 1);
      s.statuses[st.index] = PointStatus::Pending;
      reset = true;
    }
  if (reset) s.flush();

  std::vector<hsize_t> all_rows, data_rows;
  std::vector<const Impl::Staged*> with_data;
  for (const auto& st : batch) {
    all_rows.push_back(st.index);
    if (!st.rows.empty()) {
      data_rows.push_back(st.index);
      with_data.push_back(&st);
    }
  }
  std::vector<double> doubles;
  std::vector<float> floats;
  std::vector<std::int32_t> ints, shapes;
  for (std::size_t k = 0; k < s.fields.size() && !with_data.empty(); ++k) {
    auto& slot = s.fields[k];
    doubles.clear();
    for (const auto* st : with_data) doubles.insert(doubles.end(), st->rows[k].begin(), st->rows[k].end());
    if (slot.spec.type == FieldType::Int32) {
      ints.resize(doubles.size());
      for (std::size_t i = 0; i < doubles.size(); ++i)
        ints[i] = std::isnan(doubles[i]) ? -1 : static_cast<std::int32_t>(std::llround(doubles[i]));
      slot.data.write_rows<std::int32_t>(data_rows, ints.data(), ints.size());
    } else if (slot.spec.type == FieldType::Float32) {
      // Converted here: an HDF5 conversion path costs a buffer allocation and clear per call.
      floats.assign(doubles.begin(), doubles.end());
      slot.data.write_rows<float>(data_rows, floats.data(), floats.size());
    } else {
      slot.data.write_rows<double>(data_rows, doubles.data(), doubles.size());
    }
    if (!slot.spec.dims.empty()) {
      shapes.clear();
      for (const auto* st : with_data) shapes.insert(shapes.end(), st->shapes[k].begin(), st->shapes[k].end());
      slot.shape.write_rows<std::int32_t>(data_rows, shapes.data(), shapes.size());
    }
  }
  std::vector<std::string> errors, hosts;
  std::vector<std::int32_t> ranks;
  std::vector<double> starts, ends, walls, cpus;
  for (const auto& st : batch) {
    std::string err = st.meta.error;
    if (err.size() > kErrorWidth - 1) err = err.substr(0, kErrorWidth - 4) + "...";
    errors.push_back(err);
    hosts.push_back(st.meta.host);
    ranks.push_back(st.meta.rank);
    starts.push_back(st.meta.start_time);
    ends.push_back(st.meta.end_time);
    walls.push_back(std::isnan(st.meta.wall_time) ? st.meta.end_time - st.meta.start_time : st.meta.wall_time);
    cpus.push_back(st.meta.cpu_time);
  }
  s.error.write_string_rows(all_rows, errors);
  s.rank.write_rows<std::int32_t>(all_rows, ranks.data(), ranks.size());
  s.host.write_string_rows(all_rows, hosts);
  s.start_time.write_rows<double>(all_rows, starts.data(), starts.size());
  s.end_time.write_rows<double>(all_rows, ends.data(), ends.size());
  s.wall_time.write_rows<double>(all_rows, walls.data(), walls.size());
  if (s.cpu_time) s.cpu_time.write_rows<double>(all_rows, cpus.data(), cpus.size());

  s.flush();  // every staged row reaches the OS before any of their status bytes
  std::vector<std::uint8_t> bytes;
  for (const auto& st : batch) bytes.push_back(static_cast<std::uint8_t>(st.status));
  s.status.write_rows<std::uint8_t>(all_rows, bytes.data(), bytes.size());
  s.flush();
  for (const auto& st : batch) s.statuses[st.index] = st.status;
}

std::optional<std::size_t> ResultsFile::record_launch(const LaunchInfo& launch) {
  auto& s = *impl_;
  s.require_writable("record launches");
  if (s.launches_used >= kMaxLaunches) return std::nullopt;
  const std::size_t k = s.launches_used;
  s.run_start.write_row<double>(k, &launch.start_time, 1);
  s.run_slurm.write_string_row(k, launch.slurm_job_id);
  s.run_ranks.write_row<std::int32_t>(k, &launch.num_ranks, 1);
  s.run_host.write_string_row(k, launch.hostname);
  s.run_commit.write_string_row(k, launch.git_commit);
  s.run_command.write_string_row(k, launch.command_line);
  s.flush();
  const std::uint8_t used = 1;
  s.run_used.write_row<std::uint8_t>(k, &used, 1);
  s.flush();
  s.launches_used = k + 1;
  return k;
}

// ---- reading ------------------------------------------------------------------------------

std::vector<PointStatus> ResultsFile::statuses() const { return impl_->statuses; }
std::size_t ResultsFile::count(PointStatus st) const {
  return static_cast<std::size_t>(std::count(impl_->statuses.begin(), impl_->statuses.end(), st));
}
std::vector<std::string> ResultsFile::point_ids() const { return impl_->id.read_strings(); }
std::vector<std::int32_t> ResultsFile::ranks() const { return impl_->rank.read<std::int32_t>(); }
std::vector<std::string> ResultsFile::hosts() const { return impl_->host.read_strings(); }
std::vector<double> ResultsFile::start_times() const { return impl_->start_time.read<double>(); }
std::vector<double> ResultsFile::end_times() const { return impl_->end_time.read<double>(); }
std::vector<double> ResultsFile::wall_times() const { return impl_->wall_time.read<double>(); }
std::vector<double> ResultsFile::cpu_times() const {
  if (!impl_->cpu_time) return std::vector<double>(impl_->num_points, kNaN);
  return impl_->cpu_time.read<double>();
}
std::vector<std::string> ResultsFile::errors() const { return impl_->error.read_strings(); }
std::vector<std::string> ResultsFile::params_texts() const { return impl_->file.read_strings("points/params_text"); }
std::string ResultsFile::params_text(std::size_t index) const {
  impl_->require_index(index);
  return impl_->file.dataset("points/params_text").read_string_row(index);
}
std::vector<std::int64_t> ResultsFile::seeds() const { return impl_->file.read_dataset<std::int64_t>("points/seed"); }

std::vector<std::string> ResultsFile::grid_keys() const {
  return impl_->file.attribute<std::vector<std::string>>("grid_keys");
}
std::vector<std::string> ResultsFile::numeric_param_keys() const {
  std::vector<std::string> out;
  const auto params = impl_->file.open_group("points/params");
  for (const auto& key : params.member_names())
    if (params.dataset(key).type().type_class() == H5T_FLOAT) out.push_back(key);
  return out;
}

bool ResultsFile::writer_active(const std::string& path) {
  // The writer lock is an OFD write lock on the file itself (WriterLock, store/output_file.hpp), so every
  // name of the file leads to it. F_OFD_GETLK asks whether a read lock would conflict, which needs only a
  // read-only descriptor: a reader without write permission can tell too, and nothing is locked.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return false;
  struct flock probe = {};
  probe.l_type = F_RDLCK;
  probe.l_whence = SEEK_SET;
  probe.l_start = 0;
  probe.l_len = 0;
  const bool held = ::fcntl(fd, F_OFD_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
  ::close(fd);
  return held;
}

std::vector<LaunchInfo> ResultsFile::launches() const {
  const auto& s = *impl_;
  const auto used = s.run_used.read<std::uint8_t>();
  const auto start = s.run_start.read<double>();
  const auto slurm = s.run_slurm.read_strings();
  const auto ranks = s.run_ranks.read<std::int32_t>();
  const auto hosts = s.run_host.read_strings();
  const auto commits = s.run_commit.read_strings();
  const auto commands = s.run_command.read_strings();
  std::vector<LaunchInfo> out;
  for (std::size_t k = 0; k < used.size(); ++k)
    if (used[k] == 1) out.push_back({start[k], slurm[k], ranks[k], hosts[k], commits[k], commands[k]});
  return out;
}

PointMeta ResultsFile::meta(std::size_t index) const {
  const auto& s = *impl_;
  s.require_index(index);
  PointMeta m;
  m.status = s.statuses[index];
  m.error = s.error.read_string_row(index);
  m.rank = s.rank.read_row<std::int32_t>(index)[0];
  m.host = s.host.read_string_row(index);
  m.start_time = s.start_time.read_row<double>(index)[0];
  m.end_time = s.end_time.read_row<double>(index)[0];
  m.wall_time = s.wall_time.read_row<double>(index)[0];
  if (s.cpu_time) m.cpu_time = s.cpu_time.read_row<double>(index)[0];
  return m;
}

namespace {
// A recorded shape (one row of `<field>_shape`) must lie within the field's per-point dims: -1 everywhere
// (not written) or 0 <= shape[k] <= dims[k]. Anything else is a damaged file, named by dataset and row.
void check_shape_row(const std::string& path, const FieldSlot& slot, std::size_t index, const std::int32_t* shape,
                     std::size_t n) {
  const std::size_t rank = slot.spec.dims.size();
  const bool unwritten = n == rank && std::all_of(shape, shape + n, [](std::int32_t d) { return d == -1; });
  if (unwritten) return;
  bool ok = n == rank;
  for (std::size_t k = 0; ok && k < rank; ++k) ok = shape[k] >= 0 && shape[k] <= slot.spec.dims[k];
  if (ok) return;
  std::string recorded, allowed;
  for (std::size_t j = 0; j < n; ++j) recorded += (j ? ", " : "") + std::to_string(shape[j]);
  for (std::size_t j = 0; j < rank; ++j) allowed += (j ? ", " : "") + std::to_string(slot.spec.dims[j]);
  throw StoreError("results file '" + path + "' is damaged: dataset 'points/" + slot.spec.path + "_shape' row " +
                   std::to_string(index) + " is (" + recorded + "), outside the field's per-point shape (" + allowed +
                   ") (each value must be -1 for 'not recorded', or 0..its size): copy the file again from where it "
                   "was written, or start a new results file");
}
}  // namespace

// Every model kind records at least one curve: a point whose status byte says done while none of its
// `_shape` rows is recorded is a damaged file (a status byte written over data that never was), not a result.
static StoreError done_without_data(const std::string& path, std::size_t index) {
  return StoreError("results file '" + path + "' is damaged: /points/status[" + std::to_string(index) +
                    "] = 1 (done) but the point recorded no data (every 'points/*_shape' row " + std::to_string(index) +
                    " is -1): copy the file again from where it was written, or rerun that point (set its status to 0 "
                    "with h5py and resume)");
}

void ResultsFile::check_recorded_shapes() const {
  const auto& s = *impl_;
  bool any_array = false;
  std::vector<bool> recorded(s.num_points, false);
  for (const auto& slot : s.fields) {
    const std::size_t rank = slot.spec.dims.size();
    if (rank == 0) continue;
    any_array = true;
    const auto all = slot.shape.read<std::int32_t>();
    for (std::size_t i = 0; i < s.num_points; ++i) {
      if (s.statuses[i] == PointStatus::Pending) continue;
      const std::int32_t* row = all.data() + i * rank;
      check_shape_row(s.path, slot, i, row, rank);
      if (row[0] != -1) recorded[i] = true;
    }
  }
  if (any_array)
    for (std::size_t i = 0; i < s.num_points; ++i)
      if (s.statuses[i] == PointStatus::Done && !recorded[i]) throw done_without_data(s.path, i);
}

PointRecord ResultsFile::read_point(std::size_t index) const {
  const auto& s = *impl_;
  s.require_index(index);
  PointRecord rec;
  bool any_array = false, any_recorded = false;
  for (const auto& slot : s.fields) {
    const auto row = slot.data.read_row<double>(index);
    const std::size_t rank = slot.spec.dims.size();
    if (rank == 0) {
      rec.fields[slot.spec.path] = FieldValues{{}, {row[0]}};
      continue;
    }
    any_array = true;
    const auto shape = slot.shape.read_row<std::int32_t>(index);
    if (std::all_of(shape.begin(), shape.end(), [](std::int32_t d) { return d == -1; })) continue;  // not written
    any_recorded = true;
    // Every recorded dimension must lie within the field's row (a damaged or hand-edited _shape would
    // read past it).
    check_shape_row(s.path, slot, index, shape.data(), shape.size());
    FieldValues v;
    v.dims.assign(shape.begin(), shape.end());
    v.values.resize(product(v.dims));
    for (std::size_t dst = 0; dst < v.values.size(); ++dst) {
      std::size_t rest = dst, src = 0, stride = 1;
      for (std::size_t k = rank; k-- > 0;) {
        const auto n = static_cast<std::size_t>(v.dims[k]);
        src += (rest % n) * stride;
        rest /= n;
        stride *= static_cast<std::size_t>(slot.spec.dims[k]);
      }
      v.values[dst] = row[src];
    }
    rec.fields[slot.spec.path] = std::move(v);
  }
  if (any_array && !any_recorded && s.statuses[index] == PointStatus::Done) throw done_without_data(s.path, index);
  return rec;
}

std::vector<std::pair<std::string, std::string>> ResultsFile::input_fingerprints() const {
  if (!impl_->file.has_attribute(kInputFingerprintsAttribute)) return {};
  std::string text;
  try {
    text = impl_->file.attribute<std::string>(kInputFingerprintsAttribute);
  } catch (const std::exception&) {
    throw StoreError("results file '" + impl_->path + "': root attribute " + kInputFingerprintsAttribute +
                     " is not text: the file is damaged; start a new results file");
  }
  return parse_input_fingerprints(text);
}

std::string format_input_fingerprints(const InputFingerprints& inputs) {
  std::string text;
  for (const auto& [name, value] : inputs) text += name + "\t" + value + "\n";
  return text;
}

InputFingerprints parse_input_fingerprints(const std::string& text) {
  InputFingerprints out;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(begin, end - begin);
    const auto tab = line.find('\t');
    if (tab != std::string::npos) out.emplace_back(line.substr(0, tab), line.substr(tab + 1));
    begin = end + 1;
  }
  return out;
}

std::vector<std::string> changed_inputs(const InputFingerprints& before, const InputFingerprints& now,
                                        const std::string& before_name, const std::string& now_name) {
  std::vector<std::string> out;
  for (const auto& [name, value] : now)
    for (const auto& [old_name, old_value] : before)
      if (old_name == name && old_value != value)
        out.push_back(name + ": " + old_value + " " + before_name + ", " + value + " " + now_name);
  return out;
}

std::string ResultsFile::root_attribute(const std::string& name) const {
  return impl_->file.attribute<std::string>(name);
}

}  // namespace icl
