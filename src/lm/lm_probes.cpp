#include "iclsweep/lm/lm_probes.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace icl::lm {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::size_t kChunk = 64;  // sequences per forward pass (bounds the inference workspace)
constexpr int kControlFresh = 16;   // fresh control names
constexpr int kControlKnown = 8;    // frequent known people in control_known

ProbeItem item(const std::vector<std::string>& statements, const std::string& name, int in_context, int memorised, bool invented) {
  return ProbeItem{make_sequence(statements, name, ""), in_context, memorised, invented};
}

}  // namespace

std::vector<ProbeSet> build_probe_sets(const Corpus& corpus, std::uint64_t seed) {
  const auto& facts = paper_facts();
  const int n = static_cast<int>(facts.size());
  std::vector<std::string> cities;
  for (const auto& f : facts) cities.push_back(f.city);
  std::vector<ProbeSet> sets;
  ProbeSet iwl{"iwl", cities, {}, true}, conflict{"icl_conflict", cities, {}, true}, agree{"icl_agree", cities, {}, true},
      heldout{"heldout_template", cities, {}, true};
  for (int i = 0; i < n; ++i) {
    const auto& f = facts[i];
    iwl.items.push_back(item({}, f.name, -1, i, f.invented));
    agree.items.push_back(item({statement_text(f.name, f.city, 1)}, f.name, i, i, f.invented));
    for (int j = 0; j < n; ++j) {
      if (j == i) continue;
      conflict.items.push_back(item({statement_text(f.name, cities[j], 1)}, f.name, j, i, f.invented));
      heldout.items.push_back(item({statement_text(f.name, cities[j], kHeldOutTemplate)}, f.name, j, i, f.invented));
    }
  }
  // Fresh control names: never fine-tuned, drawn like pretraining's fresh names from their own stream.
  ProbeSet fresh{"control_fresh", cities, {}, true};
  for (int k = 0; k < kControlFresh; ++k) {
    Philox rng(stream_key(seed, Purpose::Sampling, kProbeTag), static_cast<std::uint64_t>(k));
    const std::string name = corpus.draw_fresh_name(rng);
    const int c = k % n;
    fresh.items.push_back(item({statement_text(name, cities[c], 1)}, name, c, -1, facts[c].invented));
  }
  // Frequent known people with another one's home city in context: their memory conflicts as the facts' will.
  ProbeSet known{"control_known", {}, {}, false};
  const int m = std::min<int>(kControlKnown, std::min<int>(corpus.params().num_high, static_cast<int>(corpus.known().size())));
  auto candidate = [&](const std::string& city) {
    const auto it = std::find(known.candidates.begin(), known.candidates.end(), city);
    if (it != known.candidates.end()) return static_cast<int>(it - known.candidates.begin());
    known.candidates.push_back(city);
    return static_cast<int>(known.candidates.size()) - 1;
  };
  for (int i = 0; i < m; ++i) candidate(corpus.known()[i].city);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) {
      const Person& p = corpus.known()[i];
      const std::string& other = corpus.known()[j].city;
      if (j == i || other == p.city) continue;
      known.items.push_back(item({statement_text(p.name, other, 1)}, p.name, candidate(other), candidate(p.city), false));
    }
  sets.push_back(std::move(iwl));
  sets.push_back(std::move(conflict));
  sets.push_back(std::move(agree));
  sets.push_back(std::move(heldout));
  sets.push_back(std::move(fresh));
  if (!known.items.empty()) sets.push_back(std::move(known));
  return sets;
}

std::vector<AnswerScore> score_answers(CharLm& model, const std::vector<const Sequence*>& seqs) {
  std::vector<AnswerScore> out(seqs.size());
  LmBatch batch;
  for (std::size_t c0 = 0; c0 < seqs.size(); c0 += kChunk) {
    const std::size_t c1 = std::min(seqs.size(), c0 + kChunk);
    pack(std::vector<const Sequence*>(seqs.begin() + static_cast<std::ptrdiff_t>(c0), seqs.begin() + static_cast<std::ptrdiff_t>(c1)),
         LossOn::Answer, batch);
    const auto logits = model.logits(batch);
    for (std::size_t s = c0; s < c1; ++s) {
      AnswerScore& a = out[s];
      a.greedy = true;
      const std::size_t base = (s - c0) * static_cast<std::size_t>(batch.seq);
      for (int r = 0; r < batch.seq; ++r) {
        if (batch.weights[base + r] == 0.0f) continue;
        const auto row = logits.row(static_cast<Eigen::Index>(base + r));
        Eigen::Index arg;
        const double mx = row.maxCoeff(&arg);  // first maximum: ties go to the lowest token id
        const double lse = mx + std::log((row.array().template cast<double>() - mx).exp().sum());
        const TokenId y = batch.targets[base + r];
        a.log_prob += static_cast<double>(row(y)) - lse;
        a.greedy = a.greedy && arg == y;
      }
    }
  }
  return out;
}

