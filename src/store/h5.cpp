#include "iclsweep/store/h5.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <functional>

#include "iclsweep/store/output_file.hpp"

namespace icl::h5 {

// ---- errors -------------------------------------------------------------------------------

void init_library() {
  // Function-local static: runs once, before the first call whose failure we want to report
  // ourselves instead of having HDF5 dump its stack on stderr.
  static const bool initialised = [] {
    H5open();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)initialised;
}

namespace {

struct StackEntry {
  hid_t major, minor;
  std::string function, description;
};

herr_t collect_entry(unsigned /*n*/, const H5E_error2_t* e, void* out) {
  static_cast<std::vector<StackEntry>*>(out)->push_back(
      {e->maj_num, e->min_num, e->func_name ? e->func_name : "", e->desc ? e->desc : ""});
  return 0;
}

std::string message_text(hid_t msg_id) {
  char buf[256] = {0};
  H5E_type_t type;
  if (H5Eget_msg(msg_id, &type, buf, sizeof buf) < 0) return "";
  return buf;
}

}  // namespace

std::string error_stack_text() {
  // Copy the entries first: message look-ups are API calls of their own.
  std::vector<StackEntry> entries;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_entry, &entries);
  std::string text;
  for (const auto& e : entries) {
    if (!text.empty()) text += "; ";
    std::string description = e.description;
    for (char& c : description)
      if (c == '\n') c = ' ';  // HDF5 embeds ctime()'s newline in some messages
    text += e.function + ": " + description;
    const std::string minor = message_text(e.minor);
    if (!minor.empty()) text += " (" + minor + ")";
  }
  H5Eclear2(H5E_DEFAULT);
  return text;
}

int stack_errno(const std::string& stack) {
  // The sec2 driver reports the system call's failure as "..., errno = 28, error message = '...'".
  const auto at = stack.find("errno = ");
  if (at == std::string::npos) return 0;
  return std::atoi(stack.c_str() + at + 8);
}

void throw_store_error(const std::string& operation, const std::string& subject) {
  std::string stack = error_stack_text();
  if (stack.empty()) stack = "no HDF5 error stack";
  const int err = stack_errno(stack);
  // The cause a user can act on comes first; HDF5's stack follows as detail.
  if (err != 0) throw StoreError(system_cause(err) + ": cannot " + operation + " '" + subject + "'", err, "HDF5: " + stack);
  throw StoreError("HDF5: cannot " + operation + " '" + subject + "'", 0, stack);
}

void Handle::close() {
  if (id_ < 0) return;
  const hid_t id = id_;
  id_ = H5I_INVALID_HID;
  if (close_fn_ && close_fn_(id) < 0) throw_store_error("close", "HDF5 object");
}

std::string library_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

// ---- datatypes ----------------------------------------------------------------------------

Datatype Datatype::variable_string() {
  init_library();
  Datatype t(check_id(H5Tcopy(H5T_C_S1), "copy string datatype", "H5T_C_S1"));
  check_status(H5Tset_size(t.id(), H5T_VARIABLE), "set string size", "variable-length string");
  check_status(H5Tset_cset(t.id(), H5T_CSET_UTF8), "set string charset", "variable-length string");
  return t;
}

Datatype Datatype::fixed_string(std::size_t width) {
  init_library();
  if (width == 0) throw StoreError("HDF5: a fixed-width string type needs width >= 1");
  Datatype t(check_id(H5Tcopy(H5T_C_S1), "copy string datatype", "H5T_C_S1"));
  check_status(H5Tset_size(t.id(), width), "set string size", "fixed-width string");
  check_status(H5Tset_strpad(t.id(), H5T_STR_NULLPAD), "set string padding", "fixed-width string");
  check_status(H5Tset_cset(t.id(), H5T_CSET_UTF8), "set string charset", "fixed-width string");
  return t;
}

H5T_class_t Datatype::type_class() const {
  const H5T_class_t c = H5Tget_class(id_);
  if (c == H5T_NO_CLASS) throw_store_error("get datatype class", "datatype");
  return c;
}
bool Datatype::is_string() const { return type_class() == H5T_STRING; }
bool Datatype::is_variable_string() const {
  return is_string() && check_tri(H5Tis_variable_str(id_), "query string type", "datatype");
}
std::size_t Datatype::size() const {
  const std::size_t s = H5Tget_size(id_);
  if (s == 0) throw_store_error("get datatype size", "datatype");
  return s;
}

