#pragma once
// A thin, checked C++ layer over the HDF5 C API (HighFive spirit, our own error type).
//
// * One move-only RAII class per HDF5 handle family, closing with the matching H5?close:
//     File (H5Fclose), Group (H5Gclose), Dataset (H5Dclose), Dataspace (H5Sclose),
//     Datatype (H5Tclose), Attribute (H5Aclose), PropertyList (H5Pclose).
// * Every C call is checked; a failure throws icl::StoreError whose what() names the operation,
//   the object/file, and HDF5's own error stack (walked with H5Ewalk2). HDF5's automatic printing
//   to stderr is switched off (H5Eset_auto2) the first time any wrapper is used.
// * Supported element types: float, double, std::int32_t, std::int64_t, std::uint8_t, std::string.
//   Strings are variable-length UTF-8 unless a fixed width is asked for (fixed-width strings are
//   NUL-padded; h5py reads them as bytes, `.asstr()` or `.decode()` gives text).
//
// Example (the pattern `iclsweep sample` uses):
//   icl::h5::File f("sample.h5", icl::h5::FileMode::Truncate);
//   f.set_attribute("seed", std::int64_t{7});
//   auto g = f.create_group("splits/train");                       // nested paths are fine
//   g.write_dataset<float>("tokens", {n, L, d}, values);           // whole dataset, row-major
//   g.dataset("tokens").set_attribute("axes", std::string("example,position,feature"));
//   auto back = f.read_dataset<float>("splits/train/tokens", &dims);
//
// Crash-safe preallocation (what the results file does):
//   auto dcpl = icl::h5::PropertyList::dataset_create();   // handles are move-only: name it first,
//   dcpl.contiguous().alloc_time_early().fill_value<double>(NAN);  // then chain on the named list
//   auto d = g.create_dataset<double>("loss", {P, T}, dcpl);
//   f.flush();  ...  d.write_row<double>(i, row);  f.flush();
//
// Single-writer use only (default sec2 driver); nothing here is collective MPI-IO.
// Parallel HDF5's headers include <mpi.h>; keep Open MPI / MPICH from dragging in their deprecated
// C++ bindings (which would need libmpi_cxx at link time). The store only needs the C API.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "iclsweep/core/error.hpp"

namespace icl::h5 {

// Dataset shapes. hsize_t is unsigned 64-bit: write {hsize_t(n), hsize_t(m)} for int sizes
// (list-initialisation refuses the implicit narrowing).
using Dims = std::vector<hsize_t>;

// ---- errors -------------------------------------------------------------------------------

// Switches off HDF5's automatic error printing (once per process). Every wrapper calls it.
void init_library();
// The current HDF5 error stack as one readable string ("" when empty), innermost cause last.
std::string error_stack_text();
// Throws StoreError("HDF5: cannot <operation> '<subject>': <error stack>").
[[noreturn]] void throw_store_error(const std::string& operation, const std::string& subject);

// Checks a returned id / status; throws StoreError with the HDF5 error stack on failure.
inline hid_t check_id(hid_t id, const char* operation, const std::string& subject) {
  if (id < 0) throw_store_error(operation, subject);
  return id;
}
inline herr_t check_status(herr_t status, const char* operation, const std::string& subject) {
  if (status < 0) throw_store_error(operation, subject);
  return status;
}
// H5?exists-style calls: > 0 true, 0 false, < 0 error.
inline bool check_tri(htri_t value, const char* operation, const std::string& subject) {
  if (value < 0) throw_store_error(operation, subject);
  return value > 0;
}

// ---- ownership ----------------------------------------------------------------------------

using CloseFunction = herr_t (*)(hid_t);

// Move-only owner of one hid_t. Closing errors in the destructor are swallowed (destructors must
// not throw); call close() explicitly where a failed close matters (File: data reaches the disk).
class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, CloseFunction close_fn) : id_(id), close_fn_(close_fn) {}
  ~Handle() { reset(); }
  Handle(Handle&& other) noexcept : id_(other.id_), close_fn_(other.close_fn_) { other.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = other.id_;
      close_fn_ = other.close_fn_;
      other.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }
  explicit operator bool() const { return valid(); }
  // Gives up ownership without closing.
  hid_t release() {
    const hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }
  // Closes now and throws StoreError if HDF5 reports a failure.
  void close();

 protected:
  void reset() noexcept {
    if (id_ >= 0 && close_fn_) close_fn_(id_);
    id_ = H5I_INVALID_HID;
  }
  hid_t id_ = H5I_INVALID_HID;
  CloseFunction close_fn_ = nullptr;
};

