#define BOOST_TEST_MODULE train_cost
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdlib>

#include "iclsweep/data/params.hpp"
#include "iclsweep/model/config.hpp"
#include "iclsweep/model/transformer.hpp"
#include "iclsweep/train/config.hpp"
#include "iclsweep/train/trainer.hpp"
#include "kinds/synthetic/transformer_kind.hpp"

// The transformer's cost (core-seconds) orders the hand-out of points and feeds `iclsweep list`'s
// core-hours: GFLOP of training, per-step overhead, GFLOP of forward-only evaluation of every split at
// every checkpoint, generated sequences and a fixed share per point, each priced by a machine constant.
using namespace icl;

namespace {
struct NoCalibrationFile {
  NoCalibrationFile() {
    ::unsetenv("ICLSWEEP_CALIBRATION");
    ::setenv("XDG_CONFIG_HOME", "/nonexistent-iclsweep-test", 1);  // no ~/.config file either: reference constants
  }
};
BOOST_GLOBAL_FIXTURE(NoCalibrationFile);

double term(const std::vector<CostTerm>& terms, const std::string& name) {
  double sum = 0;
  for (const auto& t : terms)
    if (t.constant == name) sum += t.count;
  return sum;
}
}  // namespace

BOOST_AUTO_TEST_CASE(transformer_terms_follow_the_documented_model) {
  ParamRegistry reg;
  reg.add(data_param_specs());
  reg.add(train_param_specs());
  reg.add(model_param_specs());
  ParamMap p = ParamMap::defaults(reg);
  const TransformerKind kind;
  ModelConfig mc;
  auto check = [&](double steps, double interval, int L, double eval, double pre, double N) {
    const auto terms = kind.cost_terms(p);
    const double checkpoints = std::ceil(steps / interval) + 1;  // 0, every interval, and the final step
    BOOST_TEST(term(terms, "transformer/train_gflop") == steps * transformer_train_step_flops(mc, 10, 32, L) * 1e-9,
               boost::test_tools::tolerance(1e-12));
    BOOST_TEST(term(terms, "transformer/train_step") == steps);
    BOOST_TEST(term(terms, "transformer/eval_gflop") ==
                   checkpoints * (18 * eval + pre) * transformer_train_step_flops(mc, 10, 1, L) / 3 * 1e-9,
               boost::test_tools::tolerance(1e-12));
    BOOST_TEST(term(terms, "transformer/sample") == N + 18 * eval + pre);
    BOOST_TEST(term(terms, "transformer/point") == 1.0);
    double seconds = 0;
    for (const auto& t : terms)
      for (const auto& c : kind.cost_constants())
        if (c.name == t.constant) seconds += t.count * c.reference_seconds;
    BOOST_TEST(kind.cost(p) == seconds, boost::test_tools::tolerance(1e-12));
  };
  p.set(reg, "train.steps", "50000");
  p.set(reg, "data.dataset_size", "1024");
  check(50000, 500, 1, 1000, 10000, 1024);
  p.set(reg, "train.steps", "100000");
  p.set(reg, "train.checkpoint_interval", "1000");
  check(100000, 1000, 1, 1000, 10000, 1024);
  p.set(reg, "data.num_contexts", "4");
  p.set(reg, "data.dataset_size", "1048576");
  check(100000, 1000, 4, 1000, 10000, 1048576);
  p.set(reg, "eval.num_eval_samples", "500");
  check(100000, 1000, 4, 500, 10000, 1048576);
}
