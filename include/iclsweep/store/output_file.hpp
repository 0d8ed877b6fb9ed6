#pragma once
// The one way every command that writes a file creates it (`run`, `train`, `sample`, and any new
// writer such as `merge`), and the one writer lock every writer takes.
//
//   OutputFile out = OutputFile::claim(path, {overwrite, bytes_needed, "results file"});
//   h5::File f(out.temp_path(), h5::FileMode::Exclusive, &fapl);  // created under a temporary name
//   out.reserve();                    // writer lock on the new file, bytes_needed preallocated
//   ... write everything ...
//   f.flush();
//   out.commit(f.contents_size());    // exact size, fsync, rename into place
//   // the lock stays with the file through the rename; take_lock() hands it on to a long-lived writer
//
// claim() changes nothing on disk except creating missing parent directories. It refuses: an empty path or
// a directory (InputError, exit 2), a parent that is a regular file (InputError), an existing file unless
// overwrite (StoreError, exit 5), a file a live writer holds, even with overwrite (StoreError), and a disk
// with less free space than bytes_needed (StoreError "disk full: ..."). If the OutputFile is destroyed
// before commit(), the temporary file is removed and `path` is exactly as it was.
//
// The writer lock is an exclusive open-file-description lock (fcntl F_OFD_SETLK, whole file) on the file
// itself, not on a name: every name of the file (a symlink, a hard link, the final name after the
// rename) is the same lock, and the kernel releases it when the writer dies, even by kill -9. docs/architecture.md ("Writing files") and
// docs/slurm.md (NFS) describe what it guarantees where.
#include <sys/types.h>

#include <cstdint>
#include <string>

namespace icl {

struct StoreError;

// "disk full", "read-only file system", "permission denied", ... for an errno value (strerror otherwise).
std::string system_cause(int err);
// "12.0 MB", "512 KB": sizes in messages.
std::string format_bytes(std::uint64_t bytes);

struct FileIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  bool operator==(const FileIdentity& o) const { return device == o.device && inode == o.inode; }
  bool operator!=(const FileIdentity& o) const { return !(*this == o); }
};

// Exclusive single-writer lock on a file (an OFD write lock on an O_RDWR descriptor of the file itself).
class WriterLock {
 public:
  WriterLock() = default;
  // Locks the file `path` names (following symlinks). Throws StoreError when a live writer holds it,
  // and for permission denied / read-only file system / not a regular file, each with its fix.
  // `what` names the file in messages ("results file"). On file systems without locks (ENOLCK,
  // ENOSYS, EOPNOTSUPP) it goes on unguarded: held() is then false.
  static WriterLock acquire(const std::string& path, const std::string& what = "results file");
  ~WriterLock() { release(); }
  WriterLock(WriterLock&& o) noexcept;
  WriterLock& operator=(WriterLock&& o) noexcept;
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

  bool valid() const { return fd_ >= 0; }
  bool held() const { return held_; }
  FileIdentity identity() const { return identity_; }
  int descriptor() const { return fd_; }
  void release();

 private:
  friend class OutputFile;
  int fd_ = -1;
  bool held_ = false;
  FileIdentity identity_;
};

struct OutputRequest {
  bool overwrite = false;          // replace an existing file (never one a live writer holds)
  std::uint64_t bytes_needed = 0;  // checked against free space and preallocated by reserve(); 0 = unknown
  std::string what = "output file";  // "results file", "sample file": names the file in messages
};

class OutputFile {
 public:
  static OutputFile claim(const std::string& path, const OutputRequest& request);
  // Refuses paths that cannot name an output file (empty, a directory, a parent that is a file) with
  // an InputError naming `option`; used before any work is done. claim() runs it too.
  static void check_path(const std::string& path, const std::string& option = "--out");

  OutputFile(OutputFile&& o) noexcept;
  OutputFile& operator=(OutputFile&& o) noexcept;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();  // before commit(): removes the temporary file

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_; }
  const OutputRequest& request() const { return request_; }

  // After the caller created temp_path() (exclusively): locks the new file and preallocates
  // bytes_needed (StoreError "disk full: ..." when it does not fit).
  void reserve();
  // Sets the file to its final size, fsyncs it and renames it into place: over the file claim() locked
  // (overwrite), or only where no file exists (a file that appeared meanwhile is never replaced).
  void commit(std::uint64_t final_size);
  bool committed() const { return committed_; }
  // The writer lock of the new file (valid after reserve()); it keeps holding across commit().
  WriterLock take_lock();

  // "disk full: R.h5 needs 12.0 MB, 2.0 MB free in results/" for a failure while creating; `consequence`
  // is appended ("nothing was written").
  std::string disk_full_message(const std::string& consequence) const;
  // The error to throw when writing the new file failed before commit(): the cause and the fix first
  // ("disk full: ...", "read-only file system: cannot create ...", "permission denied: ..."), the
  // original error as detail. Call f.discard() on the HDF5 file before throwing it.
  StoreError failure(const StoreError& e) const;

 private:
  OutputFile() = default;
  std::string path_, temp_, dir_;
  OutputRequest request_;
  WriterLock old_lock_;  // overwrite: the existing file, held until it is replaced
  WriterLock new_lock_;  // the temporary file, which becomes `path`
  bool existed_ = false, committed_ = false;
};

// Removes the temporaries of killed writers in `path`'s directory: files named `<name>.creating-<pid>-<n>`
// (or `<name>.merging-<pid>`, left by older versions of merge), for any <name>, that no writer holds and
// that are older than a minute; says so on stderr. Every command that writes a results file calls it
// (claim() before creating, a resume before writing). Other files are never touched.
void remove_stale_temporaries(const std::string& path);

// Free bytes for an unprivileged writer in the directory `dir` (statvfs f_bavail); -1 if unknown.
std::int64_t free_bytes(const std::string& dir);

}  // namespace icl
