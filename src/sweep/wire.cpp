#include "iclsweep/sweep/wire.hpp"

#include <cstring>

#include "iclsweep/core/error.hpp"

namespace icl::wire {
namespace {

class Writer {
 public:
  template <class T>
  void pod(const T& v) {
    const char* p = reinterpret_cast<const char*>(&v);
    out.insert(out.end(), p, p + sizeof(T));
  }
  void str(const std::string& s) {
    pod<std::uint64_t>(s.size());
    out.insert(out.end(), s.begin(), s.end());
  }
  template <class T>
  void vec(const std::vector<T>& v) {
    pod<std::uint64_t>(v.size());
    const char* p = reinterpret_cast<const char*>(v.data());
    out.insert(out.end(), p, p + v.size() * sizeof(T));
  }
  std::vector<char> out;
};

class Reader {
 public:
  explicit Reader(const std::vector<char>& b) : bytes(b) {}
  template <class T>
  T pod() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, bytes.data() + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  std::string str() {
    const auto n = pod<std::uint64_t>();
    need(n);
    std::string s(bytes.data() + pos, n);
    pos += n;
    return s;
  }
  template <class T>
  std::vector<T> vec() {
    const auto n = pod<std::uint64_t>();
    need(n * sizeof(T));
    std::vector<T> v(n);
    std::memcpy(v.data(), bytes.data() + pos, n * sizeof(T));
    pos += n * sizeof(T);
    return v;
  }
  void done() const {
    if (pos != bytes.size()) throw Error("internal: trailing bytes in an MPI message");
  }

 private:
  void need(std::size_t n) const {
    if (pos + n > bytes.size()) throw Error("internal: truncated MPI message");
  }
  const std::vector<char>& bytes;
  std::size_t pos = 0;
};

constexpr std::uint32_t kAssignmentTag = 0x41535347;  // "ASSG"
constexpr std::uint32_t kResultTag = 0x52534c54;      // "RSLT"

}  // namespace

std::vector<char> encode(const Assignment& a) {
  Writer w;
  w.pod(kAssignmentTag);
  w.pod(a.index);
  w.pod<std::uint64_t>(a.params.values().size());
  for (const auto& [k, v] : a.params.values()) {
    w.str(k);
    w.str(v);
  }
  return std::move(w.out);
}

Assignment decode_assignment(const std::vector<char>& bytes) {
  Reader r(bytes);
  if (r.pod<std::uint32_t>() != kAssignmentTag) throw Error("internal: MPI message is not an assignment");
  Assignment a;
  a.index = r.pod<std::int64_t>();
  const auto n = r.pod<std::uint64_t>();
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string k = r.str();
    a.params.set_raw(k, r.str());
  }
  r.done();
  return a;
}

std::vector<char> encode(const Result& res) {
  Writer w;
  w.pod(kResultTag);
  w.pod(res.index);
  w.pod<std::uint8_t>(res.ok ? 1 : 0);
  w.str(res.error);
  w.pod<std::int32_t>(res.rank);
  w.str(res.host);
  w.pod(res.start_time);
  w.pod(res.end_time);
  w.pod(res.cpu_time);
  w.pod<std::uint64_t>(res.record.fields.size());
  for (const auto& [path, f] : res.record.fields) {
    w.str(path);
    w.vec(f.dims);
    w.vec(f.values);
  }
  return std::move(w.out);
}

Result decode_result(const std::vector<char>& bytes) {
  Reader r(bytes);
  if (r.pod<std::uint32_t>() != kResultTag) throw Error("internal: MPI message is not a result");
  Result res;
  res.index = r.pod<std::int64_t>();
  res.ok = r.pod<std::uint8_t>() != 0;
  res.error = r.str();
  res.rank = r.pod<std::int32_t>();
  res.host = r.str();
  res.start_time = r.pod<double>();
  res.end_time = r.pod<double>();
  res.cpu_time = r.pod<double>();
  const auto n = r.pod<std::uint64_t>();
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string path = r.str();
    FieldValues f;
    f.dims = r.vec<std::int64_t>();
    f.values = r.vec<double>();
    res.record.fields.emplace(std::move(path), std::move(f));
  }
  r.done();
  return res;
}

}  // namespace icl::wire
