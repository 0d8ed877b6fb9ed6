#include "iclsweep/store/output_file.hpp"

#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "iclsweep/core/error.hpp"

namespace icl {

namespace fs = std::filesystem;

std::string system_cause(int err) {
  switch (err) {
    case ENOSPC: return "disk full";
    case EDQUOT: return "disk quota exceeded";
    case EROFS: return "read-only file system";
    case EACCES:
    case EPERM: return "permission denied";
    case ENOENT: return "no such file or directory";
    case ENOTDIR: return "not a directory";
    case EISDIR: return "is a directory";
    case EIO: return "I/O error";
    case EFBIG: return "file too large";
    case EWOULDBLOCK: return "locked by another process";
    default: return std::strerror(err);
  }
}

std::string format_bytes(std::uint64_t bytes) {
  char buf[64];
  const double b = static_cast<double>(bytes);
  if (bytes < 1024) std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  else if (b < 1024.0 * 1024) std::snprintf(buf, sizeof buf, "%.0f KB", b / 1024);
  else if (b < 1024.0 * 1024 * 1024) std::snprintf(buf, sizeof buf, "%.1f MB", b / (1024.0 * 1024));
  else std::snprintf(buf, sizeof buf, "%.1f GB", b / (1024.0 * 1024 * 1024));
  return buf;
}

std::int64_t free_bytes(const std::string& dir) {
  struct statvfs v;
  if (::statvfs(dir.empty() ? "." : dir.c_str(), &v) != 0) return -1;
  return static_cast<std::int64_t>(v.f_bavail) * static_cast<std::int64_t>(v.f_frsize);
}

// ---- the writer lock ------------------------------------------------------------------------

namespace {

FileIdentity identity_of(const struct stat& st) { return FileIdentity{st.st_dev, st.st_ino}; }

std::string directory_of(const std::string& path) {
  const auto parent = fs::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

}  // namespace

WriterLock::WriterLock(WriterLock&& o) noexcept : fd_(o.fd_), held_(o.held_), identity_(o.identity_) {
  o.fd_ = -1;
  o.held_ = false;
}

WriterLock& WriterLock::operator=(WriterLock&& o) noexcept {
  if (this != &o) {
    release();
    fd_ = o.fd_;
    held_ = o.held_;
    identity_ = o.identity_;
    o.fd_ = -1;
    o.held_ = false;
  }
  return *this;
}

void WriterLock::release() {
  if (fd_ >= 0) ::close(fd_);  // closing the (only) descriptor of the description releases the lock
  fd_ = -1;
  held_ = false;
}

WriterLock WriterLock::acquire(const std::string& path, const std::string& what) {
  const std::string name = what + " '" + path + "'";
  // A file replaced between open() and the lock would be locked under its old identity: retry then.
  for (int attempt = 0; attempt < 5; ++attempt) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      const int err = errno;
      throw StoreError(system_cause(err) + ": " + name + " cannot be opened for writing", err);
    }
    if (!S_ISREG(st.st_mode)) throw StoreError(name + " is not a regular file: choose another --out path", EINVAL);
    WriterLock lock;
    // O_RDWR: a write lock (F_WRLCK) needs a descriptor open for writing.
    lock.fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (lock.fd_ < 0) {
      const int err = errno;
      if (err == EROFS)
        throw StoreError("read-only file system: " + name + " cannot be written where it is: copy it to a writable "
                         "directory and use that copy, or choose another --out",
                         err);
      if (err == EACCES || err == EPERM)
        throw StoreError("permission denied: " + name + " cannot be opened for writing: check its permissions "
                         "(ls -l), or choose another --out",
                         err);
      throw StoreError(system_cause(err) + ": " + name + " cannot be opened for writing", err);
    }
    // An open-file-description lock (fcntl F_OFD_SETLK) on the whole file: owned by this descriptor
    // like flock (closing HDF5's own descriptors of the file does not drop it, as it would drop a
    // classic POSIX lock), keyed on the inode, and independent of the flock() HDF5 1.10 itself takes
    // when readers (h5py) open the file with locking on, so those readers are not turned away.
    struct flock whole = {};
    whole.l_type = F_WRLCK;
    whole.l_whence = SEEK_SET;
    whole.l_start = 0;
    whole.l_len = 0;
    if (::fcntl(lock.fd_, F_OFD_SETLK, &whole) == 0) {
      lock.held_ = true;
    } else {
      const int err = errno == EACCES ? EWOULDBLOCK : errno;  // fcntl reports a conflict as EACCES or EAGAIN
      if (err == EWOULDBLOCK)
        throw StoreError(name + " is already open for writing by another process, which holds its writer lock "
                         "(symlinks and hard links name the same file): is another `iclsweep run` of it still "
                         "running? Check with squeue / ps, and wait for it or stop it first; --overwrite never "
                         "replaces a file a live writer holds",
                         err);
      // ENOLCK / ENOSYS / EOPNOTSUPP / EINVAL: a file system without locks. Go on unguarded
      // (docs/slurm.md: NFS mounted with nolock).
    }
    struct stat mine, now;
    if (::fstat(lock.fd_, &mine) != 0) throw StoreError("cannot stat " + name + ": " + std::strerror(errno), errno);
    lock.identity_ = identity_of(mine);
    if (::stat(path.c_str(), &now) == 0 && identity_of(now) == lock.identity_) return lock;
  }
  throw StoreError(name + " keeps being replaced by another process while this one tries to lock it: stop the other "
                   "writer first",
                   EBUSY);
}

