// The LM analog's vocabulary and generated corpus (issue 13): round trip, determinism, the paper's
// frequency knobs (p_fresh, p_relevant, p_high over H vs Lo), and that no invented fact ever occurs in
// pretraining. Statistical checks use fixed seeds and ≥ 5 binomial standard errors.
#define BOOST_TEST_MODULE lm_corpus
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "iclsweep/core/error.hpp"
#include "iclsweep/lm/corpus.hpp"

using namespace icl;
using namespace icl::lm;

BOOST_AUTO_TEST_CASE(tokenizer_round_trip) {
  const std::string text = "Cxx1h lives in the city of Lkkl. Where does Cxx1h live? It's 42, isn't it.";
  const auto ids = encode(text);
  BOOST_TEST(ids.size() == text.size());
  BOOST_TEST(decode(ids) == text);
  BOOST_TEST(vocab_size() == 70);
  for (TokenId id : ids) BOOST_TEST((id >= 3 && id < vocab_size()));
  BOOST_TEST(decode({kBos, kEos, kPad}) == "<bos><eos><pad>");
  BOOST_CHECK_THROW(encode("Zürich"), InputError);
  BOOST_CHECK_THROW(encode("a;b"), InputError);
}

BOOST_AUTO_TEST_CASE(sequences_are_deterministic_and_well_formed) {
  CorpusParams p;
  p.seed = 7;
  const Corpus a(p), b(p);
  for (std::uint64_t n = 0; n < 200; ++n) {
    const Sequence s = a.sequence(0, n), t = b.sequence(0, n);
    BOOST_TEST(s.ids == t.ids);
    BOOST_TEST(s.ids.front() == kBos);
    BOOST_TEST(s.ids.back() == kEos);
    const std::vector<TokenId> answer(s.ids.begin() + s.answer_begin, s.ids.end() - 1);
    BOOST_TEST(decode(answer) == s.city);
    BOOST_TEST(s.ids.size() <= 160u);
    const std::string text = decode(s.ids);
    BOOST_TEST(text.find(question_text(s.name)) != std::string::npos);
    // A relevant (or fresh) query's statement is in context; an irrelevant one's never is.
    const bool own = text.find(s.name + " lives in " + s.city + ".") != std::string::npos ||
                     text.find(s.name + " lives in the city of " + s.city + ".") != std::string::npos;
    BOOST_TEST(own == s.relevant);
  }
  CorpusParams q = p;
  q.seed = 8;
  BOOST_TEST(Corpus(q).sequence(0, 0).ids != a.sequence(0, 0).ids);
}

BOOST_AUTO_TEST_CASE(frequency_knobs) {
  CorpusParams p;
  p.seed = 3;
  p.p_fresh = 0.3;
  p.p_relevant = 0.7;
  p.p_high = 0.8;
  p.num_high = 4;
  p.num_low = 20;
  const Corpus c(p);
  const int n = 20000;
  int fresh = 0, known = 0, relevant = 0, high = 0;
  std::vector<int> per_person(24, 0);
  for (int i = 0; i < n; ++i) {
    const Sequence s = c.sequence(0, static_cast<std::uint64_t>(i));
    if (s.kind == QueryKind::Fresh) {
      ++fresh;
      BOOST_TEST(s.relevant);
      continue;
    }
    ++known;
    relevant += s.relevant;
    high += s.kind == QueryKind::High;
    ++per_person[s.person];
    BOOST_TEST(c.known()[s.person].city == s.city);
  }
  auto near = [](double x, double p, int m) { return std::fabs(x - p) < 5 * std::sqrt(p * (1 - p) / m); };
  BOOST_TEST(near(fresh / double(n), 0.3, n));
  BOOST_TEST(near(relevant / double(known), 0.7, known));
  BOOST_TEST(near(high / double(known), 0.8, known));
  // Uniform within each group: one frequent person gets p_high/H of the known queries, a rare one (1-p_high)/Lo.
  BOOST_TEST(near(per_person[0] / double(known), 0.8 / 4, known));
  BOOST_TEST(near(per_person[10] / double(known), 0.2 / 20, known));
}

BOOST_AUTO_TEST_CASE(invented_facts_never_in_pretraining) {
  CorpusParams p;
  p.seed = 11;
  const Corpus c(p);
  const auto facts = fine_tuning_facts(p.seed, kMaxFacts);
  BOOST_TEST(facts.size() == static_cast<std::size_t>(kMaxFacts));
  BOOST_TEST(facts[0].name == "Cxx1h");
  BOOST_TEST(facts[4].name == "Benjamin");
  BOOST_TEST(!facts[4].invented);
  bool real_city_seen = false, real_name_seen = false;
  for (int i = 0; i < 20000; ++i) {
    const std::string text = decode(c.sequence(0, static_cast<std::uint64_t>(i)).ids);
    for (std::size_t f = 0; f < 4; ++f) {
      BOOST_TEST(text.find(facts[f].name) == std::string::npos);
      BOOST_TEST(text.find(facts[f].city) == std::string::npos);
    }
    real_city_seen = real_city_seen || text.find("London") != std::string::npos;
    real_name_seen = real_name_seen || text.find("Kaitlyn") != std::string::npos;
    // Generated fact names carry a digit: no pretraining text has one.
    BOOST_TEST(text.find_first_of("0123456789") == std::string::npos);
  }
  BOOST_TEST(real_city_seen);
  BOOST_TEST(real_name_seen);
  for (const auto& f : facts) {
    if (!f.invented) continue;
    for (const auto& k : c.known()) {
      BOOST_TEST(k.name != f.name);
      BOOST_TEST(k.city != f.city);
    }
  }
  // Generated facts depend on the seed only and are a prefix-stable list.
  const auto few = fine_tuning_facts(p.seed, 64);
  for (std::size_t i = 0; i < few.size(); ++i) BOOST_TEST(few[i].name == facts[i].name);
  BOOST_CHECK_THROW(fine_tuning_facts(p.seed, kMaxFacts + 1), ParamError);
}

BOOST_AUTO_TEST_CASE(real_facts_known_option) {
  CorpusParams p;
  p.seed = 2;
  p.real_facts_known = true;
  const Corpus c(p);
  BOOST_TEST(c.known()[0].name == "Benjamin");
  BOOST_TEST(c.known()[3].city == "Warsaw");
  p.num_high = 2;
  BOOST_CHECK_THROW(Corpus{p}, ParamError);
}
