#pragma once
// The generated pretraining corpus of the language-model analog (issue 13, PAPER-SPEC §5.5 and the
// paper's two-level class frequencies of §1). Never stored whole: sequence n of a stream is a pure
// function of (parameters, seed, stream, n) through core/rng.hpp.
//
// A sequence is BOS, 1–2 context statements, a question and its answer, EOS:
//   "<bos>Vela lives in Lima. Mia lives in the city of Oslo. Where does Mia live? Oslo<eos>"
// The queried person is
//   - a fresh name (probability p_fresh): its statement is always in context, so only ICL answers;
//   - else a known person, one of H frequent (probability p_high, uniform within) or Lo rare ones, each
//     with a fixed home city: its statement (with the home city) is in context with probability
//     p_relevant, otherwise only in-weight memory can answer (then the sequence holds 0–1 distractor
//     statements, so the question alone, the form of the IWL probes and fine-tuning examples, occurs).
// So the paper's knobs (p_relevant, p_high, H, Lo) set the ICL/IWL mix of pretraining.
//
// The fine-tuning facts (the 8 pairs of §5.5 plus generated invented ones) are disjoint from pretraining:
// no invented name or city ever occurs in a pretraining sequence (generated fact names carry a digit;
// everything else is rejected by lookup). The 4 real names and cities do occur (as fresh names and as
// cities), and with real_facts_known the 4 real pairs are known people.
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "iclsweep/core/rng.hpp"
#include "iclsweep/lm/vocab.hpp"

namespace icl::lm {

// Philox sub-streams of the LM analog, all under Purpose::Sampling with these tags (sub_a).
inline constexpr std::uint64_t kCorpusTag = 0x1A700000;    // + stream id (0 train, 1 eval, 2 remedy, ...)
inline constexpr std::uint64_t kKnownTag = 0x1A710000;     // known people
inline constexpr std::uint64_t kFactsTag = 0x1A720000;     // generated invented facts
inline constexpr std::uint64_t kFineTuneTag = 0x1A730000;  // fine-tuning example order
inline constexpr std::uint64_t kProbeTag = 0x1A740000;     // probe names and cities

inline constexpr int kMaxFacts = 512;

struct CorpusParams {
  double p_fresh = 0.5;            // lm.p_fresh_query
  double p_relevant = 0.5;         // lm.p_relevant
  double p_high = 0.9;             // lm.p_high
  int num_high = 16;               // lm.num_high (H)
  int num_low = 64;                // lm.num_low (Lo)
  double p_two_statements = 0.5;   // lm.p_two_statements
  bool real_facts_known = false;   // lm.real_facts_known
  std::uint64_t seed = 0;          // data.seed
};

struct Person {
  std::string name, city;
};

struct Fact {
  std::string name, city;
  bool invented = true;
};

// The 8 pairs of §5.5: 4 invented, then 4 real.
const std::vector<Fact>& paper_facts();
// The first n fine-tuning facts: the 8 paper pairs, then invented pairs generated from the seed (n <= kMaxFacts).
std::vector<Fact> fine_tuning_facts(std::uint64_t seed, int n);

// Statement templates: 0 "{n} lives in {c}.", 1 "{n} lives in the city of {c}." (pretraining);
// 2 "{n} moved to {c}." (never in pretraining: the held-out template probe).
inline constexpr int kNumPretrainTemplates = 2;
inline constexpr int kHeldOutTemplate = 2;
std::string statement_text(const std::string& name, const std::string& city, int template_id);
std::string question_text(const std::string& name);  // "Where does {n} live? "

enum class QueryKind { Fresh = 0, High = 1, Low = 2 };

struct Sequence {
  std::vector<TokenId> ids;  // BOS ... EOS
  int answer_begin = 0;      // ids[answer_begin..] is the answer: the city's characters and EOS
  QueryKind kind = QueryKind::Fresh;
  bool relevant = true;      // the query's own statement is in the context
  int person = -1;           // known-person index, -1 for a fresh name
  std::string name, city;    // the query and its answer
};

// BOS + statements joined by spaces (+ a space) + question + (answer + EOS, when answer is not empty).
Sequence make_sequence(const std::vector<std::string>& statements, const std::string& name, const std::string& answer);

class Corpus {
 public:
  explicit Corpus(const CorpusParams& params);

  enum class Force { Any, Fresh, Known };
  // Sequence `index` of stream `stream` (0 = training, others for evaluation and remedy examples).
  Sequence sequence(std::uint64_t stream, std::uint64_t index, Force force = Force::Any) const;

  const std::vector<Person>& known() const { return known_; }
  const CorpusParams& params() const { return params_; }
  // A name or city that must never occur in pretraining (every invented fact's name and city).
  bool forbidden(const std::string& s) const { return forbidden_.count(s) > 0; }
  // Draws used by sequences and by the probes' control names.
  std::string draw_fresh_name(Philox& rng) const;
  std::string draw_city(Philox& rng) const;
  // Among the known people: index of a high (group 0) or low (group 1) one.
  int draw_known(Philox& rng) const;

 private:
  std::string draw_statement(Philox& rng, int exclude_person, std::string* name_out) const;
  CorpusParams params_;
  std::vector<Person> known_;
  std::unordered_set<std::string> forbidden_, known_names_;
  std::vector<std::string> fresh_names_;  // the real-name list, minus known people's names
};

}  // namespace icl::lm