// ---- claiming an output path ---------------------------------------------------------------

void OutputFile::check_path(const std::string& path, const std::string& option) {
  if (path.empty()) throw InputError(option + " is empty: give a file name such as results/sweep.h5");
  if (path.back() == '/')
    throw InputError(option + " '" + path + "' names a directory: give a file name inside it, such as '" + path +
                     "sweep.h5'");
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode))
      throw InputError(option + " '" + path + "' is a directory: give a file name inside it, such as '" + path +
                       "/sweep.h5'");
    if (!S_ISREG(st.st_mode))
      throw InputError(option + " '" + path + "' is not a regular file (a device or pipe?): choose another path");
    return;
  }
  // The first existing ancestor must be a directory, or the missing parents cannot be created.
  for (fs::path p = fs::path(path).parent_path(); !p.empty(); p = p.parent_path()) {
    struct stat pst;
    if (::stat(p.c_str(), &pst) != 0) {
      if (p == p.parent_path()) break;
      continue;
    }
    if (!S_ISDIR(pst.st_mode))
      throw InputError(option + " '" + path + "' cannot be created: '" + p.string() +
                       "' is a file, not a directory; choose another path");
    break;
  }
}

OutputFile::OutputFile(OutputFile&& o) noexcept
    : path_(std::move(o.path_)), temp_(std::move(o.temp_)), dir_(std::move(o.dir_)), request_(std::move(o.request_)),
      old_lock_(std::move(o.old_lock_)), new_lock_(std::move(o.new_lock_)), existed_(o.existed_),
      committed_(o.committed_) {
  o.temp_.clear();
  o.committed_ = true;
}

OutputFile& OutputFile::operator=(OutputFile&& o) noexcept {
  if (this != &o) {
    if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
    path_ = std::move(o.path_);
    temp_ = std::move(o.temp_);
    dir_ = std::move(o.dir_);
    request_ = std::move(o.request_);
    old_lock_ = std::move(o.old_lock_);
    new_lock_ = std::move(o.new_lock_);
    existed_ = o.existed_;
    committed_ = o.committed_;
    o.temp_.clear();
    o.committed_ = true;
  }
  return *this;
}

OutputFile::~OutputFile() {
  if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
}

