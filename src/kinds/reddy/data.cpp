#include "kinds/reddy/data.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "iclsweep/core/error.hpp"

namespace icl::reddy {
namespace {

std::string num(double v) { return format_real(v); }

}  // namespace

DataConfig DataConfig::from(const ParamMap& p) {
  DataConfig c;
  c.K = p.get_int32("reddy.num_classes");
  c.L = p.get_int32("reddy.num_labels");
  c.N = p.get_int32("reddy.context_pairs");
  c.Nmax = p.get_int32("reddy.max_context_pairs");
  c.D = p.get_int32("reddy.item_dim");
  c.eps = p.get_real("reddy.within_class_noise");
  c.B = p.get_int32("reddy.burstiness");
  c.alpha = p.get_real("reddy.zipf_alpha");
  c.p_bursty = p.get_real("reddy.p_bursty");
  c.p_novel = p.get_real("reddy.p_novel");
  c.novel_classes = p.get_int32("reddy.novel_classes");
  c.no_repeats = p.get_bool("reddy.no_repeats");
  c.random_offset = p.get_bool("reddy.random_offset");
  const auto K = std::to_string(c.K), L = std::to_string(c.L), N = std::to_string(c.N);
  if (c.K < c.L || c.K % c.L != 0)
    throw ParamError("reddy.num_classes", K,
                     "must be a multiple of reddy.num_labels = " + L + " and at least it (class k has label k mod L): use " +
                         std::to_string(std::max(1, (c.K + c.L - 1) / c.L) * c.L));
  if (c.novel_classes < c.L || c.novel_classes % c.L != 0)
    throw ParamError("reddy.novel_classes", std::to_string(c.novel_classes),
                     "must be a multiple of reddy.num_labels = " + L + " and at least it (novel class c has label c mod L)");
  if (c.N > c.Nmax)
    throw ParamError("reddy.context_pairs", N,
                     "must be <= reddy.max_context_pairs = " + std::to_string(c.Nmax) +
                         " (the positional one-hot has 2*Nmax+1 slots): raise reddy.max_context_pairs");
  if (c.B < 0 || (c.B > 0 && (c.N % c.B != 0 || c.B >= c.N)))
    throw ParamError("reddy.burstiness", std::to_string(c.B),
                     "must be 0 (no bursty sequences) or a divisor of reddy.context_pairs = " + N +
                         " smaller than it (the generator refuses B >= N), e.g. 1, 2 or 4 for N = 8");
  const int groups = c.B > 0 ? c.N / c.B : 2;  // B = 0: novel sequences use B = N/2
  if (c.no_repeats && groups > c.L)
    throw ParamError("reddy.context_pairs", N,
                     "with reddy.no_repeats = 1 a bursty sequence holds N/B = " + std::to_string(groups) +
                         " distinct labels, more than reddy.num_labels = " + L + ": raise num_labels or burstiness");
  if (!(c.eps >= 0)) throw ParamError("reddy.within_class_noise", num(c.eps), "must be >= 0");
  if (!(c.alpha >= 0)) throw ParamError("reddy.zipf_alpha", num(c.alpha), "must be >= 0 (0 = uniform classes)");
  if (!(c.p_bursty >= 0 && c.p_bursty <= 1)) throw ParamError("reddy.p_bursty", num(c.p_bursty), "is a probability: use a value in [0, 1]");
  if (!(c.p_novel >= 0 && c.p_novel <= 1)) throw ParamError("reddy.p_novel", num(c.p_novel), "is a probability: use a value in [0, 1]");
  return c;
}

World World::make(const DataConfig& c, std::uint64_t seed) {
  World w;
  const double sd = 1.0 / std::sqrt(static_cast<double>(c.D));
  w.means.resize(c.K, c.D);
  w.labels.resize(c.L, c.D);
  const StreamKey km = stream_key(seed, kReddyWorld, 0), kl = stream_key(seed, kReddyWorld, 1);
  for (int k = 0; k < c.K; ++k) {
    Philox r(km, static_cast<std::uint64_t>(k));
    for (int d = 0; d < c.D; ++d) w.means(k, d) = sd * r.normal();
  }
  for (int l = 0; l < c.L; ++l) {
    Philox r(kl, static_cast<std::uint64_t>(l));
    for (int d = 0; d < c.D; ++d) w.labels(l, d) = sd * r.normal();
  }
  w.cdf.resize(static_cast<std::size_t>(c.K));
  double total = 0;
  for (int k = 0; k < c.K; ++k) total += std::pow(static_cast<double>(k + 1), -c.alpha);
  double cum = 0;
  for (int k = 0; k < c.K; ++k) {
    cum += std::pow(static_cast<double>(k + 1), -c.alpha) / total;
    w.cdf[static_cast<std::size_t>(k)] = cum;
  }
  w.cdf.back() = 1.0;
  return w;
}

int World::sample_class(Philox& rng) const {
  const double u = rng.uniform();
  const auto it = std::upper_bound(cdf.begin(), cdf.end(), u);
  return static_cast<int>(std::min<std::ptrdiff_t>(it - cdf.begin(), static_cast<std::ptrdiff_t>(cdf.size()) - 1));
}

GenSettings training_settings(const DataConfig& c) { return {c.B, c.p_bursty, c.p_novel, false}; }

GenSettings eval_settings(const DataConfig& c, int set) {
  switch (set) {
    case 0: return {c.B, c.p_bursty, c.p_novel, false};  // Test: the training distribution
    case 1: return {c.B, 1.0, 1.0, false};               // IC: novel classes, bursty
    case 2: return {c.B, 1.0, 0.0, true};                // IC2: trained classes, flipped labels
    default: return {0, 0.0, 0.0, false};                // IW: i.i.d. from f(k)
  }
}

namespace {

// N/B distinct labels (no_repeats) or classes drawn as the original generator does, repeated B times
// and shuffled. `num_classes` = K or K_c; `zipf` = the world's law for trained classes (nullptr: uniform).
void bursty_choices(const DataConfig& c, int B, int num_classes, const World* zipf, Philox& r, std::vector<int>& out) {
  const int groups = c.N / B;
  std::vector<int> picks(static_cast<std::size_t>(groups));
  if (c.no_repeats) {
    // N/B distinct labels uniformly without replacement (partial Fisher-Yates), then for each a class
    // uniformly among that label's num_classes/L classes: class = pos * L + label.
    std::vector<int> labels(static_cast<std::size_t>(c.L));
    std::iota(labels.begin(), labels.end(), 0);
    for (int i = 0; i < groups; ++i) {
      const auto j = static_cast<std::size_t>(i) + r.below(static_cast<std::uint64_t>(c.L - i));
      std::swap(labels[static_cast<std::size_t>(i)], labels[j]);
    }
    const int per_label = num_classes / c.L;
    for (int i = 0; i < groups; ++i)
      picks[static_cast<std::size_t>(i)] = static_cast<int>(r.below(static_cast<std::uint64_t>(per_label))) * c.L + labels[static_cast<std::size_t>(i)];
  } else {
    for (int i = 0; i < groups; ++i)
      picks[static_cast<std::size_t>(i)] = zipf ? zipf->sample_class(r) : static_cast<int>(r.below(static_cast<std::uint64_t>(num_classes)));
  }
  out.resize(static_cast<std::size_t>(c.N));
  for (int b = 0; b < B; ++b)
    for (int i = 0; i < groups; ++i) out[static_cast<std::size_t>(b * groups + i)] = picks[static_cast<std::size_t>(i)];
  for (int i = c.N - 1; i > 0; --i) std::swap(out[static_cast<std::size_t>(i)], out[r.below(static_cast<std::uint64_t>(i + 1))]);
}

}  // namespace

void generate(const DataConfig& c, const World& w, const GenSettings& g, StreamKey key, int count, SeqBatch& out) {
  const int T = c.seq_len(), W = c.width(), P = c.pos_width(), N = c.N, L = c.L, K = c.K;
  const double sd = 1.0 / std::sqrt(static_cast<double>(c.D)), efac = 1.0 / std::sqrt(1.0 + c.eps * c.eps);
  out.size = count;
  out.T = T;
  out.W = W;
  out.N = N;
  out.tokens.setZero(static_cast<Eigen::Index>(count) * T, W);
  out.answer.assign(static_cast<std::size_t>(count), 0);
  out.target_class.assign(static_cast<std::size_t>(count), 0);
  out.ctx_class.assign(static_cast<std::size_t>(count) * N, 0);
  out.ctx_label.assign(static_cast<std::size_t>(count) * N, 0);
  out.offset.assign(static_cast<std::size_t>(count), 0);
  // Novel classes of this call (drawn only if a sequence may use them).
  RowMat<double> novel;
  if (g.p_novel > 0) {
    novel.resize(c.novel_classes, c.D);
    for (int k = 0; k < c.novel_classes; ++k) {
      Philox r(key, kNovelCell + static_cast<std::uint64_t>(k));
      for (int d = 0; d < c.D; ++d) novel(k, d) = sd * r.normal();
    }
  }
  const bool iid_only = g.B == 0;
  const int B = iid_only ? N / 2 : g.B;
  const double p_bursty = iid_only ? 0.0 : g.p_bursty;
  std::vector<int> classes;
  for (int s = 0; s < count; ++s) {
    Philox r(key, static_cast<std::uint64_t>(s));
    const bool is_novel = g.p_novel > 0 && r.bernoulli(g.p_novel);
    int target = 0;
    if (is_novel) {
      bursty_choices(c, B, c.novel_classes, nullptr, r, classes);
      target = classes[r.below(static_cast<std::uint64_t>(N))];  // uniform among the N/B context classes
    } else if (p_bursty > 0 && r.bernoulli(p_bursty)) {
      bursty_choices(c, B, K, &w, r, classes);
      target = classes[r.below(static_cast<std::uint64_t>(N))];
    } else {
      classes.resize(static_cast<std::size_t>(N));
      for (int n = 0; n < N; ++n) classes[static_cast<std::size_t>(n)] = w.sample_class(r);
      target = w.sample_class(r);
    }
    const int shift = c.random_offset ? static_cast<int>(r.below(static_cast<std::uint64_t>(P - T + 1))) : 0;
    out.offset[static_cast<std::size_t>(s)] = shift;
    const auto row0 = static_cast<Eigen::Index>(s) * T;
    auto put_item = [&](Eigen::Index row, int cls) {
      const double* mu = is_novel ? &novel(cls, 0) : &w.means(cls, 0);
      for (int d = 0; d < c.D; ++d) out.tokens(row, P + d) = static_cast<float>(efac * (mu[d] + c.eps * sd * r.normal()));
    };
    for (int n = 0; n < N; ++n) {
      const int cls = classes[static_cast<std::size_t>(n)];
      const int label = (cls % L + (g.flip_labels ? 1 : 0)) % L;
      put_item(row0 + 2 * n, cls);
      for (int d = 0; d < c.D; ++d) out.tokens(row0 + 2 * n + 1, P + d) = static_cast<float>(w.labels(label, d));
      out.ctx_class[static_cast<std::size_t>(s) * N + n] = is_novel ? K + cls : cls;
      out.ctx_label[static_cast<std::size_t>(s) * N + n] = label;
    }
    put_item(row0 + 2 * N, target);
    out.target_class[static_cast<std::size_t>(s)] = is_novel ? K + target : target;
    out.answer[static_cast<std::size_t>(s)] = (target % L + (g.flip_labels ? 1 : 0)) % L;
    for (int t = 0; t < T; ++t) out.tokens(row0 + t, shift + t) = 1.0f;
  }
}

}  // namespace icl::reddy
