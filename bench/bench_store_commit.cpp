// Rank 0's commit cost per point with a transformer-sized results schema (150 fields: 18 splits x 3
// metrics per checkpoint and at the selected checkpoint, plus curves), one point per commit step
// (write_point) against batches (stage_point x B, then commit_staged), as the coordinator does for
// short points. `build/bench/bench_store_commit`; items/s = points/s of commit throughput.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "iclsweep/store/results_file.hpp"

using namespace icl;

namespace {

constexpr std::size_t kPoints = 4096;
constexpr std::int64_t kCheckpoints = 3;

ResultSchema transformer_like_schema() {
  ResultSchema s;
  const char* ctx[] = {"default", "relevant_context", "irrelevant_context"};
  const char* cls[] = {"none", "high_prob", "low_prob"};
  for (const char* c : ctx)
    for (const char* k : cls)
      for (const char* flip : {"", "-flip_label"})
        for (const char* metric : {"error", "loss", "context_fraction"}) {
          const std::string split = std::string("eval-") + c + "-" + k + flip;
          s.fields.push_back({"eval/" + split + "/" + metric, FieldType::Float32, {kCheckpoints}, "", {}});
          s.fields.push_back({"selected/" + split + "/" + metric, FieldType::Float32, {}, "", {}});
        }
  s.fields.push_back({"train/loss", FieldType::Float32, {2}, "", {}});
  s.fields.push_back({"train/step", FieldType::Int32, {2}, "", {}});
  s.fields.push_back({"checkpoint/step", FieldType::Int32, {kCheckpoints}, "", {}});
  s.fields.push_back({"selected/index", FieldType::Int32, {}, "", {}});
  return s;
}

PointRecord record_for(const ResultSchema& schema, std::size_t i) {
  PointRecord r;
  for (const auto& f : schema.fields) {
    if (f.dims.empty())
      r.set_scalar(f.path, 0.001 * static_cast<double>(i));
    else
      r.set_vector(f.path, std::vector<double>(static_cast<std::size_t>(f.dims[0]), 0.5));
  }
  return r;
}

SweepManifest manifest() {
  SweepManifest m;
  m.job_text = "[grid]\nseeds = 0..4095\n";
  m.grid_json = "{}";
  m.grid_keys = {"data.seed"};
  m.grid_hash = "00bench00bench00";
  for (std::size_t i = 0; i < kPoints; ++i) {
    ParamMap p;
    p.set_raw("data.seed", std::to_string(i));
    m.point_params.push_back(p);
    char id[17];
    std::snprintf(id, sizeof id, "%016zx", i);
    m.point_ids.push_back(id);
  }
  return m;
}

void BM_CommitPoints(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  const ResultSchema schema = transformer_like_schema();
  const std::string path = "/tmp/iclsweep-bench-commit-" + std::to_string(::getpid()) + ".h5";
  std::remove(path.c_str());
  auto file = ResultsFile::create(path, manifest(), schema);
  const PointRecord record = record_for(schema, 1);
  PointMeta meta;
  meta.rank = 1;
  meta.host = "bench";
  meta.start_time = 1.7e9;
  meta.end_time = 1.7e9 + 0.02;
  std::size_t next = 0;
  for (auto _ : state) {
    if (next + batch > kPoints) {  // every commit goes to a pending point, as in a sweep
      state.PauseTiming();
      file.close();
      std::remove(path.c_str());
      file = ResultsFile::create(path, manifest(), schema);
      next = 0;
      state.ResumeTiming();
    }
    for (std::size_t b = 0; b < batch; ++b) file.stage_point(next++, meta, record);
    file.commit_staged();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
  file.close();
  std::remove(path.c_str());
  std::remove((path + ".lock").c_str());
}
BENCHMARK(BM_CommitPoints)->Arg(1)->Arg(8)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