namespace {
// The names of the engine's temporary files: `<name>.creating-<pid>-<n>` (OutputFile) and, from older
// versions of `iclsweep merge`, `<name>.merging-<pid>`. Nothing else is ever removed.
bool is_engine_temporary(const std::string& name) {
  auto digits = [&](std::size_t begin, std::size_t end) {
    if (begin >= end) return false;
    for (std::size_t i = begin; i < end; ++i)
      if (name[i] < '0' || name[i] > '9') return false;
    return true;
  };
  for (const std::string tag : {".creating-", ".merging-"}) {
    const auto at = name.rfind(tag);
    if (at == std::string::npos || at == 0) continue;
    const std::size_t begin = at + tag.size();
    if (tag == ".merging-") return digits(begin, name.size());
    const auto dash = name.find('-', begin);
    return dash != std::string::npos && digits(begin, dash) && digits(dash + 1, name.size());
  }
  return false;
}
}  // namespace

void remove_stale_temporaries(const std::string& path) {
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code fec;
    if (!is_engine_temporary(name) || it->is_symlink(fec) || !it->is_regular_file(fec)) continue;
    const auto age = fs::file_time_type::clock::now() - fs::last_write_time(it->path(), fec);
    if (fec || age < std::chrono::minutes(1)) continue;
    try {
      const WriterLock probe = WriterLock::acquire(it->path().string(), "temporary file");
      if (!probe.held()) continue;  // no locks on this file system: cannot tell, keep it
      std::error_code rm;
      const auto bytes = fs::file_size(it->path(), rm);
      const std::string made_for = name.substr(0, name.rfind(name.find(".merging-") != std::string::npos ? ".merging-" : ".creating-"));
      if (fs::remove(it->path(), rm) && !rm)
        std::fprintf(stderr, "iclsweep: removed %s (%s), left by a writer that was killed while creating %s\n",
                     it->path().c_str(), format_bytes(bytes).c_str(), (dir / made_for).c_str());
    } catch (const StoreError&) {
      // held by a live writer, or not ours to open: leave it
    }
  }
}

OutputFile OutputFile::claim(const std::string& path, const OutputRequest& request) {
  check_path(path);
  OutputFile out;
  out.request_ = request;
  out.path_ = path;
  const std::string name = request.what + " '" + path + "'";

  struct stat lst;
  if (::lstat(path.c_str(), &lst) == 0) {
    out.existed_ = true;
    if (!request.overwrite)
      throw StoreError(name + " already exists (nothing was changed): choose another --out path, or pass --overwrite "
                       "to replace it",
                       EEXIST);
    if (S_ISLNK(lst.st_mode)) {
      // --overwrite through a symlink replaces the file it points to, not the link.
      std::error_code ec;
      const auto target = fs::canonical(path, ec);
      if (ec) throw StoreError(name + " is a symlink to a missing file: remove the link or choose another --out", ENOENT);
      out.path_ = target.string();
    }
    // Never replace a file a live writer holds: its writes would go to an unlinked file.
    out.old_lock_ = WriterLock::acquire(out.path_, request.what);
  }
  out.dir_ = directory_of(out.path_);
  {
    std::error_code ec;
    fs::create_directories(out.dir_, ec);
    if (ec) {
      const int err = ec.value();
      if (err == ENOTDIR || err == EEXIST)
        throw InputError("--out '" + path + "' cannot be created: a parent of it is a file, not a directory; choose "
                         "another path");
      throw StoreError(system_cause(err) + ": cannot create the directory '" + out.dir_ + "' for " + name +
                       ": choose another --out directory",
                       err);
    }
  }
  remove_stale_temporaries(out.path_);
  if (request.bytes_needed > 0) {
    const std::int64_t avail = free_bytes(out.dir_);
    if (avail >= 0 && static_cast<std::uint64_t>(avail) < request.bytes_needed)
      throw StoreError(out.disk_full_message("nothing was written"), ENOSPC);
  }
  static std::atomic<unsigned> counter{0};
  out.temp_ = out.path_ + ".creating-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  out.committed_ = false;
  return out;
}

std::string OutputFile::disk_full_message(const std::string& consequence) const {
  const std::int64_t avail = free_bytes(dir_);
  std::string m = "disk full: " + path_;
  if (request_.bytes_needed > 0) m += " needs " + format_bytes(request_.bytes_needed);
  if (avail >= 0) m += std::string(request_.bytes_needed > 0 ? ", " : " has ") + format_bytes(static_cast<std::uint64_t>(avail)) + " free in " + dir_;
  return m + "; " + consequence + ": free space there, or choose another --out directory";
}

