// Fault injection for tests/files/files_test.sh midrun: pwrite() to the file named by $ICL_FAIL_PATH fails
// with ENOSPC after $ICL_FAIL_AFTER successful writes to it, as on a full copy-on-write or network disk.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static long writes_seen = 0;

static int targeted(int fd) {
  const char* want = getenv("ICL_FAIL_PATH");
  if (!want) return 0;
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n < 0) return 0;
  path[n] = 0;
  size_t lw = strlen(want), lp = (size_t)n;
  return lp >= lw && strcmp(path + lp - lw, want) == 0;
}

static ssize_t fail_or(int fd) {
  if (!targeted(fd)) return 0;
  const char* after = getenv("ICL_FAIL_AFTER");
  if (++writes_seen > (after ? atol(after) : 0)) {
    errno = ENOSPC;
    return -1;
  }
  return 0;
}

ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  static ssize_t (*real)(int, const void*, size_t, off_t);
  if (!real) real = (ssize_t (*)(int, const void*, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
  if (fail_or(fd) < 0) return -1;
  return real(fd, buf, count, offset);
}
ssize_t pwrite64(int fd, const void* buf, size_t count, off_t offset) {
  static ssize_t (*real)(int, const void*, size_t, off_t);
  if (!real) real = (ssize_t (*)(int, const void*, size_t, off_t))dlsym(RTLD_NEXT, "pwrite64");
  if (fail_or(fd) < 0) return -1;
  return real(fd, buf, count, offset);
}
