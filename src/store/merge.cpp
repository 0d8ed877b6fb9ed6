#include "iclsweep/store/merge.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <map>
#include <set>

#include <xxhash.h>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/quote.hpp"
#include "iclsweep/store/output_file.hpp"

namespace icl {

ParamMap params_from_text(const std::string& text) {
  ParamMap m;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find(';', begin);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(begin, end - begin);
    const auto eq = item.find('=');
    if (eq != std::string::npos) m.set_raw(item.substr(0, eq), item.substr(eq + 1));
    begin = end + 1;
  }
  return m;
}

namespace {

bool same_values(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t k = 0; k < a.size(); ++k)
    if (!(a[k] == b[k] || (std::isnan(a[k]) && std::isnan(b[k])))) return false;
  return true;
}

// As Job::grid_hash (sweep/job.cpp): XXH64 of the concatenated point ids, so a merged file whose points are
// exactly a job's, in that job's order, resumes under that job.
std::string grid_hash_of_ids(const std::string& concatenated_ids) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(XXH64(concatenated_ids.data(), concatenated_ids.size(), 0)));
  return buf;
}

}  // namespace

void copy_point(const ResultsFile& src, std::size_t from, ResultsFile& dst, std::size_t to) {
  const PointMeta meta = src.meta(from);
  if (meta.status == PointStatus::Pending) return;
  if (meta.status == PointStatus::Failed) {
    dst.mark_failed(to, meta);
    return;
  }
  PointRecord rec = src.read_point(from);
  for (auto it = rec.fields.begin(); it != rec.fields.end();) {
    // Scalars are always read back (NaN when never written); only values that exist need a home.
    const bool unset_scalar = it->second.dims.empty() && !it->second.values.empty() && std::isnan(it->second.values[0]);
    if (!dst.schema().find(it->first)) {
      if (unset_scalar) {
        it = rec.fields.erase(it);
        continue;
      }
      throw StoreError("point " + std::to_string(from) + " of '" + src.path() + "' has field '" + it->first +
                       "', which '" + dst.path() + "' does not hold (another model kind or version)");
    }
    ++it;
  }
  dst.write_point(to, meta, rec);
}

std::string point_difference(const ResultsFile& a, std::size_t i, const ResultsFile& b, std::size_t j) {
  // One row each (params_texts() would read every point's text: quadratic over a merge).
  if (a.meta(i).status != b.meta(j).status)
    return std::string("status ") + to_string(a.meta(i).status) + " vs " + to_string(b.meta(j).status);
  if (a.params_text(i) != b.params_text(j)) return "the parameters differ";
  const auto sa = a.meta(i).status;
  if (sa != PointStatus::Done) return "";
  const auto ra = a.read_point(i), rb = b.read_point(j);
  for (const auto& [path, va] : ra.fields) {
    // Timing fields (online/steps_per_second: "... (timing; not reproducible)") differ between any two runs
    // of the same point: they are not results, so they never make two files conflict.
    const FieldSpec* spec = a.schema().find(path);
    if (spec && spec->description.find("not reproducible") != std::string::npos) continue;
    const auto it = rb.fields.find(path);
    if (it == rb.fields.end()) {
      if (va.dims.empty() && std::isnan(va.values[0])) continue;
      return "field '" + path + "' is only in the first file";
    }
    if (va.dims != it->second.dims || !same_values(va.values, it->second.values)) return "field '" + path + "' differs";
  }
  return "";
}