// ---- dataspaces ---------------------------------------------------------------------------

Dataspace Dataspace::scalar() {
  init_library();
  return Dataspace(check_id(H5Screate(H5S_SCALAR), "create dataspace", "scalar"));
}

Dataspace Dataspace::simple(const Dims& dims) {
  if (dims.empty()) return scalar();
  init_library();
  return Dataspace(check_id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                            "create dataspace", "simple"));
}

Dims Dataspace::dims() const {
  const int rank = H5Sget_simple_extent_ndims(id_);
  if (rank < 0) throw_store_error("get dataspace rank", "dataspace");
  Dims d(static_cast<std::size_t>(rank));
  if (rank > 0) check_status(H5Sget_simple_extent_dims(id_, d.data(), nullptr), "get dataspace dims", "dataspace");
  return d;
}

hsize_t Dataspace::num_elements() const {
  const hssize_t n = H5Sget_simple_extent_npoints(id_);
  if (n < 0) throw_store_error("count dataspace elements", "dataspace");
  return static_cast<hsize_t>(n);
}

void Dataspace::select_row(hsize_t row) {
  Dims d = dims();
  if (d.empty()) throw StoreError("HDF5: cannot select row " + std::to_string(row) + " of a scalar dataspace");
  if (row >= d[0])
    throw StoreError("HDF5: row " + std::to_string(row) + " is outside the first dimension (" + std::to_string(d[0]) + ")");
  Dims start(d.size(), 0), count = d;
  start[0] = row;
  count[0] = 1;
  check_status(H5Sselect_hyperslab(id_, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
               "select hyperslab", "row " + std::to_string(row));
}

void Dataspace::select_rows(const std::vector<hsize_t>& rows) {
  Dims d = dims();
  if (d.empty() || rows.empty()) throw StoreError("HDF5: cannot select rows of a scalar dataspace, or no rows");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] >= d[0])
      throw StoreError("HDF5: row " + std::to_string(rows[i]) + " is outside the first dimension (" +
                       std::to_string(d[0]) + ")");
    if (i > 0 && rows[i] <= rows[i - 1]) throw StoreError("HDF5: rows to select must be ascending and distinct");
  }
  Dims start(d.size(), 0), count = d;
  bool first = true;
  for (std::size_t i = 0; i < rows.size();) {
    std::size_t j = i + 1;
    while (j < rows.size() && rows[j] == rows[j - 1] + 1) ++j;
    start[0] = rows[i];
    count[0] = static_cast<hsize_t>(j - i);
    check_status(H5Sselect_hyperslab(id_, first ? H5S_SELECT_SET : H5S_SELECT_OR, start.data(), nullptr,
                                     count.data(), nullptr),
                 "select hyperslab", "rows " + std::to_string(rows[i]) + ".." + std::to_string(rows[j - 1]));
    first = false;
    i = j;
  }
}

