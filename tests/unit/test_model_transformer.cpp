// The §2 transformer: whole-model gradients against finite differences, the fast forward (last block
// pruned to the query row) against a literal full forward written here, float vs double, learning on a
// tiny task, bit-identical reruns, divergence reporting, configuration errors.
#define BOOST_TEST_MODULE model_transformer
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "iclsweep/core/error.hpp"
#include "iclsweep/model/config.hpp"
#include "iclsweep/model/gradcheck.hpp"
#include "iclsweep/model/layers.hpp"
#include "iclsweep/model/transformer.hpp"
#include "unit/model_test_util.hpp"

using namespace icl;
using icl::test::random_batch;
using M = RowMat<double>;

namespace {

ModelConfig small_config(int blocks, int heads, int E, int wf) {
  ModelConfig c;
  c.num_blocks = blocks;
  c.num_heads = heads;
  c.embed_dim = E;
  c.widening_factor = wf;
  return c;
}

// The literal §2 forward, one sequence at a time, every block over every token, one-hot label matmul.
M reference_logits(TransformerT<double>& model, const Batch& batch) {
  auto& st = model.store();
  auto P = [&](const std::string& name) -> M { return st.value(st.find(name)); };
  const ModelConfig& c = model.config();
  const int E = c.embed_dim, L = batch.num_contexts, T = 2 * L + 1, C = model.num_classes(), hd = c.head_dim();
  const M pe = positional_encoding(L + 1, E);
  auto layer_norm = [&](const M& x, const M& g, const M& b) {
    M y(x.rows(), x.cols());
    for (int r = 0; r < x.rows(); ++r) {
      const double mean = x.row(r).mean();
      const double var = (x.row(r).array() - mean).square().mean();
      y.row(r) = ((x.row(r).array() - mean) / std::sqrt(var + 1e-5)).matrix().cwiseProduct(g) + b;
    }
    return y;
  };
  auto gelu = [](double x) { return 0.5 * x * (1 + std::tanh(0.7978845608 * (x + 0.044715 * x * x * x))); };
  M out(batch.size, C);
  for (int b = 0; b < batch.size; ++b) {
    M x(T, E);
    for (int i = 0; i <= L; ++i) {
      x.row(2 * i) = Eigen::Map<const RowVec<float>>(batch.input(b, i), E).cast<double>() + pe.row(i);
      if (i == L) break;
      M onehot = M::Zero(1, C);
      onehot(0, batch.label(b, i)) = 1;
      x.row(2 * i + 1) = onehot * P("label_embed/w") + P("label_embed/b") + pe.row(i);
    }
    for (int l = 0; l < c.num_blocks; ++l) {
      const std::string p = "block" + std::to_string(l) + "/";
      M h = layer_norm(x, P(p + "ln1/scale"), P(p + "ln1/bias"));
      M qkv = h * P(p + "attn/w_qkv");
      qkv.rowwise() += RowVec<double>(P(p + "attn/b_qkv"));
      M attn(T, E);
      for (int head = 0; head < c.num_heads; ++head) {
        M Pm, o;
        layers::attention_naive_forward<double>(qkv.block(0, head * hd, T, hd), qkv.block(0, E + head * hd, T, hd),
                                                qkv.block(0, 2 * E + head * hd, T, hd), Pm, o);
        attn.block(0, head * hd, T, hd) = o;
      }
      M o = attn * P(p + "attn/w_out");
      o.rowwise() += RowVec<double>(P(p + "attn/b_out"));
      x += o;
      h = layer_norm(x, P(p + "ln2/scale"), P(p + "ln2/bias"));
      M hid = h * P(p + "mlp/w1");
      hid.rowwise() += RowVec<double>(P(p + "mlp/b1"));
      hid = hid.unaryExpr(gelu);
      M m = hid * P(p + "mlp/w2");
      m.rowwise() += RowVec<double>(P(p + "mlp/b2"));
      x += m;
    }
    const M last = layer_norm(x.bottomRows(1), P("final_ln/scale"), P("final_ln/bias"));
    out.row(b) = last * P("readout/w") + P("readout/b");
  }
  return out;
}

// Non-trivial scale/bias values, so their gradients and the reference comparison are not degenerate.
void perturb_all_parameters(TransformerT<double>& model) {
  Philox rng(stream_key(99, Purpose::Sampling, 1), 0);
  for (auto& v : model.store().values) v += 0.1 * rng.normal();
}

}  // namespace