// ---- datatypes ----------------------------------------------------------------------------

class Datatype : public Handle {
 public:
  Datatype() = default;
  explicit Datatype(hid_t owned) : Handle(owned, H5Tclose) {}
  // An owned copy of the native type of T (float, double, int32_t, int64_t, uint8_t).
  template <class T>
  static Datatype native();
  static Datatype variable_string();             // variable-length UTF-8 (h5py: str / bytes)
  static Datatype fixed_string(std::size_t width);  // NUL-padded, `width` bytes per element
  bool is_string() const;
  bool is_variable_string() const;
  std::size_t size() const;  // bytes per element (for variable strings: sizeof(char*))
  H5T_class_t type_class() const;
};

// The predefined (not-owned) native type id of T; specialised for the supported types only.
template <class T>
hid_t native_type_id();
template <> inline hid_t native_type_id<float>() { return H5T_NATIVE_FLOAT; }
template <> inline hid_t native_type_id<double>() { return H5T_NATIVE_DOUBLE; }
template <> inline hid_t native_type_id<std::int32_t>() { return H5T_NATIVE_INT32; }
template <> inline hid_t native_type_id<std::int64_t>() { return H5T_NATIVE_INT64; }
template <> inline hid_t native_type_id<std::uint8_t>() { return H5T_NATIVE_UINT8; }

template <class T>
Datatype Datatype::native() {
  init_library();
  return Datatype(check_id(H5Tcopy(native_type_id<T>()), "copy native datatype", "H5T_NATIVE"));
}

// ---- dataspaces ---------------------------------------------------------------------------

class Dataspace : public Handle {
 public:
  Dataspace() = default;
  explicit Dataspace(hid_t owned) : Handle(owned, H5Sclose) {}
  static Dataspace scalar();
  static Dataspace simple(const Dims& dims);  // {} = scalar
  Dims dims() const;
  hsize_t num_elements() const;  // 1 for a scalar
  // Selects the slab [row, :, :, ...] (one index along dim 0); rank must be >= 1.
  void select_row(hsize_t row);
  // Several rows (ascending, distinct), as few hyperslabs as there are runs of consecutive rows.
  void select_rows(const std::vector<hsize_t>& rows);
  void select_rows(hsize_t first, hsize_t num_rows);  // the slab [first, first + num_rows) x dims[1:]
};

// ---- property lists -----------------------------------------------------------------------

// Builder-style on a named list: auto p = PropertyList::dataset_create(); p.contiguous().alloc_time_early();
class PropertyList : public Handle {
 public:
  PropertyList() = default;
  explicit PropertyList(hid_t owned) : Handle(owned, H5Pclose) {}

  static PropertyList file_access();    // H5P_FILE_ACCESS
  static PropertyList file_create();    // H5P_FILE_CREATE
  static PropertyList dataset_create(); // H5P_DATASET_CREATE
  static PropertyList link_create();    // H5P_LINK_CREATE

  // file access: default (earliest) bounds keep files readable by every HDF5 1.8+ reader, incl. h5py.
  PropertyList& libver_bounds(H5F_libver_t low, H5F_libver_t high);
  PropertyList& sec2_driver();
  // use=false disables HDF5 1.10's flock(); ignore_when_disabled tolerates file systems without flock (Lustre, NFS).
  PropertyList& file_locking(bool use, bool ignore_when_disabled);
  // 0 turns data sieving off: a row write then touches exactly that row's bytes.
  PropertyList& sieve_buffer_size(std::size_t bytes);
  // dataset create
  PropertyList& contiguous();
  PropertyList& compact();
  PropertyList& chunked(const Dims& chunk_dims);
  PropertyList& deflate(unsigned level);  // needs chunked()
  PropertyList& alloc_time_early();       // all raw storage allocated (and filled) at creation
  PropertyList& fill_time_alloc();        // write the fill value at allocation time
  PropertyList& track_times(bool on);     // object modification times in headers (dataset/group create)
  template <class T>
  PropertyList& fill_value(T value) {
    check_status(H5Pset_fill_value(id_, native_type_id<T>(), &value), "set fill value", "dataset creation properties");
    return *this;
  }
  // link create: make missing parent groups of a path
  PropertyList& create_intermediate_groups();
};