void Dataspace::select_rows(hsize_t first, hsize_t num_rows) {
  Dims d = dims();
  if (d.empty()) throw StoreError("HDF5: cannot select rows of a scalar dataspace");
  if (num_rows == 0 || first > d[0] || num_rows > d[0] - first)
    throw StoreError("HDF5: rows " + std::to_string(first) + ".." + std::to_string(first + num_rows) +
                     " are outside the first dimension (" + std::to_string(d[0]) + ")");
  Dims start(d.size(), 0), count = d;
  start[0] = first;
  count[0] = num_rows;
  check_status(H5Sselect_hyperslab(id_, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
               "select hyperslab", "rows " + std::to_string(first) + "+" + std::to_string(num_rows));
}

// ---- property lists -----------------------------------------------------------------------

static PropertyList make_plist(hid_t cls, const char* what) {
  init_library();
  return PropertyList(check_id(H5Pcreate(cls), "create property list", what));
}
PropertyList PropertyList::file_access() { return make_plist(H5P_FILE_ACCESS, "file access"); }
PropertyList PropertyList::file_create() { return make_plist(H5P_FILE_CREATE, "file create"); }
PropertyList PropertyList::dataset_create() { return make_plist(H5P_DATASET_CREATE, "dataset create"); }
PropertyList PropertyList::link_create() { return make_plist(H5P_LINK_CREATE, "link create"); }

PropertyList& PropertyList::libver_bounds(H5F_libver_t low, H5F_libver_t high) {
  check_status(H5Pset_libver_bounds(id_, low, high), "set library version bounds", "file access properties");
  return *this;
}
PropertyList& PropertyList::sec2_driver() {
  check_status(H5Pset_fapl_sec2(id_), "select the sec2 driver", "file access properties");
  return *this;
}
PropertyList& PropertyList::file_locking(bool use, bool ignore_when_disabled) {
  check_status(H5Pset_file_locking(id_, use, ignore_when_disabled), "set file locking", "file access properties");
  return *this;
}
PropertyList& PropertyList::sieve_buffer_size(std::size_t bytes) {
  check_status(H5Pset_sieve_buf_size(id_, bytes), "set sieve buffer size", "file access properties");
  return *this;
}
PropertyList& PropertyList::track_times(bool on) {
  check_status(H5Pset_obj_track_times(id_, on), "set time tracking", "object creation properties");
  return *this;
}
PropertyList& PropertyList::contiguous() {
  check_status(H5Pset_layout(id_, H5D_CONTIGUOUS), "set contiguous layout", "dataset creation properties");
  return *this;
}
PropertyList& PropertyList::compact() {
  check_status(H5Pset_layout(id_, H5D_COMPACT), "set compact layout", "dataset creation properties");
  return *this;
}
PropertyList& PropertyList::chunked(const Dims& chunk_dims) {
  check_status(H5Pset_chunk(id_, static_cast<int>(chunk_dims.size()), chunk_dims.data()), "set chunk dims",
               "dataset creation properties");
  return *this;
}
PropertyList& PropertyList::deflate(unsigned level) {
  check_status(H5Pset_deflate(id_, level), "set deflate filter", "dataset creation properties");
  return *this;
}
PropertyList& PropertyList::alloc_time_early() {
  check_status(H5Pset_alloc_time(id_, H5D_ALLOC_TIME_EARLY), "set early allocation", "dataset creation properties");
  return *this;
}
PropertyList& PropertyList::fill_time_alloc() {
  check_status(H5Pset_fill_time(id_, H5D_FILL_TIME_ALLOC), "set fill time", "dataset creation properties");
  return *this;
}
PropertyList& PropertyList::create_intermediate_groups() {
  check_status(H5Pset_create_intermediate_group(id_, 1), "enable intermediate groups", "link creation properties");
  return *this;
}

// ---- string element I/O shared by attributes and datasets ---------------------------------

namespace {

using RawRead = std::function<herr_t(hid_t mem_type, void* buffer)>;
using RawWrite = std::function<herr_t(hid_t mem_type, const void* buffer)>;

std::vector<std::string> read_strings_with(hid_t file_type, hid_t mem_space, std::size_t n, const RawRead& read,
                                           const std::string& subject) {
  // The memory type copies the file type so charset and padding match (HDF5 will not convert charsets).
  Datatype mem(check_id(H5Tcopy(file_type), "copy string datatype", subject));
  if (H5Tget_class(file_type) != H5T_STRING) throw StoreError("HDF5: '" + subject + "' does not hold strings");
  std::vector<std::string> out(n);
  if (n == 0) return out;
  if (mem.is_variable_string()) {
    std::vector<char*> buffer(n, nullptr);
    check_status(read(mem.id(), buffer.data()), "read strings", subject);
    for (std::size_t i = 0; i < n; ++i) out[i] = buffer[i] ? buffer[i] : "";
    H5Dvlen_reclaim(mem.id(), mem_space, H5P_DEFAULT, buffer.data());
  } else {
    const std::size_t width = mem.size();
    std::vector<char> buffer(n * width, '\0');
    check_status(read(mem.id(), buffer.data()), "read strings", subject);
    for (std::size_t i = 0; i < n; ++i) {
      const char* s = buffer.data() + i * width;
      out[i].assign(s, strnlen(s, width));
    }
  }
  return out;
}

void write_strings_with(hid_t file_type, const std::vector<std::string>& data, const RawWrite& write,
                        const std::string& subject) {
  Datatype mem(check_id(H5Tcopy(file_type), "copy string datatype", subject));
  if (H5Tget_class(file_type) != H5T_STRING) throw StoreError("HDF5: '" + subject + "' does not hold strings");
  if (mem.is_variable_string()) {
    std::vector<const char*> pointers(data.size());
    for (std::size_t i = 0; i < data.size(); ++i) pointers[i] = data[i].c_str();
    check_status(write(mem.id(), pointers.data()), "write strings", subject);
  } else {
    const std::size_t width = mem.size();
    std::vector<char> buffer(data.size() * width, '\0');  // NUL padding; longer strings are truncated
    for (std::size_t i = 0; i < data.size(); ++i)
      std::memcpy(buffer.data() + i * width, data[i].data(), std::min(width, data[i].size()));
    check_status(write(mem.id(), buffer.data()), "write strings", subject);
  }
}

template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {
  using element = T;
};

}  // namespace

// ---- attributes ---------------------------------------------------------------------------

Datatype Attribute::type() const { return Datatype(check_id(H5Aget_type(id_), "get attribute type", name_)); }
Dataspace Attribute::space() const { return Dataspace(check_id(H5Aget_space(id_), "get attribute dataspace", name_)); }

std::string Object::object_path() const {
  const ssize_t n = H5Iget_name(id_, nullptr, 0);
  if (n <= 0) return "?";
  std::string s(static_cast<std::size_t>(n) + 1, '\0');
  H5Iget_name(id_, s.data(), s.size());
  s.resize(static_cast<std::size_t>(n));
  return s;
}

bool Object::has_attribute(const std::string& name) const {
  return check_tri(H5Aexists(id_, name.c_str()), "check attribute", object_path() + "@" + name);
}

void Object::delete_attribute(const std::string& name) const {
  check_status(H5Adelete(id_, name.c_str()), "delete attribute", object_path() + "@" + name);
}

Attribute Object::open_attribute(const std::string& name) const {
  if (!has_attribute(name))
    throw StoreError("HDF5: attribute '" + name + "' is missing on '" + object_path() +
                     "' (is this file from another iclsweep version?)");
  return Attribute(check_id(H5Aopen(id_, name.c_str(), H5P_DEFAULT), "open attribute", object_path() + "@" + name),
                   name);
}

static herr_t collect_attribute_name(hid_t, const char* name, const H5A_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->push_back(name);
  return 0;
}

std::vector<std::string> Object::attribute_names() const {
  std::vector<std::string> names;
  hsize_t idx = 0;
  check_status(H5Aiterate2(id_, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_attribute_name, &names),
               "list attributes", object_path());
  return names;
}

template <class T>
void Object::set_attribute(const std::string& name, const T& value) const {
  const std::string subject = object_path() + "@" + name;
  if (has_attribute(name)) delete_attribute(name);
  if constexpr (std::is_same_v<T, std::string>) {
    Datatype type = Datatype::variable_string();
    Dataspace space = Dataspace::scalar();
    Attribute a(check_id(H5Acreate2(id_, name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
                         "create attribute", subject),
                name);
    write_strings_with(type.id(), {value}, [&](hid_t m, const void* b) { return H5Awrite(a.id(), m, b); }, subject);
  } else if constexpr (IsVector<T>::value) {
    using E = typename IsVector<T>::element;
    // An empty vector gets a null dataspace (h5py: h5py.Empty) and no write: HDF5 rejects null buffers.
    Dataspace space = value.empty() ? Dataspace(check_id(H5Screate(H5S_NULL), "create dataspace", subject))
                                    : Dataspace::simple({static_cast<hsize_t>(value.size())});
    if (value.empty()) {
      Datatype type = std::is_same_v<E, std::string> ? Datatype::variable_string() : Datatype::native<E>();
      Attribute(check_id(H5Acreate2(id_, name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
                         "create attribute", subject),
                name);
      return;
    }
    if constexpr (std::is_same_v<E, std::string>) {
      Datatype type = Datatype::variable_string();
      Attribute a(check_id(H5Acreate2(id_, name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
                           "create attribute", subject),
                  name);
      write_strings_with(type.id(), value, [&](hid_t m, const void* b) { return H5Awrite(a.id(), m, b); }, subject);
    } else {
      Attribute a(check_id(H5Acreate2(id_, name.c_str(), native_type_id<E>(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
                           "create attribute", subject),
                  name);
      check_status(H5Awrite(a.id(), native_type_id<E>(), value.data()), "write attribute", subject);
    }
  } else {
    Dataspace space = Dataspace::scalar();
    Attribute a(check_id(H5Acreate2(id_, name.c_str(), native_type_id<T>(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
                         "create attribute", subject),
                name);
    check_status(H5Awrite(a.id(), native_type_id<T>(), &value), "write attribute", subject);
  }
}

template <class T>
T Object::attribute(const std::string& name) const {
  const std::string subject = object_path() + "@" + name;
  Attribute a = open_attribute(name);
  Dataspace space = a.space();
  const hsize_t n = H5Sget_simple_extent_type(space.id()) == H5S_NULL ? 0 : space.num_elements();
  if constexpr (IsVector<T>::value) {
    if (n == 0) return T{};
  }
  if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::vector<std::string>>) {
    Datatype ftype = a.type();
    auto values = read_strings_with(ftype.id(), space.id(), n,
                                    [&](hid_t m, void* b) { return H5Aread(a.id(), m, b); }, subject);
    if constexpr (std::is_same_v<T, std::string>) {
      if (n != 1) throw StoreError("HDF5: attribute '" + subject + "' holds " + std::to_string(n) + " strings, not one");
      return values[0];
    } else {
      return values;
    }
  } else if constexpr (IsVector<T>::value) {
    using E = typename IsVector<T>::element;
    T values(n);
    check_status(H5Aread(a.id(), native_type_id<E>(), values.data()), "read attribute", subject);
    return values;
  } else {
    if (n != 1) throw StoreError("HDF5: attribute '" + subject + "' holds " + std::to_string(n) + " values, not one");
    T value{};
    check_status(H5Aread(a.id(), native_type_id<T>(), &value), "read attribute", subject);
    return value;
  }
}

#define ICL_H5_ATTRIBUTE_TYPES(T)                                                          \
  template void Object::set_attribute<T>(const std::string&, const T&) const;              \
  template void Object::set_attribute<std::vector<T>>(const std::string&, const std::vector<T>&) const; \
  template T Object::attribute<T>(const std::string&) const;                               \
  template std::vector<T> Object::attribute<std::vector<T>>(const std::string&) const;
ICL_H5_ATTRIBUTE_TYPES(float)
ICL_H5_ATTRIBUTE_TYPES(double)
ICL_H5_ATTRIBUTE_TYPES(std::int32_t)
ICL_H5_ATTRIBUTE_TYPES(std::int64_t)
ICL_H5_ATTRIBUTE_TYPES(std::uint8_t)
ICL_H5_ATTRIBUTE_TYPES(std::string)
#undef ICL_H5_ATTRIBUTE_TYPES

// ---- datasets -----------------------------------------------------------------------------

Datatype Dataset::type() const { return Datatype(check_id(H5Dget_type(id_), "get dataset type", path_)); }
Dataspace Dataset::space() const { return Dataspace(check_id(H5Dget_space(id_), "get dataset dataspace", path_)); }
Dims Dataset::dims() const { return space().dims(); }
hsize_t Dataset::num_elements() const { return space().num_elements(); }
hsize_t Dataset::storage_size() const { return H5Dget_storage_size(id_); }

static void require_size(std::size_t got, hsize_t want, const std::string& path, const char* what) {
  if (got != want)
    throw StoreError("HDF5: " + std::string(what) + " of '" + path + "' needs " + std::to_string(want) +
                     " values, got " + std::to_string(got));
}

template <class T>
void Dataset::write(const std::vector<T>& data) const {
  require_size(data.size(), num_elements(), path_, "writing");
  if (data.empty()) return;
  check_status(H5Dwrite(id_, native_type_id<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), "write dataset", path_);
}

template <class T>
std::vector<T> Dataset::read() const {
  std::vector<T> out(num_elements());
  if (out.empty()) return out;
  check_status(H5Dread(id_, native_type_id<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), "read dataset", path_);
  return out;
}

static hsize_t row_size(const Dims& dims, const std::string& path) {
  if (dims.empty()) throw StoreError("HDF5: '" + path + "' is scalar and has no rows");
  hsize_t n = 1;
  for (std::size_t i = 1; i < dims.size(); ++i) n *= dims[i];
  return n;
}

template <class T>
void Dataset::write_row(hsize_t row, const T* data, std::size_t count) const {
  Dataspace file_space = space();
  require_size(count, row_size(file_space.dims(), path_), path_, "a row");
  file_space.select_row(row);
  Dataspace mem_space = Dataspace::simple({static_cast<hsize_t>(count)});
  check_status(H5Dwrite(id_, native_type_id<T>(), mem_space.id(), file_space.id(), H5P_DEFAULT, data),
               "write row", path_ + "[" + std::to_string(row) + "]");
}

template <class T>
void Dataset::write_rows(const std::vector<hsize_t>& rows, const T* data, std::size_t count) const {
  Dataspace file_space = space();
  require_size(count, rows.size() * row_size(file_space.dims(), path_), path_, "rows");
  file_space.select_rows(rows);
  Dataspace mem_space = Dataspace::simple({static_cast<hsize_t>(count)});
  check_status(H5Dwrite(id_, native_type_id<T>(), mem_space.id(), file_space.id(), H5P_DEFAULT, data),
               "write rows", path_ + "[" + std::to_string(rows.size()) + " rows from " + std::to_string(rows[0]) + "]");
}

template <class T>
void Dataset::write_rows(hsize_t first, hsize_t num_rows, const std::vector<T>& data) const {
  Dataspace file_space = space();
  require_size(data.size(), num_rows * row_size(file_space.dims(), path_), path_, "rows");
  if (num_rows == 0) return;
  file_space.select_rows(first, num_rows);
  Dataspace mem_space = Dataspace::simple({static_cast<hsize_t>(data.size())});
  check_status(H5Dwrite(id_, native_type_id<T>(), mem_space.id(), file_space.id(), H5P_DEFAULT, data.data()),
               "write rows", path_ + "[" + std::to_string(first) + ":" + std::to_string(first + num_rows) + "]");
}

template <class T>
std::vector<T> Dataset::read_row(hsize_t row) const {
  Dataspace file_space = space();
  std::vector<T> out(row_size(file_space.dims(), path_));
  file_space.select_row(row);
  Dataspace mem_space = Dataspace::simple({static_cast<hsize_t>(out.size())});
  check_status(H5Dread(id_, native_type_id<T>(), mem_space.id(), file_space.id(), H5P_DEFAULT, out.data()),
               "read row", path_ + "[" + std::to_string(row) + "]");
  return out;
}

#define ICL_H5_DATASET_TYPES(T)                                                       \
  template void Dataset::write<T>(const std::vector<T>&) const;                       \
  template std::vector<T> Dataset::read<T>() const;                                   \
  template void Dataset::write_row<T>(hsize_t, const T*, std::size_t) const;          \
  template void Dataset::write_rows<T>(const std::vector<hsize_t>&, const T*, std::size_t) const; \
  template void Dataset::write_rows<T>(hsize_t, hsize_t, const std::vector<T>&) const; \
  template std::vector<T> Dataset::read_row<T>(hsize_t) const;
ICL_H5_DATASET_TYPES(float)
ICL_H5_DATASET_TYPES(double)
ICL_H5_DATASET_TYPES(std::int32_t)
ICL_H5_DATASET_TYPES(std::int64_t)
ICL_H5_DATASET_TYPES(std::uint8_t)
#undef ICL_H5_DATASET_TYPES

void Dataset::write_strings(const std::vector<std::string>& data) const {
  require_size(data.size(), num_elements(), path_, "writing");
  if (data.empty()) return;
  Datatype ftype = type();
  write_strings_with(ftype.id(), data,
                     [&](hid_t m, const void* b) { return H5Dwrite(id_, m, H5S_ALL, H5S_ALL, H5P_DEFAULT, b); }, path_);
}

std::vector<std::string> Dataset::read_strings() const {
  Datatype ftype = type();
  Dataspace s = space();
  return read_strings_with(ftype.id(), s.id(), s.num_elements(),
                           [&](hid_t m, void* b) { return H5Dread(id_, m, H5S_ALL, H5S_ALL, H5P_DEFAULT, b); }, path_);
}

void Dataset::write_string_row(hsize_t row, const std::string& value) const {
  Dataspace file_space = space();
  require_size(1, row_size(file_space.dims(), path_), path_, "a string row");
  file_space.select_row(row);
  Dataspace mem_space = Dataspace::simple({1});
  Datatype ftype = type();
  write_strings_with(
      ftype.id(), {value},
      [&](hid_t m, const void* b) { return H5Dwrite(id_, m, mem_space.id(), file_space.id(), H5P_DEFAULT, b); },
      path_ + "[" + std::to_string(row) + "]");
}

void Dataset::write_string_rows(const std::vector<hsize_t>& rows, const std::vector<std::string>& values) const {
  Dataspace file_space = space();
  require_size(values.size(), rows.size() * row_size(file_space.dims(), path_), path_, "string rows");
  file_space.select_rows(rows);
  Dataspace mem_space = Dataspace::simple({static_cast<hsize_t>(values.size())});
  Datatype ftype = type();
  write_strings_with(
      ftype.id(), values,
      [&](hid_t m, const void* b) { return H5Dwrite(id_, m, mem_space.id(), file_space.id(), H5P_DEFAULT, b); },
      path_ + "[" + std::to_string(rows.size()) + " rows from " + std::to_string(rows[0]) + "]");
}

std::string Dataset::read_string_row(hsize_t row) const {
  Dataspace file_space = space();
  require_size(1, row_size(file_space.dims(), path_), path_, "a string row");
  file_space.select_row(row);
  Dataspace mem_space = Dataspace::simple({1});
  Datatype ftype = type();
  return read_strings_with(
      ftype.id(), mem_space.id(), 1,
      [&](hid_t m, void* b) { return H5Dread(id_, m, mem_space.id(), file_space.id(), H5P_DEFAULT, b); },
      path_ + "[" + std::to_string(row) + "]")[0];
}

// ---- containers ---------------------------------------------------------------------------

static std::string join_path(const std::string& base, const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  if (base.empty() || base == "/") return "/" + path;
  return base + "/" + path;
}

Group Container::create_group(const std::string& path) const {
  const std::string full = join_path(object_path(), path);
  PropertyList lcpl = PropertyList::link_create();
  lcpl.create_intermediate_groups();
  return Group(check_id(H5Gcreate2(id_, path.c_str(), lcpl.id(), H5P_DEFAULT, H5P_DEFAULT), "create group", full),
               full);
}

Group Container::open_group(const std::string& path) const {
  const std::string full = join_path(object_path(), path);
  if (!exists(path)) throw StoreError("HDF5: group '" + full + "' does not exist");
  return Group(check_id(H5Gopen2(id_, path.c_str(), H5P_DEFAULT), "open group", full), full);
}

Group Container::require_group(const std::string& path) const {
  return exists(path) ? open_group(path) : create_group(path);
}

bool Container::exists(const std::string& path) const {
  // H5Lexists fails (rather than returning false) when a parent is missing, so walk the components.
  std::string prefix = (!path.empty() && path[0] == '/') ? "/" : "";
  std::size_t pos = prefix.size();
  while (pos <= path.size()) {
    const std::size_t slash = path.find('/', pos);
    const std::string component = path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    if (!component.empty()) {
      prefix += (prefix.empty() || prefix == "/" ? "" : "/") + component;
      if (!check_tri(H5Lexists(id_, prefix.c_str(), H5P_DEFAULT), "check link", join_path(object_path(), prefix)))
        return false;
    }
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  return true;
}

std::vector<std::string> Container::member_names() const {
  H5G_info_t info;
  check_status(H5Gget_info(id_, &info), "list group", object_path());
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t n = H5Lget_name_by_idx(id_, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (n < 0) throw_store_error("list group", object_path());
    std::string s(static_cast<std::size_t>(n) + 1, '\0');
    H5Lget_name_by_idx(id_, ".", H5_INDEX_NAME, H5_ITER_INC, i, s.data(), s.size(), H5P_DEFAULT);
    s.resize(static_cast<std::size_t>(n));
    names.push_back(s);
  }
  return names;
}

Dataset Container::create_dataset(const std::string& path, const Datatype& type, const Dims& dims,
                                  const PropertyList* dcpl) const {
  const std::string full = join_path(object_path(), path);
  PropertyList lcpl = PropertyList::link_create();
  lcpl.create_intermediate_groups();
  Dataspace space = Dataspace::simple(dims);
  return Dataset(check_id(H5Dcreate2(id_, path.c_str(), type.id(), space.id(), lcpl.id(),
                                     dcpl ? dcpl->id() : H5P_DEFAULT, H5P_DEFAULT),
                          "create dataset", full),
                 full);
}

Dataset Container::dataset(const std::string& path) const {
  const std::string full = join_path(object_path(), path);
  if (!exists(path)) throw StoreError("HDF5: dataset '" + full + "' does not exist");
  return Dataset(check_id(H5Dopen2(id_, path.c_str(), H5P_DEFAULT), "open dataset", full), full);
}

Dataset Container::write_strings(const std::string& path, const std::vector<std::string>& data,
                                 std::size_t fixed_width) const {
  Datatype type = fixed_width ? Datatype::fixed_string(fixed_width) : Datatype::variable_string();
  Dataset d = create_dataset(path, type, {static_cast<hsize_t>(data.size())});
  d.write_strings(data);
  return d;
}

// ---- files --------------------------------------------------------------------------------

File::File(const std::string& path, FileMode mode, const PropertyList* fapl) : path_(path) {
  init_library();
  PropertyList own_fapl;
  if (!fapl) {
    own_fapl = PropertyList::file_access();
    own_fapl.sec2_driver();
    fapl = &own_fapl;
  }
  hid_t id = H5I_INVALID_HID;
  switch (mode) {
    case FileMode::Truncate:
      id = check_id(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl->id()), "create (truncate) file", path);
      break;
    case FileMode::Exclusive:
      id = check_id(H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl->id()), "create (exclusive) file", path);
      break;
    case FileMode::ReadWrite:
      id = check_id(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl->id()), "open (read-write) file", path);
      break;
    case FileMode::ReadOnly:
      id = check_id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl->id()), "open (read-only) file", path);
      break;
  }
  id_ = id;
  close_fn_ = H5Fclose;
}

void File::flush() const { check_status(H5Fflush(id_, H5F_SCOPE_LOCAL), "flush file", path_); }

void File::sync_to_disk() const {
  if (::fsync(descriptor()) != 0) {
    const int err = errno;
    throw StoreError(system_cause(err) + ": cannot fsync '" + path_ + "'", err);
  }
}

int File::descriptor() const {
  void* handle = nullptr;
  check_status(H5Fget_vfd_handle(id_, H5P_DEFAULT, &handle), "get file descriptor", path_);
  if (!handle) throw StoreError("HDF5: no file descriptor for '" + path_ + "'");
  return *static_cast<int*>(handle);
}

std::uint64_t File::contents_size() const {
  haddr_t eoa = 0;
  check_status(H5Fget_eoa(id_, &eoa), "get end of allocation", path_);
  return static_cast<std::uint64_t>(eoa);
}

void File::discard() noexcept {
  if (id_ < 0) return;
  // Dropping the contents first leaves HDF5's final metadata flush a sparse, nearly empty file to write
  // into, so H5Fclose succeeds even on a full disk. A failed H5Fclose would leave an id behind whose
  // clean-up at library exit (MPI_Finalize, atexit) crashes the process.
  void* handle = nullptr;
  if (H5Fget_vfd_handle(id_, H5P_DEFAULT, &handle) >= 0 && handle) (void)::ftruncate(*static_cast<int*>(handle), 0);
  H5Eclear2(H5E_DEFAULT);
  reset();
  H5Eclear2(H5E_DEFAULT);
}

bool File::is_hdf5(const std::string& path) {
  init_library();
  const htri_t r = H5Fis_hdf5(path.c_str());
  H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

Group File::root() const { return Group(check_id(H5Gopen2(id_, "/", H5P_DEFAULT), "open root group", path_), "/"); }

}  // namespace icl::h5
