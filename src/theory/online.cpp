#include "iclsweep/theory/online.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/rng.hpp"
#include "param_access.hpp"

namespace icl {

namespace {

// Sub-ids of Purpose::Online streams.
constexpr std::uint64_t kPrototypeStream = 0;
constexpr std::uint64_t kStepStream = 1;

// Gamma(shape, 1) by Marsaglia-Tsang (shape >= 1), boosted by U^{1/shape} for shape < 1.
double gamma_draw(Philox& rng, double shape) {
  if (shape < 1.0) return gamma_draw(rng, shape + 1.0) * std::pow(rng.uniform_pos(), 1.0 / shape);
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = rng.normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = rng.uniform_pos();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}
double chi_square_draw(Philox& rng, int dof) { return dof <= 0 ? 0.0 : 2.0 * gamma_draw(rng, 0.5 * dof); }

double sigmoid(double z) { return z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z)); }

// Draws classes from w (two levels: H classes share p_high, Lo classes share 1 - p_high).
struct ClassSampler {
  int H, Lo, C;
  double p_high;
  Conditioning conditioning;
  explicit ClassSampler(const DataParams& d)
      : H(d.num_high_prob_classes), Lo(d.num_low_prob_classes), C(d.num_classes()), p_high(d.p_high), conditioning(d.conditioning) {}
  int from_w(Philox& rng) const {
    return rng.uniform() < p_high ? static_cast<int>(rng.below(H)) : H + static_cast<int>(rng.below(Lo));
  }
  int query(Philox& rng) const {
    switch (conditioning) {
      case Conditioning::HighProb: return static_cast<int>(rng.below(H));
      case Conditioning::LowProb: return H + static_cast<int>(rng.below(Lo));
      default: return from_w(rng);
    }
  }
  // w | != q by rejection: at most 1/(1 - w_q) expected draws (w_q <= p_high/H < 1).
  int other_than(Philox& rng, int q) const {
    for (;;) {
      const int c = from_w(rng);
      if (c != q) return c;
    }
  }
};