std::vector<ProbeMetrics> evaluate_probe_set(CharLm& model, const ProbeSet& set) {
  const std::size_t K = set.candidates.size();
  std::vector<Sequence> seqs;
  seqs.reserve(set.items.size() * K);
  for (const auto& it : set.items)
    for (const auto& c : set.candidates) {
      Sequence s = it.prompt;
      encode_append(c, s.ids);
      s.ids.push_back(kEos);
      seqs.push_back(std::move(s));
    }
  std::vector<const Sequence*> ptrs;
  for (const auto& s : seqs) ptrs.push_back(&s);
  const auto scores = score_answers(model, ptrs);
  struct Acc {
    double ic = 0, mem = 0, margin = 0, g_ic = 0, g_mem = 0;
    int n = 0;
  };
  Acc acc[3];
  for (std::size_t i = 0; i < set.items.size(); ++i) {
    const ProbeItem& it = set.items[i];
    const AnswerScore* sc = &scores[i * K];
    std::size_t best = 0;
    for (std::size_t k = 1; k < K; ++k)
      if (sc[k].log_prob > sc[best].log_prob) best = k;  // strict: ties keep the lowest index
    double margin;
    if (it.in_context >= 0 && it.memorised >= 0 && it.in_context != it.memorised) {
      margin = sc[it.in_context].log_prob - sc[it.memorised].log_prob;
    } else {
      const int target = it.in_context >= 0 ? it.in_context : it.memorised;
      double other = -std::numeric_limits<double>::infinity();
      for (std::size_t k = 0; k < K; ++k)
        if (static_cast<int>(k) != target) other = std::max(other, sc[k].log_prob);
      margin = sc[target].log_prob - other;
    }
    for (int g : {0, it.invented ? 1 : 2}) {
      Acc& a = acc[g];
      a.ic += it.in_context >= 0 && static_cast<int>(best) == it.in_context;
      a.mem += it.memorised >= 0 && static_cast<int>(best) == it.memorised;
      a.margin += margin;
      a.g_ic += it.in_context >= 0 && sc[it.in_context].greedy;
      a.g_mem += it.memorised >= 0 && sc[it.memorised].greedy;
      ++a.n;
    }
  }
  const bool has_ic = std::any_of(set.items.begin(), set.items.end(), [](const ProbeItem& x) { return x.in_context >= 0; });
  const bool has_mem = std::any_of(set.items.begin(), set.items.end(), [](const ProbeItem& x) { return x.memorised >= 0; });
  std::vector<ProbeMetrics> out(set.split_by_name ? 3 : 1);
  for (std::size_t g = 0; g < out.size(); ++g) {
    const Acc& a = acc[g];
    ProbeMetrics& m = out[g];
    if (a.n == 0) {
      m = {kNaN, kNaN, kNaN, kNaN, kNaN, kNaN};
      continue;
    }
    const double n = a.n;
    // On agree items the context city is the memorised one: an answer counts for both rates.
    m.in_context_rate = has_ic ? a.ic / n : kNaN;
    m.memory_rate = has_mem ? a.mem / n : kNaN;
    const bool same = set.name == "icl_agree";
    m.other_rate = 1.0 - (has_ic ? a.ic / n : 0.0) - (has_mem && !same ? a.mem / n : 0.0);
    m.margin = a.margin / n;
    m.greedy_in_context_rate = has_ic ? a.g_ic / n : kNaN;
    m.greedy_memory_rate = has_mem ? a.g_mem / n : kNaN;
  }
  return out;
}

std::vector<std::vector<TokenId>> greedy_decode(CharLm& model, const std::vector<const Sequence*>& prompts, int max_new) {
  std::vector<Sequence> cur;
  for (const Sequence* p : prompts) cur.push_back(*p);
  std::vector<std::vector<TokenId>> out(prompts.size());
  std::vector<bool> done(prompts.size(), false);
  LmBatch batch;
  for (int t = 0; t < max_new; ++t) {
    bool any = false;
    for (std::size_t c0 = 0; c0 < cur.size(); c0 += kChunk) {
      const std::size_t c1 = std::min(cur.size(), c0 + kChunk);
      std::vector<const Sequence*> chunk;
      for (std::size_t s = c0; s < c1; ++s) chunk.push_back(&cur[s]);
      pack(chunk, LossOn::AllTokens, batch);
      const auto logits = model.logits(batch);
      for (std::size_t s = c0; s < c1; ++s) {
        if (done[s] || static_cast<int>(cur[s].ids.size()) >= model.config().max_len) {
          done[s] = true;
          continue;
        }
        Eigen::Index arg;
        logits.row(static_cast<Eigen::Index>((s - c0) * batch.seq + cur[s].ids.size() - 1)).maxCoeff(&arg);
        const auto id = static_cast<TokenId>(arg);
        out[s].push_back(id);
        cur[s].ids.push_back(id);
        if (id == kEos) done[s] = true;
        any = any || !done[s];
      }
    }
    if (!any) break;
  }
  return out;
}

double mean_lm_loss(CharLm& model, const std::vector<Sequence>& seqs) {
  double total = 0, tokens = 0;
  LmBatch batch;
  for (std::size_t c0 = 0; c0 < seqs.size(); c0 += kChunk) {
    std::vector<const Sequence*> chunk;
    for (std::size_t s = c0; s < std::min(seqs.size(), c0 + kChunk); ++s) chunk.push_back(&seqs[s]);
    pack(chunk, LossOn::AllTokens, batch);
    double w = 0;
    for (float x : batch.weights) w += x;
    total += model.loss(batch) * w;
    tokens += w;
  }
  return tokens > 0 ? total / tokens : kNaN;
}

double exact_answer_rate(CharLm& model, const std::vector<Sequence>& seqs) {
  if (seqs.empty()) return kNaN;
  std::vector<const Sequence*> ptrs;
  for (const auto& s : seqs) ptrs.push_back(&s);
  const auto scores = score_answers(model, ptrs);
  double n = 0;
  for (const auto& s : scores) n += s.greedy;
  return n / static_cast<double>(seqs.size());
}

}  // namespace icl::lm
