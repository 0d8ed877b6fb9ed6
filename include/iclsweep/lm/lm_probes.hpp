#pragma once
// Probes of the LM analog (issue 13, PAPER-SPEC §5.5). Each probe item is a prompt (an optional context
// statement, then "Where does {name} live? ") and a list of candidate cities; the answer is the
// candidate with the highest teacher-forced log-probability of its characters and EOS (argmax, ties to
// the lowest candidate index). An item knows which candidate is the in-context city and which the
// memorised one (-1 when there is none), so per probe set:
//   in_context_rate = P(answer = city′ given in context), memory_rate = P(answer = memorised city),
//   other_rate = 1 − both; margin = mean of log p(context city) − log p(memorised city) when an item has
//   both, else log p(target) − max over the other candidates (target: the one it has);
//   greedy_*_rate: the same rates for the greedy decode (a candidate is the greedy answer iff every one
//   of its tokens is the argmax after the teacher-forced prefix).
// Sets: iwl (question alone, the 8 pairs), icl_conflict (8×8 off-diagonal, "lives in the city of"),
// icl_agree (the diagonal), heldout_template (the off-diagonal with "moved to", never in pretraining),
// control_fresh (fresh names with a fact city in context), control_known (frequent known people with
// another known person's city in context). Fact sets also report invented and real names separately.
#include <string>
#include <vector>

#include "iclsweep/lm/char_lm.hpp"
#include "iclsweep/lm/corpus.hpp"

namespace icl::lm {

struct ProbeItem {
  Sequence prompt;          // ids end after "live? "
  int in_context = -1;      // candidate index of the city given in context
  int memorised = -1;       // candidate index of the city fine-tuned (or known) for this name
  bool invented = false;    // the queried name (fact sets) or the context city (control_fresh) is invented
};

struct ProbeSet {
  std::string name;
  std::vector<std::string> candidates;
  std::vector<ProbeItem> items;
  bool split_by_name = false;  // report invented / real groups besides all
};

struct ProbeMetrics {
  double in_context_rate = 0, memory_rate = 0, other_rate = 0, margin = 0, greedy_in_context_rate = 0, greedy_memory_rate = 0;
};
inline const char* const kProbeMetricNames[] = {"in_context_rate", "memory_rate", "other_rate", "margin",
                                                "greedy_in_context_rate", "greedy_memory_rate"};
inline constexpr int kNumProbeMetrics = 6;
inline const char* const kProbeGroups[] = {"all", "invented", "real"};

// The probe sets for a corpus (its known people) and seed (control names).
std::vector<ProbeSet> build_probe_sets(const Corpus& corpus, std::uint64_t seed);

// Per group (all, invented, real): the metrics of one set at the model's current parameters.
// Groups without items are NaN.
std::vector<ProbeMetrics> evaluate_probe_set(CharLm& model, const ProbeSet& set);

// Σ log p of each sequence's answer tokens (teacher-forced) and whether the answer is the greedy path.
struct AnswerScore {
  double log_prob = 0;
  bool greedy = false;
};
std::vector<AnswerScore> score_answers(CharLm& model, const std::vector<const Sequence*>& sequences);

// Greedy continuation of each prompt, up to max_new tokens or EOS (included); ids only.
std::vector<std::vector<TokenId>> greedy_decode(CharLm& model, const std::vector<const Sequence*>& prompts, int max_new);

// Mean per-token LM loss (all tokens) over sequences.
double mean_lm_loss(CharLm& model, const std::vector<Sequence>& sequences);
// Fraction of sequences whose answer is the greedy continuation (exact match).
double exact_answer_rate(CharLm& model, const std::vector<Sequence>& sequences);

}  // namespace icl::lm