StoreError OutputFile::failure(const StoreError& e) const {
  const std::string kept = existed_ ? "the existing file is unchanged" : "nothing was written";
  const std::string detail = e.detail.empty() ? e.headline : e.detail;
  const int err = e.sys_errno;
  if (err == ENOSPC || err == EDQUOT) return StoreError(disk_full_message(kept), err, detail);
  if (err == EROFS || err == EACCES || err == EPERM)
    return StoreError(system_cause(err) + ": cannot create " + request_.what + " '" + path_ + "' in '" + dir_ + "'; " +
                          kept + ": choose another --out directory",
                      err, detail);
  return StoreError("cannot create " + request_.what + " '" + path_ + "' (" + kept + "): " + e.headline, err, e.detail);
}

void OutputFile::reserve() {
  new_lock_ = WriterLock::acquire(temp_, request_.what);
  if (request_.bytes_needed == 0) return;
  // Reserve every block now, so the writes that follow cannot run out of space half-way (and a disk
  // that is too small is found before anything is written).
  const int err = ::posix_fallocate(new_lock_.fd_, 0, static_cast<off_t>(request_.bytes_needed));
  if (err == ENOSPC || err == EDQUOT) throw StoreError(disk_full_message("nothing was written"), err);
  if (err != 0 && err != EOPNOTSUPP && err != EINVAL)
    throw StoreError(system_cause(err) + ": cannot reserve " + format_bytes(request_.bytes_needed) + " for " +
                     request_.what + " '" + path_ + "' in " + dir_ + "; nothing was written",
                     err);
}

void OutputFile::commit(std::uint64_t final_size) {
  if (committed_) return;
  if (!new_lock_.valid()) new_lock_ = WriterLock::acquire(temp_, request_.what);
  const int fd = new_lock_.fd_;
  const std::string name = request_.what + " '" + path_ + "'";
  if (final_size > 0 && ::ftruncate(fd, static_cast<off_t>(final_size)) != 0) {
    const int err = errno;
    throw StoreError(system_cause(err) + ": cannot finish " + name + "; nothing was written to it", err);
  }
  // The rename below must not reach the disk before the contents do.
  if (::fsync(fd) != 0) {
    const int err = errno;
    throw StoreError(system_cause(err) + ": cannot write " + name + " to disk; nothing was written to it", err);
  }
  if (existed_ && request_.overwrite) {
    struct stat st;
    if (::stat(path_.c_str(), &st) != 0 || identity_of(st) != old_lock_.identity())
      throw StoreError(name + " was replaced by another process while this command wrote its new version: it was "
                       "left as it is; rerun the command",
                       EEXIST);
    if (std::rename(temp_.c_str(), path_.c_str()) != 0) {
      const int err = errno;
      throw StoreError(system_cause(err) + ": cannot move the new " + name + " into place; the old one is unchanged", err);
    }
  } else {
    // No-replace rename: a file that appeared at `path` meanwhile (another command) is never clobbered.
    int rc = ::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE);
    int err = rc == 0 ? 0 : errno;
    if (rc != 0 && (err == EINVAL || err == ENOSYS || err == ENOTSUP)) {
      // File systems without RENAME_NOREPLACE (NFS): link() also fails when the name exists.
      rc = ::link(temp_.c_str(), path_.c_str());
      err = rc == 0 ? 0 : errno;
      if (rc == 0) ::unlink(temp_.c_str());
    }
    if (err == EEXIST)
      throw StoreError(name + " was created by another process while this command wrote it: it was not replaced; "
                       "choose another --out, or rerun with --overwrite",
                       err);
    if (err != 0) throw StoreError(system_cause(err) + ": cannot move the new " + name + " into place", err);
  }
  committed_ = true;
  old_lock_.release();
  // Make the rename itself durable (best effort: some file systems refuse fsync on directories).
  const int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

WriterLock OutputFile::take_lock() { return std::move(new_lock_); }

}  // namespace icl
