#pragma once
// The sweep results file: one HDF5 file per sweep, crash-safe under `kill -9` at any moment.
//
// Every dataset for the whole grid is created (and its storage allocated and filled) when the file
// is made; after that only raw bytes of preallocated rows change, and a point becomes "done" by a
// one-byte status write that follows a flush of its data. docs/results-format.md has the layout
// (readable with plain h5py) and the argument for why a killed writer never corrupts the file.
//
// Single writer: the coordinator on rank 0 is the only process that opens a results file for writing.
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "iclsweep/core/params.hpp"
#include "iclsweep/core/record.hpp"

namespace icl {

// On-disk value of /points/status.
enum class PointStatus : std::uint8_t { Pending = 0, Done = 1, Failed = 2 };
const char* to_string(PointStatus s);

// Everything fixed at creation.
struct SweepManifest {
  std::string job_text;                    // the job file as given (plus --set overrides), verbatim
  std::string grid_json;                   // a description of the grid (axes, value lists), any text
  std::vector<std::string> grid_keys;      // keys that vary across points, in grid order
  std::vector<ParamMap> point_params;      // one per point, canonical values; P = point_params.size()
  std::vector<std::string> point_ids;      // one per point, 16 hex digits (point_id(params))
  std::vector<std::int64_t> point_seeds;   // one per point; empty = taken from "data.seed" (else -1)
  std::string grid_hash;
  // Keys whose values are numbers by type (Int/Real/Bool): their /points/params column is float64 (NaN =
  // unset) even when no point sets them, so a numeric key has one dtype in every file.
  std::set<std::string> numeric_keys;
  // Extra root attributes (e.g. "mpi_library", "slurm_cluster"); names must not clash with ours.
  std::vector<std::pair<std::string, std::string>> provenance;
};

// One point's bookkeeping, written with its data.
struct PointMeta {
  PointStatus status = PointStatus::Done;  // Done or Failed (Pending is not a result)
  std::string error;                       // failure message; truncated to kErrorWidth-1 bytes
  std::int32_t rank = -1;                  // MPI rank that ran it
  std::string host;                        // truncated to kHostWidth bytes
  double start_time = std::numeric_limits<double>::quiet_NaN();  // unix seconds
  double end_time = std::numeric_limits<double>::quiet_NaN();
  double wall_time = std::numeric_limits<double>::quiet_NaN();   // NaN = end_time - start_time
  // CPU seconds of the thread that ran the point (what the cost model prices, unlike wall time on a
  // shared or oversubscribed node); NaN = not recorded (a failure without a run; every point of a file
  // created before points/cpu_time existed, which keeps its layout when resumed).
  double cpu_time = std::numeric_limits<double>::quiet_NaN();
};

// One start of `iclsweep run` (first run and every resume), appended to /runs.
struct LaunchInfo {
  double start_time = std::numeric_limits<double>::quiet_NaN();
  std::string slurm_job_id;  // "" outside Slurm; "12345" or "12345_7" for array tasks
  std::int32_t num_ranks = 0;
  std::string hostname;
  std::string git_commit;    // of the binary that launched (may differ between resumes)
  std::string command_line;  // truncated to kCommandWidth bytes
};

class ResultsFile;

// What points depend on outside their parameters (ModelKind::input_fingerprints): (input, fingerprint)
// pairs, stored as the root attribute input_fingerprints ("input<TAB>fingerprint" lines) of a new file.
using InputFingerprints = std::vector<std::pair<std::string, std::string>>;
inline constexpr const char* kInputFingerprintsAttribute = "input_fingerprints";
std::string format_input_fingerprints(const InputFingerprints& inputs);
InputFingerprints parse_input_fingerprints(const std::string& text);
// "NAME: OLD BEFORE_NAME, NEW NOW_NAME" for every input both name with different fingerprints.
std::vector<std::string> changed_inputs(const InputFingerprints& before, const InputFingerprints& now,
                                        const std::string& before_name, const std::string& now_name);

struct ResultsFileOptions {
  bool overwrite = false;     // create(): replace an existing file instead of refusing (never one a live writer holds)
  bool sync_to_disk = false;  // fsync at each commit step: survives node crashes, costs a disk round trip
  // open(writable): runs on a read-only view of the file before it is locked and opened for writing;
  // throwing refuses the open without touching the file (the grid check of a resume).
  std::function<void(const ResultsFile&)> check_before_writing;
  // create(): writes into the new file while it still has its temporary name (merge copies its points
  // here), so the file appears at `path` only complete; a throw removes it.
  std::function<void(ResultsFile&)> fill_before_publishing;
};

class WriterLock;

class ResultsFile {
 public:
  static constexpr std::int32_t kFormatVersion = 1;
  static constexpr const char* kFormatName = "iclsweep-results";
  static constexpr std::size_t kMaxLaunches = 256;
  static constexpr std::size_t kErrorWidth = 512;
  static constexpr std::size_t kHostWidth = 64;
  static constexpr std::size_t kIdWidth = 16;
  static constexpr std::size_t kSlurmIdWidth = 32;
  static constexpr std::size_t kCommitWidth = 64;
  static constexpr std::size_t kCommandWidth = 1024;

