#include "kinds/raventos/params.hpp"

#include <cmath>

#include "iclsweep/core/error.hpp"

namespace icl::raventos {

std::vector<ParamSpec> param_specs() {
  using T = ParamType;
  const std::int64_t big = (std::int64_t{1} << 31) - 1;
  return {
      {"raventos.dims", T::Int, "8", "Raventós 2023 (PEERS-SPEC §3.1): D, the dimension of tasks w and inputs x (TEXT/CODE: 8)", {}, 1, 256},
      {"raventos.num_examples", T::Int, "16",
       "Raventós 2023: K, the (x, y) pairs per sequence; the sequence has 2K tokens (TEXT/CODE: 16)", {}, 1, 512},
      {"raventos.noise_variance", T::Real, "0.25",
       "Raventós 2023: sigma^2, variance of the label noise y = w.x + noise; also the ridge lambda (task scale 1) and the "
       "dMMSE likelihood variance (TEXT/CODE: 0.25)", {}},
      {"raventos.num_tasks", T::Int, "0",
       "Raventós 2023: M, the size of the pretraining task pool drawn once from N(0, I_D); 0 = infinite (a fresh task "
       "for every training sequence, the paper's M = inf; CODE n_tasks = 0)", {}, 0, std::int64_t{1} << 25},
      {"raventos.layers", T::Int, "8", "Raventós 2023 (§3.2): pre-LN GPT-2 blocks (TEXT: 8 base, 4 small)", {}, 1, 64},
      {"raventos.embed_dim", T::Int, "128", "Raventós 2023: embedding width (TEXT: 128 base, 64 small)", {}, 2, 4096},
      {"raventos.heads", T::Int, "2", "Raventós 2023: attention heads; must divide raventos.embed_dim (TEXT: 2)", {}, 1, 256},
      {"raventos.batch_size", T::Int, "256", "Raventós 2023 (§3.3): training sequences per step (TEXT: 256; 512 for the threshold cross-over)", {}, 1, 65536},
      {"raventos.steps", T::Int, "500000", "Raventós 2023: training steps (TEXT: 500K)", {}, 1, big},
      {"raventos.learning_rate", T::Real, "0.001",
       "Raventós 2023: peak Adam learning rate of the triangle schedule (CODE example.py: 1e-3; the paper keeps the largest "
       "stable rate per setting, per-setting values UNKNOWN)", {}},
      {"raventos.warmup_fraction", T::Real, "0.5",
       "Raventós 2023: fraction of raventos.steps over which the learning rate rises linearly from 0 to the peak, then "
       "falls linearly to 0 (CODE: 250K of 500K)", {}},
      {"raventos.weight_decay", T::Real, "0",
       "Raventós 2023: AdamW decoupled weight decay on the body kernels (attention QKV and projection, MLP in and out), "
       "scaled by the schedule (CODE optim.py); the Fig. 7 values are UNKNOWN, 0 = plain Adam", {}},
      {"raventos.eval_interval", T::Int, "1000", "Raventós 2023: evaluate every this many steps, and at the last step (CODE: 1000)", {}, 1, big},
      {"raventos.eval_sequences", T::Int, "4096",
       "Raventós 2023: evaluation sequences per task distribution (T_Pretrain, T_True), drawn once per point (CODE: 2^20 "
       "in batches of 4096; the default is one such batch, since dMMSE costs M*K*D per sequence)", {}, 1, 1 << 22},
      {"raventos.log_interval", T::Int, "1000", "Raventós 2023: the training loss is logged as its mean over this many steps", {}, 1, big},
  };
}

std::vector<std::int64_t> Params::checkpoint_steps() const {
  std::vector<std::int64_t> out;
  for (std::int64_t s = eval_interval; s < steps; s += eval_interval) out.push_back(s);
  out.push_back(steps);
  return out;
}

Params Params::read(const ParamMap& p) {
  Params r;
  r.dims = p.get_int32("raventos.dims");
  r.num_examples = p.get_int32("raventos.num_examples");
  r.noise_variance = p.get_real("raventos.noise_variance");
  r.num_tasks = p.get_int("raventos.num_tasks");
  r.layers = p.get_int32("raventos.layers");
  r.embed_dim = p.get_int32("raventos.embed_dim");
  r.heads = p.get_int32("raventos.heads");
  r.batch_size = p.get_int32("raventos.batch_size");
  r.steps = p.get_int("raventos.steps");
  r.learning_rate = p.get_real("raventos.learning_rate");
  r.warmup_fraction = p.get_real("raventos.warmup_fraction");
  r.weight_decay = p.get_real("raventos.weight_decay");
  r.eval_interval = p.get_int("raventos.eval_interval");
  r.eval_sequences = p.get_int32("raventos.eval_sequences");
  r.log_interval = p.get_int("raventos.log_interval");
  r.seed = p.has("data.seed") ? static_cast<std::uint64_t>(p.get_int("data.seed")) : 0;
  return r;
}

std::vector<std::string> Params::collect_errors() const {
  std::vector<std::string> e;
  auto err = [&](const std::string& key, const std::string& value, const std::string& rule) {
    e.push_back(ParamError(key, value, rule).what());
  };
  if (!(noise_variance > 0))
    err("raventos.noise_variance", format_real(noise_variance), "must be > 0 (it is the ridge lambda and the dMMSE likelihood variance): use e.g. 0.25");
  if (embed_dim % heads != 0)
    err("raventos.heads", std::to_string(heads),
        "must divide raventos.embed_dim = " + std::to_string(embed_dim) + ": pick heads so that embed_dim / heads is whole");
  if (!(learning_rate > 0)) err("raventos.learning_rate", format_real(learning_rate), "must be > 0: the paper's example uses 0.001");
  if (!(warmup_fraction > 0 && warmup_fraction < 1))
    err("raventos.warmup_fraction", format_real(warmup_fraction), "must lie strictly between 0 and 1 (the paper's triangle uses 0.5)");
  if (!(weight_decay >= 0)) err("raventos.weight_decay", format_real(weight_decay), "must be >= 0 (0 = plain Adam)");
  if (log_interval > steps)
    err("raventos.log_interval", std::to_string(log_interval),
        "must be <= raventos.steps = " + std::to_string(steps) + " so that one training loss is logged: lower it");
  else if (num_log_entries() > 1000000)
    err("raventos.log_interval", std::to_string(log_interval), "gives more than 10^6 logged losses: raise it");
  if (eval_interval > steps)
    err("raventos.eval_interval", std::to_string(eval_interval),
        "must be <= raventos.steps = " + std::to_string(steps) + ": lower it (the last step is always evaluated)");
  else if (steps / eval_interval > 100000)
    err("raventos.eval_interval", std::to_string(eval_interval), "gives more than 10^5 evaluations: raise it");
  const double pool_bytes = 8.0 * static_cast<double>(num_tasks) * dims;
  if (pool_bytes > 4e9)
    err("raventos.num_tasks", std::to_string(num_tasks),
        "with raventos.dims = " + std::to_string(dims) + " makes a task pool of more than 4 GB: lower M or D");
  return e;
}

Params Params::from(const ParamMap& p) {
  Params r = read(p);
  const auto e = r.collect_errors();
  if (!e.empty()) throw InputError(e.front());
  return r;
}

}  // namespace icl::raventos
