#include "iclsweep/lm/corpus.hpp"

#include <algorithm>

#include "iclsweep/core/error.hpp"

namespace icl::lm {
namespace {

// Real first names and cities: the "real" side of §5.5 (Benjamin, Liz, Kaitlyn, Wiesa; Buenos, London,
// Kingston, Warsaw) plus common ones, so that real strings are familiar tokens in pretraining.
const char* const kRealNames[] = {"Benjamin", "Liz",   "Kaitlyn", "Wiesa", "Anna",  "Omar",  "Lucas",  "Mia",
                                  "Noah",     "Emma",  "Oliver",  "Ava",   "Elijah", "Sofia", "James",  "Amelia",
                                  "Mateo",    "Isla",  "Hugo",    "Nora",  "Leo",   "Zoe",   "Ivan",   "Maya",
                                  "Felix",    "Ruth",  "Aditi",   "Kenji", "Chloe", "Pablo", "Yara",   "Tomas",
                                  "Ines",     "Rahul", "Greta",   "Dmitri", "Lena", "Kofi",  "Amara",  "Sven",
                                  "Farah",    "Marco", "Hana",    "Luis",  "Priya", "Jonas", "Elena",  "Arjun"};
const char* const kRealCities[] = {"Buenos", "London",  "Kingston", "Warsaw", "Paris",   "Berlin", "Madrid", "Rome",
                                   "Lisbon", "Dublin",  "Vienna",   "Prague", "Oslo",    "Lima",   "Quito",  "Cairo",
                                   "Lagos",  "Nairobi", "Accra",    "Delhi",  "Mumbai",  "Dhaka",  "Hanoi",  "Manila",
                                   "Seoul",  "Tokyo",   "Osaka",    "Sydney", "Perth",   "Toronto", "Denver", "Boston",
                                   "Austin", "Chicago", "Seattle",  "Havana", "Bogota",  "Santiago", "Athens", "Ankara",
                                   "Tehran", "Riyadh",  "Doha",     "Muscat", "Kabul",   "Baku",   "Minsk",  "Riga"};
constexpr int kNumRealNames = sizeof(kRealNames) / sizeof(kRealNames[0]);
constexpr int kNumRealCities = sizeof(kRealCities) / sizeof(kRealCities[0]);

// A capitalised string of letters, length in [lo, hi]; with `digit`, one letter after the first is a digit.
std::string random_word(Philox& rng, int lo, int hi, bool digit = false) {
  const int n = lo + static_cast<int>(rng.below(static_cast<std::uint64_t>(hi - lo + 1)));
  std::string s(static_cast<std::size_t>(n), 'a');
  s[0] = static_cast<char>('A' + rng.below(26));
  for (int i = 1; i < n; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>('a' + rng.below(26));
  if (digit) s[1 + rng.below(static_cast<std::uint64_t>(n - 1))] = static_cast<char>('0' + rng.below(10));
  return s;
}

bool is_real_city(const std::string& s) {
  for (const char* c : kRealCities)
    if (s == c) return true;
  return false;
}

}  // namespace

const std::vector<Fact>& paper_facts() {
  static const std::vector<Fact> facts = {
      {"Cxx1h", "Lkkl", true},          {"Vzbiik", "Plooqujhd", true}, {"Mmojkr", "Nwops", true},   {"Trrrrqe", "Qtbnaaa", true},
      {"Benjamin", "Buenos", false},    {"Liz", "London", false},      {"Kaitlyn", "Kingston", false}, {"Wiesa", "Warsaw", false},
  };
  return facts;
}

std::vector<Fact> fine_tuning_facts(std::uint64_t seed, int n) {
  if (n < 1 || n > kMaxFacts)
    throw ParamError("lm.num_facts", std::to_string(n), "must be in [1, " + std::to_string(kMaxFacts) + "]");
  std::vector<Fact> out = paper_facts();
  std::unordered_set<std::string> used;
  for (const auto& f : out) used.insert(f.name), used.insert(f.city);
  // Generated facts: names carry a digit (never a pretraining name), cities are fresh letter strings.
  Philox rng(stream_key(seed, Purpose::Sampling, kFactsTag), 0);
  while (static_cast<int>(out.size()) < kMaxFacts) {
    Fact f{random_word(rng, 4, 7, true), random_word(rng, 4, 8), true};
    if (used.count(f.name) || used.count(f.city) || is_real_city(f.city)) continue;
    used.insert(f.name);
    used.insert(f.city);
    out.push_back(f);
  }
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string statement_text(const std::string& name, const std::string& city, int template_id) {
  switch (template_id) {
    case 0: return name + " lives in " + city + ".";
    case 1: return name + " lives in the city of " + city + ".";
    case kHeldOutTemplate: return name + " moved to " + city + ".";
    default: throw InputError("lm corpus: unknown statement template " + std::to_string(template_id));
  }
}

std::string question_text(const std::string& name) { return "Where does " + name + " live? "; }

Sequence make_sequence(const std::vector<std::string>& statements, const std::string& name, const std::string& answer) {
  Sequence s;
  s.ids.push_back(kBos);
  for (const auto& st : statements) {
    encode_append(st, s.ids);
    encode_append(" ", s.ids);
  }
  encode_append(question_text(name), s.ids);
  s.answer_begin = static_cast<int>(s.ids.size());
  if (!answer.empty()) {
    encode_append(answer, s.ids);
    s.ids.push_back(kEos);
  }
  s.name = name;
  s.city = answer;
  return s;
}

Corpus::Corpus(const CorpusParams& p) : params_(p) {
  for (const auto& f : fine_tuning_facts(p.seed, kMaxFacts))
    if (f.invented) forbidden_.insert(f.name), forbidden_.insert(f.city);
  const int n_known = p.num_high + p.num_low;
  if (p.real_facts_known) {
    if (p.num_high < 4) throw ParamError("lm.num_high", std::to_string(p.num_high), "must be >= 4 with lm.real_facts_known = true");
    for (const auto& f : paper_facts())
      if (!f.invented) known_.push_back({f.name, f.city});
  }
  for (const auto& k : known_) known_names_.insert(k.name);
  Philox rng(stream_key(p.seed, Purpose::Sampling, kKnownTag), 0);
  while (static_cast<int>(known_.size()) < n_known) {
    Person k{random_word(rng, 4, 7), ""};
    k.city = rng.bernoulli(0.5) ? kRealCities[rng.below(kNumRealCities)] : random_word(rng, 4, 8);
    if (known_names_.count(k.name) || forbidden(k.name) || forbidden(k.city)) continue;
    bool real_name = false;
    for (const char* r : kRealNames) real_name = real_name || k.name == r;
    if (real_name) continue;
    known_names_.insert(k.name);
    known_.push_back(k);
  }
  for (const char* r : kRealNames)
    if (!known_names_.count(r)) fresh_names_.emplace_back(r);
}

std::string Corpus::draw_fresh_name(Philox& rng) const {
  if (rng.bernoulli(0.5)) return fresh_names_[rng.below(fresh_names_.size())];
  for (;;) {
    std::string s = random_word(rng, 3, 7);
    if (!known_names_.count(s) && !forbidden(s)) return s;
  }
}

std::string Corpus::draw_city(Philox& rng) const {
  if (rng.bernoulli(0.5)) return kRealCities[rng.below(kNumRealCities)];
  for (;;) {
    std::string s = random_word(rng, 4, 8);
    if (!forbidden(s)) return s;
  }
}

int Corpus::draw_known(Philox& rng) const {
  const int H = params_.num_high, Lo = params_.num_low;
  if (Lo == 0 || (H > 0 && rng.bernoulli(params_.p_high))) return static_cast<int>(rng.below(static_cast<std::uint64_t>(H)));
  return H + static_cast<int>(rng.below(static_cast<std::uint64_t>(Lo)));
}

// A distractor: a fresh name with a random city, or another known person with their home city.
std::string Corpus::draw_statement(Philox& rng, int exclude_person, std::string* name_out) const {
  const int tmpl = static_cast<int>(rng.below(kNumPretrainTemplates));
  const int n_known = static_cast<int>(known_.size());
  if (n_known > 1 && rng.bernoulli(0.5)) {
    int k = draw_known(rng);
    if (k == exclude_person) k = (k + 1) % n_known;
    *name_out = known_[k].name;
    return statement_text(known_[k].name, known_[k].city, tmpl);
  }
  *name_out = draw_fresh_name(rng);
  return statement_text(*name_out, draw_city(rng), tmpl);
}

Sequence Corpus::sequence(std::uint64_t stream, std::uint64_t index, Force force) const {
  Philox rng(stream_key(params_.seed, Purpose::Sampling, kCorpusTag + stream), index);
  const bool fresh = force == Force::Fresh || (force == Force::Any && (known_.empty() || rng.bernoulli(params_.p_fresh)));
  std::string name, city;
  int person = -1;
  QueryKind kind = QueryKind::Fresh;
  bool relevant = true;
  if (fresh) {
    name = draw_fresh_name(rng);
    city = draw_city(rng);
  } else {
    person = draw_known(rng);
    kind = person < params_.num_high ? QueryKind::High : QueryKind::Low;
    name = known_[person].name;
    city = known_[person].city;
    relevant = rng.bernoulli(params_.p_relevant);
  }
  std::vector<std::string> statements;
  // 1–2 statements; an irrelevant known query drops its own statement, so it has 0–1 distractors and
  // sometimes stands alone, as the IWL probes and the fine-tuning examples do.
  const int num_statements = (relevant ? 1 : 0) + (rng.bernoulli(params_.p_two_statements) ? 1 : 0);
  const int own_slot = relevant ? static_cast<int>(rng.below(static_cast<std::uint64_t>(num_statements))) : -1;
  for (int i = 0; i < num_statements; ++i) {
    if (i == own_slot) {
      statements.push_back(statement_text(name, city, static_cast<int>(rng.below(kNumPretrainTemplates))));
      continue;
    }
    // A distractor never names the queried person (that would be a second, possibly conflicting, statement).
    std::string other;
    std::string st;
    do st = draw_statement(rng, person, &other);
    while (other == name);
    statements.push_back(st);
  }
  Sequence s = make_sequence(statements, name, city);
  s.kind = kind;
  s.relevant = relevant;
  s.person = person;
  return s;
}

}  // namespace icl::lm
