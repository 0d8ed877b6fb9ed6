#pragma once
// Shared fixtures for the store tests: a small schema, a manifest, and point values derived from the
// index alone (so a reader can check any point without knowing what the writer did).
#include <unistd.h>

#include <cstdio>
#include <string>

#include "iclsweep/store/h5.hpp"
#include "iclsweep/store/results_file.hpp"

namespace icl::store_test {

struct TempPath {
  std::string path;
  explicit TempPath(const std::string& stem)
      : path("/tmp/iclsweep_test_" + stem + "_" + std::to_string(::getpid()) + ".h5") {
    remove_all();
  }
  ~TempPath() { remove_all(); }
  void remove_all() const {
    std::remove(path.c_str());
    std::remove((path + ".lock").c_str());
  }
};

// HDF5 refuses a second open of a file within one process with other file-locking settings, so the
// tests open results files with the settings ResultsFile uses (locking off).
inline h5::File open_plain(const std::string& path, h5::FileMode mode) {
  auto fapl = h5::PropertyList::file_access();
  fapl.sec2_driver().file_locking(false, true);
  return h5::File(path, mode, &fapl);
}

inline ResultSchema test_schema() {
  ResultSchema s;
  s.fields.push_back({"loss", FieldType::Float32, {}, "final training loss", {{"units", "nats"}}});
  s.fields.push_back({"curve/train_loss", FieldType::Float64, {10}, "loss per checkpoint", {}});
  s.fields.push_back({"eval/eval-default-none/error", FieldType::Float32, {4, 3}, "error per checkpoint and class", {}});
  s.fields.push_back({"counts", FieldType::Int32, {5}, "integer counts", {}});
  return s;
}

inline SweepManifest test_manifest(std::size_t num_points) {
  SweepManifest m;
  m.job_text = "[fixed]\nmodel.kind = transformer\n[grid]\ndata.num_contexts = 1,2,4,8\ndata.seed = 0..2\n";
  m.grid_json = R"({"axes":[["data.num_contexts",["1","2","4","8"]],["data.seed",["0","1","2"]]]})";
  m.grid_keys = {"data.num_contexts", "data.seed"};
  m.grid_hash = "00c0ffee00c0ffee";
  m.provenance = {{"slurm_cluster", "test"}};
  for (std::size_t i = 0; i < num_points; ++i) {
    ParamMap p;
    p.set_raw("data.seed", std::to_string(i % 3));
    p.set_raw("data.num_contexts", std::to_string(1 << (i % 4)));
    p.set_raw("model.kind", i % 2 ? "gated" : "transformer");
    p.set_raw("train.lr", "0.001");
    p.set_raw("data.optional", i % 5 == 0 ? "" : "2.5");
    m.point_params.push_back(p);
    char id[17];
    std::snprintf(id, sizeof id, "%016zx", i * 0x9E3779B97F4A7ull);
    m.point_ids.push_back(id);
  }
  return m;
}

// The record of point i: shapes and values depend only on i (shapes vary, so padding is exercised).
inline PointRecord test_record(std::size_t i) {
  PointRecord r;
  const double x = static_cast<double>(i);
  r.set_scalar("loss", x * 0.5);
  std::vector<double> curve(1 + i % 10);
  for (std::size_t k = 0; k < curve.size(); ++k) curve[k] = x + 0.25 * static_cast<double>(k);
  r.set_vector("curve/train_loss", curve);
  const std::int64_t rows = 1 + static_cast<std::int64_t>(i % 4);
  std::vector<double> err;
  for (std::int64_t a = 0; a < rows; ++a)
    for (std::int64_t b = 0; b < 3; ++b) err.push_back(x * 10 + static_cast<double>(a * 3 + b));
  r.set_array("eval/eval-default-none/error", {rows, 3}, err);
  std::vector<double> counts(5);
  for (std::size_t k = 0; k < 5; ++k) counts[k] = x + static_cast<double>(k);
  r.set_vector("counts", counts);
  return r;
}

inline PointMeta test_meta(std::size_t i) {
  PointMeta m;
  m.rank = static_cast<std::int32_t>(i % 7);
  m.host = "node" + std::to_string(i % 3);
  m.start_time = 1.7e9 + static_cast<double>(i);
  m.end_time = m.start_time + 2.0;
  m.cpu_time = 1.5 + static_cast<double>(i);
  return m;
}

// Empty string when point i of `file` holds exactly test_record(i) / test_meta(i), else what differs.
inline std::string check_point(const ResultsFile& file, std::size_t i) {
  const PointRecord got = file.read_point(i), want = test_record(i);
  for (const auto& [name, w] : want.fields) {
    const auto it = got.fields.find(name);
    if (it == got.fields.end()) return "point " + std::to_string(i) + ": field " + name + " missing";
    if (it->second.dims != w.dims) return "point " + std::to_string(i) + ": field " + name + " has wrong shape";
    for (std::size_t k = 0; k < w.values.size(); ++k)
      if (static_cast<float>(it->second.values[k]) != static_cast<float>(w.values[k]))
        return "point " + std::to_string(i) + ": field " + name + "[" + std::to_string(k) + "] = " +
               std::to_string(it->second.values[k]) + ", expected " + std::to_string(w.values[k]);
  }
  const PointMeta m = file.meta(i), wm = test_meta(i);
  if (m.rank != wm.rank || m.host != wm.host || m.start_time != wm.start_time || m.wall_time != 2.0 ||
      m.cpu_time != wm.cpu_time)
    return "point " + std::to_string(i) + ": meta differs";
  return "";
}

// 0 = h5py opened the file and ran `check` (python statements using f), 1 = failed, -1 = no h5py here.
inline int run_h5py(const std::string& path, const std::string& check) {
  if (std::system("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1") != 0) return -1;
  const std::string script = "import h5py, numpy as np\nf = h5py.File('" + path + "', 'r')\n" + check + "\n";
  const std::string script_path = path + ".check.py";
  if (FILE* fp = std::fopen(script_path.c_str(), "w")) {
    std::fputs(script.c_str(), fp);
    std::fclose(fp);
  }
  const int rc = std::system(("/usr/bin/python3 " + script_path).c_str());
  std::remove(script_path.c_str());
  return rc == 0 ? 0 : 1;
}

}  // namespace icl::store_test