BOOST_AUTO_TEST_CASE(whole_model_gradients_match_finite_differences) {
  struct Case { int blocks, heads, E, wf, C, L, B; };
  for (const Case k : {Case{2, 1, 8, 2, 5, 3, 3}, Case{3, 2, 8, 1, 4, 1, 2}, Case{1, 4, 8, 2, 3, 2, 2}, Case{2, 2, 6, 1, 3, 0, 3}}) {
    TransformerT<double> model(small_config(k.blocks, k.heads, k.E, k.wf), k.C, k.L, k.E, 5);
    perturb_all_parameters(model);
    const Batch batch = random_batch(k.B, k.L, k.E, k.C, 7);
    model.loss_and_gradient(batch);
    const AlignedVector<double> grads = model.store().grads;
    auto& st = model.store();
    std::vector<GradTensor> tensors;
    for (const auto& t : st.tensors) tensors.push_back({t.name, st.values.data() + t.offset, grads.data() + t.offset, t.size()});
    const auto r = check_gradients([&] { return model.loss(batch); }, tensors, GradCheckOptions{1e-6, 1e-4, 0});
    BOOST_TEST_MESSAGE("blocks " << k.blocks << " heads " << k.heads << " L " << k.L << ": " << r.checked << " entries, worst "
                                 << r.max_rel_error << " at " << r.worst);
    BOOST_TEST(r.checked == model.num_parameters());
    BOOST_TEST(r.max_rel_error < 1e-5, "blocks " << k.blocks << " heads " << k.heads << " L " << k.L << ": " << r.worst);
  }
}

BOOST_AUTO_TEST_CASE(fast_forward_matches_literal_forward) {
  for (int blocks : {1, 2, 4}) {
    for (int heads : {1, 4}) {
      TransformerT<double> model(small_config(blocks, heads, 16, 4), 6, 5, 16, 11);
      perturb_all_parameters(model);
      const Batch batch = random_batch(4, 5, 16, 6, 3);
      Eigen::MatrixXf fast;
      model.logits(batch, fast);
      const M ref = reference_logits(model, batch);
      const double diff = (fast.cast<double>() - ref).cwiseAbs().maxCoeff();
      BOOST_TEST(diff < 1e-5, "blocks " << blocks << " heads " << heads << ": max |fast - literal| = " << diff);
      // The training loss is CE of the same logits on the query label.
      double ce = 0;
      for (int b = 0; b < batch.size; ++b) {
        const double mx = ref.row(b).maxCoeff();
        ce += -(ref(b, batch.target(b)) - mx - std::log((ref.row(b).array() - mx).exp().sum()));
      }
      BOOST_TEST(std::fabs(model.loss(batch) - ce / batch.size) < 1e-10);
    }
  }
}

BOOST_AUTO_TEST_CASE(float_model_agrees_with_double_model) {
  ModelConfig c;  // the paper's configuration
  Transformer f(c, 10, 8, 64, 2);
  TransformerT<double> d(c, 10, 8, 64, 2);
  BOOST_TEST(f.num_parameters() == d.num_parameters());
  const Batch batch = random_batch(32, 8, 64, 10, 4);
  Eigen::MatrixXf lf, ld;
  f.logits(batch, lf);
  d.logits(batch, ld);
  BOOST_TEST((lf - ld).cwiseAbs().maxCoeff() < 1e-4);
  BOOST_TEST(std::fabs(f.train_step(batch) - d.train_step(batch)) < 1e-5);
}

BOOST_AUTO_TEST_CASE(parameter_count_and_positional_encoding) {
  ModelConfig c;
  Transformer m(c, 10, 1, 64, 0);
  const std::size_t E = 64, F = 256, C = 10;
  const std::size_t per_block = 2 * E + (3 * E * E + 3 * E) + (E * E + E) + 2 * E + (E * F + F) + (F * E + E);
  BOOST_TEST(m.num_parameters() == (C * E + E) + 2 * per_block + 2 * E + (E * C + C));
  BOOST_TEST(m.parameter_values().size() == m.num_parameters());
  const auto pe = positional_encoding(3, 64);
  BOOST_TEST(std::fabs(pe(2, 5) - std::sin(2 * std::pow(30.0, -10.0 / 64))) < 1e-15);
  BOOST_TEST(std::fabs(pe(2, 32 + 5) - std::cos(2 * std::pow(30.0, -10.0 / 64))) < 1e-15);
  BOOST_TEST(pe(0, 0) == 0.0);
  BOOST_TEST(pe(0, 32) == 1.0);
}