// CDF over m = 1..L of Binomial(L, w) truncated to m >= 1 (number of contexts of the query class in a
// relevant sequence when L_rel is unset, §1.2 step 6).
std::vector<double> truncated_binomial_cdf(int L, double w) {
  std::vector<double> pmf(L + 1, 0.0);
  for (int m = 0; m <= L; ++m)
    pmf[m] = std::exp(std::lgamma(L + 1.0) - std::lgamma(m + 1.0) - std::lgamma(L - m + 1.0) + m * std::log(w) +
                      (L - m) * std::log1p(-w));
  const double mass = 1.0 - pmf[0];
  std::vector<double> cdf(L, 0.0);
  double acc = 0;
  for (int m = 1; m <= L; ++m) cdf[m - 1] = (acc += pmf[m] / mass);
  cdf[L - 1] = 1.0;
  return cdf;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------

std::vector<double> online_prototypes(const DataParams& d) {
  const int C = d.num_classes(), D = d.num_dims;
  const StreamKey key = stream_key(d.seed, Purpose::Online, kPrototypeStream);
  std::vector<double> mu(static_cast<std::size_t>(C) * D);
  for (int c = 0; c < C; ++c) {
    Philox rng(key, static_cast<std::uint64_t>(c));  // one cell per class
    double norm2 = 0;
    for (int j = 0; j < D; ++j) norm2 += (mu[c * D + j] = rng.normal()) * mu[c * D + j];
    const double inv = 1.0 / std::sqrt(norm2);
    for (int j = 0; j < D; ++j) mu[c * D + j] *= inv;
  }
  return mu;
}

OnlineGeometry::OnlineGeometry(const DataParams& d)
    : C_(d.num_classes()), D_(d.num_dims), r_(std::min(d.num_classes(), d.num_dims)), sigma_(d.input_noise_std) {
  const std::vector<double> mu = online_prototypes(d);  // (C, D), unit rows
  gram_.assign(static_cast<std::size_t>(C_) * C_, 0.0);
  for (int a = 0; a < C_; ++a)
    for (int b = 0; b < C_; ++b) {
      double s = 0;
      for (int j = 0; j < D_; ++j) s += mu[a * D_ + j] * mu[b * D_ + j];
      gram_[a * C_ + b] = s;
    }
  proj_.assign(C_, 0.0);
  z_.assign(r_, 0.0);
  coords_.assign(static_cast<std::size_t>(r_) * C_, 0.0);
  if (C_ >= D_) {  // the span is all of R^D: the standard basis will do
    for (int c = 0; c < C_; ++c)
      for (int j = 0; j < D_; ++j) coords_[j * C_ + c] = mu[c * D_ + j];
    return;
  }
  // Modified Gram-Schmidt on the prototypes: basis (r, D); coordinates a_c[j] = mu_c . b_j.
  std::vector<double> basis(static_cast<std::size_t>(r_) * D_);
  for (int c = 0; c < C_; ++c) {
    std::vector<double> v(mu.begin() + c * D_, mu.begin() + (c + 1) * D_);
    for (int j = 0; j < c; ++j) {
      double s = 0;
      for (int k = 0; k < D_; ++k) s += v[k] * basis[j * D_ + k];
      for (int k = 0; k < D_; ++k) v[k] -= s * basis[j * D_ + k];
    }
    double n = 0;
    for (double x : v) n += x * x;
    n = std::sqrt(n);
    // Gaussian directions with C < D are independent with probability 1; guard anyway.
    if (n < 1e-12) throw NumericError("online: prototypes are linearly dependent (data.seed = " + std::to_string(d.seed) + ")");
    for (int k = 0; k < D_; ++k) basis[c * D_ + k] = v[k] / n;
  }
  for (int c = 0; c < C_; ++c)
    for (int j = 0; j < r_; ++j) {
      double s = 0;
      for (int k = 0; k < D_; ++k) s += mu[c * D_ + k] * basis[j * D_ + k];
      coords_[j * C_ + c] = s;
    }
}

int OnlineGeometry::draw(Philox& rng, int q, const int* ctx_class, int L, double* dist, bool decode) {
  const double* gram_q = &gram_[static_cast<std::size_t>(q) * C_];
  if (sigma_ == 0.0) {
    for (int i = 0; i < L; ++i) dist[i] = 2.0 - 2.0 * gram_q[ctx_class[i]];
    return q;
  }
  // Query noise u = xi_q: r coordinates in the prototype span plus |u_perp|^2 ~ chi2(D - r).
  double u_norm2 = chi_square_draw(rng, D_ - r_);
  for (int j = 0; j < r_; ++j) u_norm2 += (z_[j] = rng.normal()) * z_[j];
  // proj[c] = mu_c . u for every class (the decoder needs all of them): (r, C)^T x (r) -> (C), as r
  // axpys over contiguous rows so the compiler vectorises it without reassociating a dot product.
  std::fill(proj_.begin(), proj_.end(), 0.0);
  for (int j = 0; j < r_; ++j) {
    const double* a = &coords_[static_cast<std::size_t>(j) * C_];
    const double zj = z_[j];
    for (int c = 0; c < C_; ++c) proj_[c] += a[c] * zj;
  }
  int key = q;
  if (decode) {
    // nearest prototype of x_q = mu_q + sigma u: argmax_c mu_c . mu_q + sigma mu_c . u (unit norms)
    double best = -std::numeric_limits<double>::infinity();
    for (int c = 0; c < C_; ++c) {
      const double score = gram_q[c] + sigma_ * proj_[c];
      if (score > best) best = score, key = c;
    }
  }
  for (int i = 0; i < L; ++i) {
    const int c = ctx_class[i];
    // |v|^2 with v = mu_c - mu_q - sigma u; then d = |v + sigma xi_i|^2 split along v and across it.
    const double v2 = std::max(0.0, 2.0 - 2.0 * gram_q[c] - 2.0 * sigma_ * (proj_[c] - proj_[q]) + sigma_ * sigma_ * u_norm2);
    const double along = std::sqrt(v2) + sigma_ * rng.normal();
    dist[i] = along * along + sigma_ * sigma_ * chi_square_draw(rng, D_ - 1);
  }
  return key;
}

double OnlineParams::theory_step_size(GateLearner learner, double epsilon) {
  const double loss_range = -std::log(epsilon);
  return learner == GateLearner::Hedge ? std::sqrt(8.0 * std::log(2.0)) / loss_range : 1.0 / loss_range;
}

OnlineParams OnlineParams::from(const ParamMap& p) {
  using detail::theory_int;
  using detail::theory_real;
  using detail::theory_value;
  OnlineParams o;
  o.data = DataParams::from(p);
  if (o.data.relevance_mode != RelevanceMode::PerSequence)
    throw ParamError("data.relevance_mode", to_string(o.data.relevance_mode),
                     "the online simulation implements per_sequence relevance only (set data.relevance_mode=per_sequence)");
  if (o.data.flip_label)
    throw ParamError("data.flip_label", "1", "the online simulation trains on the base distribution; set data.flip_label=0");
  o.learner = theory_value(p, "online.learner") == "ogd" ? GateLearner::Ogd : GateLearner::Hedge;
  o.schedule = theory_value(p, "online.step_schedule") == "fixed" ? StepSchedule::Fixed : StepSchedule::SqrtT;
  o.temperature = theory_real(p, "online.temperature");
  o.epsilon = theory_real(p, "online.epsilon");
  o.records = detail::theory_int32(p, "online.records");
  o.spacing = theory_value(p, "online.record_spacing") == "linear" ? RecordSpacing::Linear : RecordSpacing::Log;
  o.iw_key = theory_value(p, "online.iw_key") == "true_class" ? IwKey::TrueClass : IwKey::Decoded;
  const int C = o.data.num_classes();
  if (!(o.epsilon > 0.0 && o.epsilon * C < 1.0))
    throw ParamError("online.epsilon", format_real(o.epsilon),
                     "must satisfy 0 < eps < 1/C = " + format_real(1.0 / C) + " (C = data.num_high_prob_classes + data.num_low_prob_classes)");
  if (!(o.temperature > 0.0)) throw ParamError("online.temperature", format_real(o.temperature), "must be > 0");
  if (o.records < 2) throw ParamError("online.records", std::to_string(o.records), "must be >= 2");
  const std::string& eta = theory_value(p, "online.step_size");
  o.step_size = eta.empty() ? theory_step_size(o.learner, o.epsilon) : detail::theory_real(p, "online.step_size");
  if (!(o.step_size > 0.0)) throw ParamError("online.step_size", eta, "must be > 0 (or unset for the theory-guided value)");
  return o;
}

std::vector<std::int64_t> OnlineParams::record_steps() const {
  const std::int64_t N = data.dataset_size;
  std::vector<std::int64_t> steps;
  for (int j = 0; j < records; ++j) {
    std::int64_t t;
    if (spacing == RecordSpacing::Log)
      t = static_cast<std::int64_t>(std::llround(std::exp(std::log(static_cast<double>(N)) * j / (records - 1))));
    else
      t = (N * (j + 1) + records - 1) / records;
    t = std::clamp<std::int64_t>(t, 1, N);
    if (steps.empty() || t > steps.back()) steps.push_back(t);
  }
  if (steps.back() != N) steps.push_back(N);
  return steps;
}

OnlineTrace simulate_online(const OnlineParams& o, const std::function<void(double)>& progress) {
  const DataParams& d = o.data;
  const int C = d.num_classes(), L = d.num_contexts, H = d.num_high_prob_classes;
  const std::int64_t N = d.dataset_size;
  const double sigma = d.input_noise_std, eps_lab = d.label_noise, p_rel = d.p_relevant_context;
  const double inv_T = 1.0 / o.temperature, eps = o.epsilon, context_mass = 1.0 - eps * C;
  const bool noisy_inputs = sigma > 0.0, decode = noisy_inputs && o.iw_key == IwKey::Decoded;

  OnlineGeometry geometry(d);
  const ClassSampler sampler(d);
  const std::vector<double> cdf_high = truncated_binomial_cdf(L, d.class_weight(0));
  const std::vector<double> cdf_low = truncated_binomial_cdf(L, d.class_weight(C - 1));

  // Per key: KT counts (C, C) and totals; the gate's state and cumulative losses.
  std::vector<std::uint32_t> label_counts(static_cast<std::size_t>(C) * C, 0);
  std::vector<std::int64_t> rounds(C, 0);
  std::vector<double> cum_f(C, 0.0), cum_g(C, 0.0), cum_h(C, 0.0), cum_mix(C, 0.0);
  std::vector<double> ogd_alpha(C, 0.5), switch_step(C, -1.0);
  auto eta_at = [&](std::int64_t round) {  // round >= 1
    return o.schedule == StepSchedule::SqrtT ? o.step_size / std::sqrt(static_cast<double>(round)) : o.step_size;
  };
  auto gate = [&](int key) {
    if (o.learner == GateLearner::Ogd) return ogd_alpha[key];
    // Hedge over {g, h}: weight on g = exp(-eta G) / (exp(-eta G) + exp(-eta H)).
    return sigmoid(eta_at(rounds[key] + 1) * (cum_h[key] - cum_g[key]));
  };

  OnlineTrace tr;
  const std::vector<std::int64_t> record_at = o.record_steps();
  std::size_t next_record = 0;
  auto record = [&](std::int64_t t) {
    double a[2] = {0, 0}, q[2] = {0, 0}, lf[2] = {0, 0}, lg[2] = {0, 0}, lh[2] = {0, 0}, reg[2] = {0, 0}, regm[2] = {0, 0};
    for (int c = 0; c < C; ++c) {
      const int g = c < H ? 0 : 1;
      a[g] += gate(c);
      q[g] += static_cast<double>(rounds[c]);
      lf[g] += cum_f[c];
      lg[g] += cum_g[c];
      lh[g] += cum_h[c];
      const double best_fixed = std::min(cum_g[c], cum_h[c]);
      reg[g] += cum_f[c] - best_fixed;
      regm[g] += cum_mix[c] - best_fixed;
    }
    const double n_group[2] = {static_cast<double>(H), static_cast<double>(C - H)};
    tr.t.push_back(static_cast<double>(t));
    tr.alpha_high.push_back(a[0] / n_group[0]);
    tr.alpha_low.push_back(a[1] / n_group[1]);
    tr.queries_high.push_back(q[0]);
    tr.queries_low.push_back(q[1]);
    tr.loss_f_high.push_back(lf[0]);
    tr.loss_g_high.push_back(lg[0]);
    tr.loss_h_high.push_back(lh[0]);
    tr.loss_f_low.push_back(lf[1]);
    tr.loss_g_low.push_back(lg[1]);
    tr.loss_h_low.push_back(lh[1]);
    tr.regret_high.push_back(reg[0]);
    tr.regret_low.push_back(reg[1]);
    tr.regret_mix_high.push_back(regm[0]);
    tr.regret_mix_low.push_back(regm[1]);
    if (progress) progress(static_cast<double>(t) / static_cast<double>(N));
  };

  const StreamKey step_key = stream_key(d.seed, Purpose::Online, kStepStream);
  std::vector<int> ctx_class(L), ctx_label(L);
  std::vector<double> dist(L);
  std::int64_t decode_errors = 0;
  // Throughput per CPU second of this process (one thread): meaningful on a shared node, unlike wall time.
  const std::clock_t cpu_start = std::clock();

  for (std::int64_t t = 1; t <= N; ++t) {
    Philox rng(step_key, static_cast<std::uint64_t>(t));
    // ---- draw the example: query class, context classes, noisy labels ----
    const int q = sampler.query(rng);
    int relevant = 0;
    if (rng.bernoulli(p_rel)) {
      if (d.num_relevant_contexts) {
        relevant = *d.num_relevant_contexts;
      } else {
        const std::vector<double>& cdf = q < H ? cdf_high : cdf_low;
        const double u = rng.uniform();
        while (relevant < L - 1 && u >= cdf[relevant]) ++relevant;
        ++relevant;  // m in 1..L
      }
    }
    // Slot order is irrelevant to the softmax, so relevant contexts come first.
    for (int i = 0; i < L; ++i) ctx_class[i] = i < relevant ? q : sampler.other_than(rng, q);
    for (int i = 0; i < L; ++i) ctx_label[i] = rng.bernoulli(eps_lab) ? (ctx_class[i] + 1) % C : ctx_class[i];
    const int y = rng.bernoulli(eps_lab) ? (q + 1) % C : q;

    // ---- geometry: distances |x_i - x_q|^2 and the key ----
    const int key = geometry.draw(rng, q, ctx_class.data(), L, dist.data(), decode);
    decode_errors += key != q;

    // ---- predictions for the observed query label y ----
    double dmin = dist[0];
    for (int i = 1; i < L; ++i) dmin = std::min(dmin, dist[i]);
    double total = 0, on_label = 0;
    for (int i = 0; i < L; ++i) {
      const double w = std::exp(-(dist[i] - dmin) * inv_T);  // softmax of s_i = -d_i / T, shifted
      total += w;
      if (ctx_label[i] == y) on_label += w;
    }
    const double h_y = context_mass * on_label / total + eps;
    std::uint32_t* counts = &label_counts[static_cast<std::size_t>(key) * C];
    const double g_y = (counts[y] + 0.5) / (static_cast<double>(rounds[key]) + 0.5 * C);
    const double alpha = gate(key);
    const double f_y = alpha * g_y + (1.0 - alpha) * h_y;
    const double loss_g = -std::log(g_y), loss_h = -std::log(h_y), loss_f = -std::log(f_y);

    // ---- updates: losses, A_g (KT counts), A_alpha ----
    cum_f[key] += loss_f;
    cum_g[key] += loss_g;
    cum_h[key] += loss_h;
    cum_mix[key] += alpha * loss_g + (1.0 - alpha) * loss_h;
    ++counts[y];
    ++rounds[key];
    if (o.learner == GateLearner::Ogd)
      ogd_alpha[key] = std::clamp(ogd_alpha[key] - eta_at(rounds[key]) * (loss_g - loss_h), 0.0, 1.0);
    if (switch_step[key] < 0 && gate(key) > 0.5) switch_step[key] = static_cast<double>(t);

    if (t == record_at[next_record]) {
      record(t);
      ++next_record;
    }
  }
  const double seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  tr.steps_per_second = seconds > 0 ? static_cast<double>(N) / seconds : 0.0;
  tr.decode_error = static_cast<double>(decode_errors) / static_cast<double>(N);
  tr.switch_step = switch_step;
  for (int c = 0; c < C; ++c) tr.alpha_final.push_back(gate(c));
  return tr;
}

// ---------------------------------------------------------------------------------------------------

ResultSchema online_schema(const ParamMap& params) {
  const OnlineParams o = OnlineParams::from(params);
  const auto R = static_cast<std::int64_t>(o.record_steps().size());
  const std::int64_t C = o.data.num_classes();
  const auto f64 = FieldType::Float64;
  const std::map<std::string, std::string> along_t = {{"axis0", "record (see online/t)"}};
  ResultSchema s;
  auto curve = [&](const std::string& name, const std::string& what) { s.fields.push_back({"online/" + name, f64, {R}, what, along_t}); };
  curve("t", "step t (1-based) of each record");
  curve("alpha_high", "gate weight on g, mean over C_H keys");
  curve("alpha_low", "gate weight on g, mean over C_L keys");
  curve("queries_high", "steps so far whose key is in C_H");
  curve("queries_low", "steps so far whose key is in C_L");
  for (const char* group : {"high", "low"}) {
    const std::string G = group == std::string("high") ? "C_H" : "C_L";
    curve(std::string("loss_f_") + group, "cumulative CE of f = alpha g + (1-alpha) h on " + G + " keys (nats)");
    curve(std::string("loss_g_") + group, "cumulative CE of g (KT table) on " + G + " keys (nats)");
    curve(std::string("loss_h_") + group, "cumulative CE of h (eps-floored softmax) on " + G + " keys (nats)");
    curve(std::string("regret_") + group, "sum of l(f) minus, per " + G + " key, the best fixed gate in hindsight (nats)");
    curve(std::string("regret_mix_") + group,
          "as regret_ but for the linearised loss alpha l(g) + (1-alpha) l(h): the gate learner's regret (nats)");
  }
  s.fields.push_back({"online/alpha_final", f64, {C}, "alpha per key class after N steps", {{"axis0", "class"}}});
  s.fields.push_back({"online/switch_step", f64, {C}, "first t after which alpha_c > 0.5 (-1: never)", {{"axis0", "class"}}});
  s.fields.push_back({"online/alpha_high_final", f64, {}, "alpha_high at t = N", {}});
  s.fields.push_back({"online/alpha_low_final", f64, {}, "alpha_low at t = N", {}});
  s.fields.push_back({"online/decode_error", f64, {}, "fraction of steps whose nearest-prototype key differs from the query class", {}});
  s.fields.push_back({"online/steps_per_second", f64, {}, "simulation throughput in steps per CPU second of the rank (timing; not reproducible)", {}});
  return s;
}

PointRecord run_online(const ParamMap& params, const std::function<void(double)>& progress) {
  const OnlineTrace tr = simulate_online(OnlineParams::from(params), progress);
  PointRecord r;
  r.set_vector("online/t", tr.t);
  r.set_vector("online/alpha_high", tr.alpha_high);
  r.set_vector("online/alpha_low", tr.alpha_low);
  r.set_vector("online/queries_high", tr.queries_high);
  r.set_vector("online/queries_low", tr.queries_low);
  r.set_vector("online/loss_f_high", tr.loss_f_high);
  r.set_vector("online/loss_g_high", tr.loss_g_high);
  r.set_vector("online/loss_h_high", tr.loss_h_high);
  r.set_vector("online/regret_high", tr.regret_high);
  r.set_vector("online/regret_mix_high", tr.regret_mix_high);
  r.set_vector("online/loss_f_low", tr.loss_f_low);
  r.set_vector("online/loss_g_low", tr.loss_g_low);
  r.set_vector("online/loss_h_low", tr.loss_h_low);
  r.set_vector("online/regret_low", tr.regret_low);
  r.set_vector("online/regret_mix_low", tr.regret_mix_low);
  r.set_vector("online/alpha_final", tr.alpha_final);
  r.set_vector("online/switch_step", tr.switch_step);
  r.set_scalar("online/alpha_high_final", tr.alpha_high.back());
  r.set_scalar("online/alpha_low_final", tr.alpha_low.back());
  r.set_scalar("online/decode_error", tr.decode_error);
  r.set_scalar("online/steps_per_second", tr.steps_per_second);
  return r;
}

}  // namespace icl