  using Options = ResultsFileOptions;

  // Builds the whole file under a temporary name, preallocated, and renames it into place, so `path` is
  // either absent (or, with overwrite, the old file) or complete: OutputFile::claim (output_file.hpp)
  // refuses an existing `path` unless options.overwrite, a file a live writer holds, and a disk without
  // room for estimated_bytes(). Returns it open for writing, holding the writer lock.
  static ResultsFile create(const std::string& path, const SweepManifest& manifest, const ResultSchema& schema,
                            const Options& options);
  static ResultsFile create(const std::string& path, const SweepManifest& manifest, const ResultSchema& schema) {
    return create(path, manifest, schema, Options{});
  }
  // Opens and validates an existing results file (format name and version, every dataset present with
  // the expected shape, status bytes 0/1/2). Throws StoreError naming the file and the fix otherwise.
  // For writing it takes the writer lock on the file itself (store/output_file.hpp), after every check
  // has passed on a read-only open: a refused open never modifies the file, not even its mtime.
  static ResultsFile open(const std::string& path, bool writable = true, const Options& options = Options{});
  // An upper bound of the bytes create() allocates (checked against free space, then preallocated).
  static std::uint64_t estimated_bytes(const SweepManifest& manifest, const ResultSchema& schema);

  ResultsFile(ResultsFile&&) noexcept;
  ResultsFile& operator=(ResultsFile&&) noexcept;
  ~ResultsFile();

  const std::string& path() const;
  std::size_t num_points() const;
  const std::string& grid_hash() const;
  const ResultSchema& schema() const;  // as stored in the file (fields, types, per-point dims)

  // Commits one point: rows of every schema field (padded; fields missing from `record` stay NaN / -1)
  // and its meta -> flush -> status -> flush. When this returns, the point survives a kill.
  // Throws StoreError naming the field for unknown fields, wrong rank, too-large dims or a value count
  // that does not match the dims.
  void write_point(std::size_t index, const PointMeta& meta, const PointRecord& record);
  // Commits a failure without data (meta.status is taken as Failed).
  void mark_failed(std::size_t index, const PointMeta& meta);
  // Batched commits (short points): stage_point / stage_failure write a point's rows and meta like
  // write_point / mark_failed but not its status byte; commit_staged() then does one flush, every staged
  // status byte, one flush. A kill before it returns leaves each staged point pending or committed,
  // never half-written. stage_point validates (and throws) before writing anything.
  void stage_point(std::size_t index, const PointMeta& meta, const PointRecord& record);
  void stage_failure(std::size_t index, const PointMeta& meta);
  void commit_staged();
  // Appends a launch to /runs (same commit protocol). Returns the slot, or nullopt when all
  // kMaxLaunches slots are used (the launch is then not recorded; the sweep goes on).
  std::optional<std::size_t> record_launch(const LaunchInfo& launch);

  // ---- read helpers (what `iclsweep status` shows) ----
  std::vector<PointStatus> statuses() const;  // cached: no disk read
  std::size_t count(PointStatus s) const;
  std::vector<std::string> point_ids() const;
  std::vector<std::int32_t> ranks() const;
  std::vector<std::string> hosts() const;
  std::vector<double> start_times() const;
  std::vector<double> end_times() const;
  std::vector<double> wall_times() const;
  // NaN for points without one, and for every point of a file written before points/cpu_time existed.
  std::vector<double> cpu_times() const;
  std::vector<std::string> errors() const;
  std::vector<std::string> params_texts() const;  // /points/params_text: "key=value;..." per point
  std::string params_text(std::size_t index) const;  // one point's (one row read)
  std::vector<std::int64_t> seeds() const;
  std::vector<std::string> grid_keys() const;          // root attribute grid_keys
  std::vector<std::string> numeric_param_keys() const; // keys whose /points/params column is float64
  // True while some process holds the writer lock of `path` (an `iclsweep run` is writing it now).
  static bool writer_active(const std::string& path);
  std::vector<LaunchInfo> launches() const;  // recorded launches, in order
  PointMeta meta(std::size_t index) const;
  // The stored values of one point, unpadded to the recorded shape (scalars: dims {}). A recorded shape
  // outside the field's dims is a damaged file: StoreError naming the dataset and the row.
  PointRecord read_point(std::size_t index) const;
  // Checks every recorded shape of every done or failed point (one read per `_shape` dataset), so a
  // command that copies points (merge, run --from) refuses a damaged file before it creates anything.
  void check_recorded_shapes() const;
  // The root attribute input_fingerprints as (input, fingerprint) pairs; empty for files without it.
  std::vector<std::pair<std::string, std::string>> input_fingerprints() const;
  // A root attribute as text ("job_text", "grid_json", "git_commit", ...).
  std::string root_attribute(const std::string& name) const;

  void flush();
  // Closes the file and releases the writer lock; the object must not be used afterwards.
  void close();

  struct Impl;

 private:
  explicit ResultsFile(std::unique_ptr<Impl> impl);
  static ResultsFile open_validated(const std::string& path, bool writable, const Options& options, WriterLock lock);
  std::unique_ptr<Impl> impl_;
};

}  // namespace icl