// ---- attributes ---------------------------------------------------------------------------

class Attribute : public Handle {
 public:
  Attribute() = default;
  explicit Attribute(hid_t owned, std::string name) : Handle(owned, H5Aclose), name_(std::move(name)) {}
  Datatype type() const;
  Dataspace space() const;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// ---- objects that carry attributes (File root, Group, Dataset) ----------------------------

class Object : public Handle {
 public:
  using Handle::Handle;
  // Creates or replaces attribute `name`. Supported T: float, double, int32_t, int64_t, uint8_t,
  // std::string (variable-length UTF-8: no 64 KiB object-header limit), and std::vector of those.
  template <class T>
  void set_attribute(const std::string& name, const T& value) const;
  void set_attribute(const std::string& name, const char* value) const { set_attribute(name, std::string(value)); }
  // Reads attribute `name` converting to T (same set as above; numeric conversions are HDF5's).
  // Throws StoreError naming the attribute and the object if it is missing.
  template <class T>
  T attribute(const std::string& name) const;
  bool has_attribute(const std::string& name) const;
  std::vector<std::string> attribute_names() const;
  void delete_attribute(const std::string& name) const;
  Attribute open_attribute(const std::string& name) const;
  // Full HDF5 path ("/points/status") of this object, for messages.
  std::string object_path() const;
};

// ---- datasets -----------------------------------------------------------------------------

class Dataset : public Object {
 public:
  Dataset() = default;
  Dataset(hid_t owned, std::string path) : Object(owned, H5Dclose), path_(std::move(path)) {}

  Datatype type() const;
  Dataspace space() const;
  Dims dims() const;
  hsize_t num_elements() const;
  // Bytes of raw data the file really holds for this dataset (H5Dget_storage_size): a contiguous,
  // early-allocated dataset holds num_elements() * type().size(); a crafted one may declare far more.
  hsize_t storage_size() const;
  const std::string& path() const { return path_; }

  // Whole-dataset I/O; data.size() must equal num_elements() (StoreError otherwise).
  template <class T>
  void write(const std::vector<T>& data) const;
  template <class T>
  std::vector<T> read() const;
  // Strings: works for fixed-width (truncated to the width) and variable-length string datasets.
  void write_strings(const std::vector<std::string>& data) const;
  std::vector<std::string> read_strings() const;

  // One row = the slab [row, ...] of a preallocated dataset; data.size() (or count) must equal the
  // product of dims[1:]. Raw data only: no metadata changes once storage is allocated early.
  template <class T>
  void write_row(hsize_t row, const T* data, std::size_t count) const;
  template <class T>
  void write_row(hsize_t row, const std::vector<T>& data) const { write_row<T>(row, data.data(), data.size()); }
  // Rows [first, first + num_rows) in one call: data.size() must be num_rows times the row size (streamed
  // writers such as `iclsweep sample` write a large dataset chunk by chunk).
  template <class T>
  void write_rows(hsize_t first, hsize_t num_rows, const std::vector<T>& data) const;
  template <class T>
  std::vector<T> read_row(hsize_t row) const;
  // Several rows (ascending, distinct) with one H5Dwrite: `data` holds rows.size() rows back to back,
  // count values in all. What a batched commit costs per field instead of once per point and field.
  template <class T>
  void write_rows(const std::vector<hsize_t>& rows, const T* data, std::size_t count) const;
  // Row of a 1-D string dataset (fixed-width: truncated to the width).
  void write_string_row(hsize_t row, const std::string& value) const;
  void write_string_rows(const std::vector<hsize_t>& rows, const std::vector<std::string>& values) const;
  std::string read_string_row(hsize_t row) const;

 private:
  std::string path_;
};

// ---- containers (File, Group) ------------------------------------------------------------

class Group;

class Container : public Object {
 public:
  using Object::Object;

