#define BOOST_TEST_MODULE train_cost
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "iclsweep/data/params.hpp"
#include "iclsweep/model/config.hpp"
#include "iclsweep/train/config.hpp"
#include "iclsweep/train/trainer.hpp"

// The transformer's cost estimate orders the hand-out of points and feeds `iclsweep list`'s core-hours:
// token-steps of training plus forward-only evaluation of every split at every checkpoint.
using namespace icl;

BOOST_AUTO_TEST_CASE(transformer_cost_follows_the_documented_model) {
  ParamRegistry reg;
  reg.add(data_param_specs());
  reg.add(train_param_specs());
  reg.add(model_param_specs());
  ParamMap p = ParamMap::defaults(reg);
  const TransformerKind kind;
  auto expected = [](double steps, double interval, double tokens, double eval, double pre) {
    const double checkpoints = std::ceil(steps / interval) + 1;  // 0, every interval, and the final step
    return steps * tokens + checkpoints * (18 * eval + pre) / 96.0 * tokens;
  };
  p.set(reg, "train.steps", "50000");
  BOOST_TEST(kind.cost(p) == expected(50000, 500, 3, 1000, 10000), boost::test_tools::tolerance(1e-9));
  p.set(reg, "train.steps", "100000");
  p.set(reg, "train.checkpoint_interval", "1000");
  BOOST_TEST(kind.cost(p) == expected(100000, 1000, 3, 1000, 10000), boost::test_tools::tolerance(1e-9));
  p.set(reg, "data.num_contexts", "4");
  BOOST_TEST(kind.cost(p) == expected(100000, 1000, 9, 1000, 10000), boost::test_tools::tolerance(1e-9));
  p.set(reg, "eval.num_eval_samples", "500");
  BOOST_TEST(kind.cost(p) == expected(100000, 1000, 9, 500, 10000), boost::test_tools::tolerance(1e-9));
}