MergeSummary merge_results(const std::vector<std::string>& inputs, const std::string& out, const MergeOptions& options) {
  // The output is checked before any input is read: "" or a directory is exit 2, an existing file exit 5.
  OutputFile::check_path(out, "--out");
  if (inputs.size() < 2) throw InputError("merge: give at least two results files");
  struct stat out_stat;
  if (::lstat(out.c_str(), &out_stat) == 0)
    throw StoreError("merge: output '" + out + "' already exists; choose another --out (merge never replaces a file)",
                     EEXIST);
  std::vector<ResultsFile> files;
  for (const auto& p : inputs) {
    files.push_back(ResultsFile::open(p, /*writable=*/false));
    files.back().check_recorded_shapes();  // a damaged file is refused before anything is written
  }
  // Files made from other input data (another Omniglot folder content, another corpus generator) hold
  // other computations under the same point ids.
  InputFingerprints merged_inputs;
  {
    std::vector<std::string> changed;
    for (std::size_t f = 0; f < files.size(); ++f) {
      const auto these = files[f].input_fingerprints();
      for (std::size_t g = 0; g < f; ++g)
        for (auto& c : changed_inputs(files[g].input_fingerprints(), these, "in " + inputs[g], "in " + inputs[f]))
          changed.push_back(std::move(c));
      for (const auto& [name, value] : these) {
        auto it = std::find_if(merged_inputs.begin(), merged_inputs.end(), [&](const auto& kv) { return kv.first == name; });
        if (it == merged_inputs.end()) merged_inputs.emplace_back(name, value);
        else if (it->second.find(value) == std::string::npos) it->second += " | " + value;  // accepted: both kept
      }
    }
    if (!changed.empty() && !options.accept_changed_inputs) {
      std::string msg = "merge: the files were made from different input data, so the same point id is not the same "
                        "computation (" + std::to_string(changed.size()) + " input(s) differ):";
      for (const auto& c : changed) msg += "\n  " + printable(c, 400);
      throw StoreError(msg + "\nnothing was written: merge files made from the same data, or pass "
                             "--accept-changed-inputs to merge them anyway (the merged file records both fingerprints)");
    }
  }

  // The union by id, in input order; for each id the file to copy from (done beats failed beats pending).
  struct Source {
    std::size_t file, row;
  };
  std::vector<std::string> ids;
  std::map<std::string, std::size_t> slot;
  std::vector<Source> chosen;
  std::vector<std::string> conflicts;
  MergeSummary summary;
  auto rank = [](PointStatus s) { return s == PointStatus::Done ? 2 : s == PointStatus::Failed ? 1 : 0; };
  std::vector<std::vector<PointStatus>> statuses_of;  // read once per file (not once per point)
  std::vector<std::vector<std::string>> params_of;
  std::vector<std::vector<std::int64_t>> seeds_of;
  for (const auto& file : files) {
    statuses_of.push_back(file.statuses());
    params_of.push_back(file.params_texts());
    seeds_of.push_back(file.seeds());
  }
  for (std::size_t f = 0; f < files.size(); ++f) {
    const auto file_ids = files[f].point_ids();
    const auto& statuses = statuses_of[f];
    for (std::size_t r = 0; r < file_ids.size(); ++r) {
      const auto found = slot.find(file_ids[r]);
      if (found == slot.end()) {
        slot[file_ids[r]] = ids.size();
        ids.push_back(file_ids[r]);
        chosen.push_back({f, r});
        continue;
      }
      ++summary.duplicates;
      Source& have = chosen[found->second];
      const auto old_status = statuses_of[have.file][have.row];
      if (old_status == PointStatus::Done && statuses[r] == PointStatus::Done) {
        const std::string why = params_of[have.file][have.row] != params_of[f][r]
                                    ? "the parameters differ"
                                    : point_difference(files[have.file], have.row, files[f], r);
        if (!why.empty())
          conflicts.push_back("point " + printable(file_ids[r]) + " (" + printable(inputs[have.file], 200) + " #" +
                              std::to_string(have.row) + ", " + printable(inputs[f], 200) + " #" + std::to_string(r) +
                              "): " + printable(why, 300));
      } else if (rank(statuses[r]) > rank(old_status)) {
        have = {f, r};
      }
    }
  }
  if (!conflicts.empty()) {
    std::string msg = "merge: " + std::to_string(conflicts.size()) +
                      " point(s) are done in two files with different results, so the files are not parts of one "
                      "sweep (another binary or another data version?); nothing was written:";
    for (std::size_t k = 0; k < conflicts.size() && k < 5; ++k) msg += "\n  " + conflicts[k];
    if (conflicts.size() > 5) msg += "\n  ... and " + std::to_string(conflicts.size() - 5) + " more";
    throw StoreError(msg);
  }

  SweepManifest m;
  ResultSchema schema;
  std::set<std::string> grid_keys;
  m.job_text = "# iclsweep merge of " + std::to_string(inputs.size()) + " files\n";
  for (std::size_t f = 0; f < files.size(); ++f) {
    for (const auto& fs : files[f].schema().fields) schema.merge(fs);
    m.job_text += "# ---- " + inputs[f] + " (grid hash " + files[f].grid_hash() + ")\n" +
                  files[f].root_attribute("job_text") + "\n";
    for (const auto& k : files[f].grid_keys())
      if (grid_keys.insert(k).second) m.grid_keys.push_back(k);
    for (const auto& k : files[f].numeric_param_keys()) m.numeric_keys.insert(k);
  }
  std::string id_concat;
  for (std::size_t p = 0; p < ids.size(); ++p) {
    const auto& src = chosen[p];
    m.point_params.push_back(params_from_text(params_of[src.file][src.row]));
    m.point_ids.push_back(ids[p]);
    m.point_seeds.push_back(seeds_of[src.file][src.row]);
    id_concat += ids[p];
  }
  m.grid_hash = grid_hash_of_ids(id_concat);
  m.grid_json = "{\"merged_from\": [";
  for (std::size_t f = 0; f < inputs.size(); ++f) m.grid_json += (f ? ", \"" : "\"") + inputs[f] + "\"";
  m.grid_json += "]}";
  m.provenance = {{"merged_from", m.grid_json}};
  if (!merged_inputs.empty()) m.provenance.emplace_back(kInputFingerprintsAttribute, format_input_fingerprints(merged_inputs));

  // The merged file is built and filled under a temporary name (`OUT.creating-PID-N`, like every new
  // file) and appears at `out` only complete: a killed merge leaves a temporary that the next command
  // writing `out` removes.
  ResultsFileOptions ro;
  ro.fill_before_publishing = [&](ResultsFile& dst) {
    for (std::size_t p = 0; p < ids.size(); ++p) {
      copy_point(files[chosen[p].file], chosen[p].row, dst, p);
      const auto s = statuses_of[chosen[p].file][chosen[p].row];
      ++(s == PointStatus::Done ? summary.done : s == PointStatus::Failed ? summary.failed : summary.pending);
    }
    for (const auto& f : files)
      for (const auto& l : f.launches()) dst.record_launch(l);
  };
  try {
    ResultsFile::create(out, m, schema, ro).close();
  } catch (const StoreError& e) {
    if (e.sys_errno == EEXIST)
      throw StoreError("merge: output '" + out + "' already exists; choose another --out (merge never replaces a file)",
                       EEXIST);
    throw;
  }
  summary.points = ids.size();
  return summary;
}

}  // namespace icl