namespace {
// Tiny task: each class has a fixed random input vector; the query label is its class, the single
// context pair is an unrelated random (input, label). Solvable in weights only.
Batch tiny_task_batch(int step, int B, int C, int D, const M& prototypes) {
  Batch batch;
  batch.resize(B, 1, D, C);
  Philox rng(stream_key(5, Purpose::TrainBatches), static_cast<std::uint64_t>(step));
  for (int b = 0; b < B; ++b)
    for (int j = 0; j < 2; ++j) {
      const int c = static_cast<int>(rng.below(C));
      batch.labels[b * 2 + j] = c;
      batch.classes[b * 2 + j] = c;
      for (int k = 0; k < D; ++k) batch.input(b, j)[k] = static_cast<float>(prototypes(c, k));
    }
  return batch;
}
std::vector<float> train_tiny(int steps) {
  const int C = 8, D = 16;
  const M protos = test::random_matrix(C, D, 77);
  Transformer model(small_config(2, 1, D, 4), C, 1, D, 123);
  std::vector<float> losses;
  for (int s = 0; s < steps; ++s) losses.push_back(model.train_step(tiny_task_batch(s, 32, C, D, protos)));
  return losses;
}
}  // namespace

BOOST_AUTO_TEST_CASE(learns_tiny_task_and_is_deterministic) {
  const auto a = train_tiny(400);
  double early = 0, late = 0;
  for (int i = 0; i < 20; ++i) early += a[i] / 20, late += a[a.size() - 1 - i] / 20;
  BOOST_TEST_MESSAGE("mean loss first 20 steps " << early << ", last 20 steps " << late << ", ln C = " << std::log(8.0));
  BOOST_TEST(early > 0.7 * std::log(8.0));
  BOOST_TEST(late < 0.2 * std::log(8.0));
  const auto b = train_tiny(400);
  BOOST_TEST(a == b);  // bit-identical
}

BOOST_AUTO_TEST_CASE(non_finite_loss_is_reported_and_parameters_kept) {
  Transformer m(small_config(2, 1, 8, 2), 4, 2, 8, 1);
  auto values = m.parameter_values();
  values[m.store().tensors[m.store().find("readout/w")].offset] = std::numeric_limits<float>::infinity();
  m.set_parameter_values(values);
  Batch batch = random_batch(4, 2, 8, 4, 1);
  const float loss = m.train_step(batch);
  BOOST_TEST(!std::isfinite(loss));
  const auto after = m.parameter_values();
  bool unchanged = true;
  for (std::size_t i = 0; i < after.size(); ++i)
    if (!(after[i] == values[i]) && !(std::isinf(after[i]) && std::isinf(values[i]))) unchanged = false;
  BOOST_TEST(unchanged);
  BOOST_TEST(m.optimizer().steps() == 0);
}

BOOST_AUTO_TEST_CASE(inference_batch_size_is_free_and_does_not_train) {
  Transformer m(ModelConfig{}, 10, 4, 64, 9);
  const auto before = m.parameter_values();
  Eigen::MatrixXf out100, out32;
  m.logits(random_batch(100, 4, 64, 10, 2), out100);
  m.logits(random_batch(32, 4, 64, 10, 3), out32);
  BOOST_TEST(out100.rows() == 100);
  BOOST_TEST(out100.cols() == 10);
  BOOST_TEST(out32.rows() == 32);
  BOOST_TEST(bool(m.parameter_values() == before));
  // Shorter contexts than the model's maximum are fine; longer ones are an input error.
  m.logits(random_batch(5, 2, 64, 10, 3), out32);
  BOOST_CHECK_THROW(m.logits(random_batch(5, 5, 64, 10, 3), out32), InputError);
  Batch bad = random_batch(5, 2, 64, 10, 3);
  bad.labels[0] = 10;
  BOOST_CHECK_THROW(m.logits(bad, out32), InputError);
}

BOOST_AUTO_TEST_CASE(config_from_params_and_validation) {
  ParamRegistry reg;
  reg.add(model_param_specs());
  ParamMap p = ParamMap::defaults(reg);
  const auto c = ModelConfig::from(p);
  BOOST_TEST(c.num_blocks == 2);
  BOOST_TEST(c.num_heads == 1);
  BOOST_TEST(c.embed_dim == 64);
  BOOST_TEST(c.widening_factor == 4);
  BOOST_TEST(c.learning_rate == 3e-4);
  p.set(reg, "model.num_heads", "3");
  try {
    ModelConfig::from(p);
    BOOST_FAIL("3 heads do not divide 64");
  } catch (const ParamError& e) {
    BOOST_TEST(e.key == "model.num_heads");
    BOOST_TEST(e.value == "3");
    BOOST_TEST(std::string(e.what()).find("divide") != std::string::npos);
  }
  p.set(reg, "model.num_heads", "4");
  p.set(reg, "model.num_blocks", "8");
  BOOST_TEST(ModelConfig::from(p).num_blocks == 8);
  p.set(reg, "model.embed_dim", "63");
  BOOST_CHECK_THROW(ModelConfig::from(p), ParamError);
  BOOST_CHECK_THROW(Transformer(ModelConfig{}, 10, 1, 32, 0), InputError);  // identity tokenizer needs D = E
}