  // Nested paths ("a/b/c") create the missing parents. Throws if the final group already exists.
  Group create_group(const std::string& path) const;
  Group open_group(const std::string& path) const;
  Group require_group(const std::string& path) const;  // open, or create if missing
  // True if every component of the relative or absolute path exists (no throw for missing parents).
  bool exists(const std::string& path) const;
  std::vector<std::string> member_names() const;

  // Creates an (unwritten) dataset; parents are created as needed. dcpl may be null (defaults:
  // contiguous, late allocation, fill value 0).
  Dataset create_dataset(const std::string& path, const Datatype& type, const Dims& dims,
                         const PropertyList* dcpl = nullptr) const;
  Dataset create_dataset(const std::string& path, const Datatype& type, const Dims& dims,
                         const PropertyList& dcpl) const {
    return create_dataset(path, type, dims, &dcpl);
  }
  template <class T>
  Dataset create_dataset(const std::string& path, const Dims& dims, const PropertyList* dcpl = nullptr) const {
    return create_dataset(path, Datatype::native<T>(), dims, dcpl);
  }
  template <class T>
  Dataset create_dataset(const std::string& path, const Dims& dims, const PropertyList& dcpl) const {
    return create_dataset(path, Datatype::native<T>(), dims, &dcpl);
  }
  Dataset dataset(const std::string& path) const;  // open; StoreError naming the path if missing

  // Create + write a whole dataset in one call. dims {} = scalar.
  template <class T>
  Dataset write_dataset(const std::string& path, const Dims& dims, const std::vector<T>& data,
                        const PropertyList* dcpl = nullptr) const {
    Dataset d = create_dataset<T>(path, dims, dcpl);
    d.write(data);
    return d;
  }
  // 1-D string dataset; fixed_width 0 = variable-length strings.
  Dataset write_strings(const std::string& path, const std::vector<std::string>& data,
                        std::size_t fixed_width = 0) const;

  template <class T>
  std::vector<T> read_dataset(const std::string& path, Dims* dims_out = nullptr) const {
    Dataset d = dataset(path);
    if (dims_out) *dims_out = d.dims();
    return d.read<T>();
  }
  std::vector<std::string> read_strings(const std::string& path) const { return dataset(path).read_strings(); }
};

class Group : public Container {
 public:
  Group() = default;
  Group(hid_t owned, std::string path) : Container(owned, H5Gclose), path_(std::move(path)) {}
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---- files --------------------------------------------------------------------------------

enum class FileMode {
  Truncate,   // create, replacing an existing file (H5F_ACC_TRUNC)
  Exclusive,  // create, fail if it exists (H5F_ACC_EXCL)
  ReadWrite,  // open existing for writing (H5F_ACC_RDWR)
  ReadOnly,   // open existing for reading (H5F_ACC_RDONLY)
};

class File : public Container {
 public:
  File() = default;
  // fapl may be null (default: sec2 driver, earliest library-version bounds).
  File(const std::string& path, FileMode mode, const PropertyList* fapl = nullptr);
  const std::string& path() const { return path_; }
  // H5Fflush(H5F_SCOPE_LOCAL): pushes HDF5's caches to the OS (then the OS owns durability).
  void flush() const;
  // fsync(2) of the file descriptor (sec2 driver only): flush() hands data to the OS, which survives a
  // killed process; fsync also survives a crashed node, at the cost of a disk round trip.
  void sync_to_disk() const;
  // The sec2 driver's file descriptor (HDF5 keeps owning it).
  int descriptor() const;
  // Bytes HDF5 has allocated in the file (its end-of-allocation address): the size of the contents.
  std::uint64_t contents_size() const;
  // Closes a file that is being thrown away (a temporary file after a failure): truncates it to zero
  // bytes first, so that HDF5's final flush cannot fail for lack of space and leave an unclosable id.
  void discard() noexcept;
  // True if `path` is an HDF5 file (H5Fis_hdf5); false for missing or non-HDF5 files.
  static bool is_hdf5(const std::string& path);
  Group root() const;

 private:
  std::string path_;
};

// The linked HDF5 library version, "1.10.8".
std::string library_version();

}  // namespace icl::h5
