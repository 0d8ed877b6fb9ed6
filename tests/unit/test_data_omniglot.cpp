#define BOOST_TEST_MODULE data_omniglot
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "iclsweep/core/error.hpp"
#include "iclsweep/data/omniglot_images.hpp"
#include "iclsweep/data/omniglot_pool.hpp"
#include "omniglot_fixture.hpp"

using namespace icl;
namespace fs = std::filesystem;
namespace fx = omniglot_fixture;

namespace {

bool within_se(double count, double n, double p, double k = 6.0) {
  const double se = std::sqrt(n * p * (1.0 - p));
  return std::fabs(count - n * p) <= k * se + 1e-9;
}

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("iclsweep_test_omniglot_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// The layout of the two shared subsets in miniature: small1 and small2 overlap in Greek, plus an
// evaluation zip. Class tags (ids = 100 * tag + drawing) in the expected class order:
//   0 background/Balinese/character01   1 background/Greek/character01   2 background/Greek/character02
//   3 background/Tagalog/character01    4 evaluation/Atlantean/character01
struct Fixture {
  fx::Entries small1, small2, evaluation;
  Fixture() {
    fx::add_character(small1, "images_background_small1", "Greek", "character02", 20, 200);
    fx::add_character(small1, "images_background_small1", "Balinese", "character01", 20, 0);
    fx::add_character(small1, "images_background_small1", "Greek", "character01", 20, 100);
    fx::add_character(small2, "images_background_small2", "Tagalog", "character01", 20, 300);
    fx::add_character(small2, "images_background_small2", "Greek", "character01", 20, 100);  // the overlap
    fx::add_character(small2, "images_background_small2", "Greek", "character02", 20, 200);
    fx::add_character(evaluation, "images_evaluation", "Atlantean", "character01", 20, 400);
  }
  fs::path write_zips(const std::string& name) const {
    const fs::path d = fresh_dir(name);
    fx::write_zip(d / "images_background_small1.zip", small1);
    fx::write_zip(d / "images_background_small2.zip", small2);
    fx::write_zip(d / "images_evaluation.zip", evaluation);
    return d;
  }
};

std::uint32_t id_of(const OmniglotImages& im, int c, int d) {
  std::vector<float> px(OmniglotImages::kPixels);
  im.decode(c, d, 105, px.data());
  return fx::decoded_id(px.data());
}

// Expects load() to throw InputError whose message contains every string in `parts`.
void expect_load_error(const fs::path& folder, std::vector<std::string> parts) {
  try {
    OmniglotImages::load(folder.string());
    BOOST_ERROR("no error for " << folder);
  } catch (const InputError& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) BOOST_TEST(msg.find(p) != std::string::npos, "'" << p << "' not in: " << msg);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(class_order_and_dedup_from_zips) {
  const Fixture f;
  const auto dir = f.write_zips("order");
  const auto im = OmniglotImages::load(dir.string());
  BOOST_TEST(im->num_classes() == 5);
  BOOST_TEST(im->total_drawings() == 100);  // the Greek overlap is one class, its drawings once
  const char* expected[][3] = {{"background", "Balinese", "character01"},
                               {"background", "Greek", "character01"},
                               {"background", "Greek", "character02"},
                               {"background", "Tagalog", "character01"},
                               {"evaluation", "Atlantean", "character01"}};
  for (int c = 0; c < 5; ++c) {
    BOOST_TEST(im->info(c).set == expected[c][0]);
    BOOST_TEST(im->info(c).alphabet == expected[c][1]);
    BOOST_TEST(im->info(c).character == expected[c][2]);
    BOOST_TEST(im->num_drawings(c) == 20);
    for (int d = 0; d < 20; ++d) BOOST_TEST(id_of(*im, c, d) == static_cast<std::uint32_t>(100 * c + d), "class " << c << " drawing " << d);
  }
  BOOST_TEST(im->memory_bytes() < 100u * 1400u + 4096u);  // 1 bit per pixel
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(extracted_folders_read_like_the_zips) {
  const Fixture f;
  const auto zdir = f.write_zips("zips");
  const auto fdir = fresh_dir("folders");
  fx::write_folder(fdir, f.small1);
  fx::write_folder(fdir, f.small2);
  fx::write_folder(fdir, f.evaluation);
  std::ofstream(fdir / "images_evaluation" / ".DS_Store") << "x";  // ignorable clutter
  const auto a = OmniglotImages::load(zdir.string());
  const auto b = OmniglotImages::load(fdir.string());
  BOOST_TEST(a->num_classes() == b->num_classes());
  for (int c = 0; c < a->num_classes(); ++c) {
    BOOST_TEST(a->info(c).alphabet == b->info(c).alphabet);
    BOOST_TEST(a->num_drawings(c) == b->num_drawings(c));
    for (int d = 0; d < a->num_drawings(c); ++d)
      for (int p = 0; p < OmniglotImages::kPixels; p += 7) BOOST_REQUIRE(a->pixel(c, d, p) == b->pixel(c, d, p));
  }
  fs::remove_all(zdir);
  fs::remove_all(fdir);
}

BOOST_AUTO_TEST_CASE(bad_inputs_name_the_file_and_the_fix) {
  const fs::path missing = fs::temp_directory_path() / "iclsweep_no_such_omniglot_folder";
  expect_load_error(missing, {missing.string(), "does not exist", "scripts/get-omniglot"});

  const auto empty = fresh_dir("empty");
  expect_load_error(empty, {empty.string(), "images_background.zip", "scripts/get-omniglot"});

  const auto corrupt_zip = fresh_dir("corrupt_zip");
  std::ofstream(corrupt_zip / "images_background.zip") << "this is not a zip file at all";
  expect_load_error(corrupt_zip, {"images_background.zip", "not a readable zip", "scripts/get-omniglot"});

  // A truncated zip: the first half of a real one.
  const auto trunc_zip = fresh_dir("trunc_zip");
  {
    fx::Entries e;
    fx::add_character(e, "images_background", "Greek", "character01", 20, 0);
    fx::write_zip(trunc_zip / "full.zip", e);
    std::ifstream in(trunc_zip / "full.zip", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(trunc_zip / "images_background.zip", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    fs::remove(trunc_zip / "full.zip");
  }
  expect_load_error(trunc_zip, {"images_background.zip", "not a readable zip"});

  const auto layout = fresh_dir("layout");
  {
    fx::Entries e;
    e.emplace_back("images_background/Greek/0001_01.png", fx::drawing(1));  // no character folder
    fx::write_zip(layout / "images_background.zip", e);
  }
  expect_load_error(layout, {"images_background.zip", "images_background/Greek/0001_01.png", "<alphabet>/<character>/<file>.png"});

  // An entry whose path leaves the root ("..") is named like any out-of-place entry (it used to be skipped
  // as a hidden file, and the class it belonged to then came up one drawing short).
  const auto escaping = fresh_dir("escaping");
  {
    fx::Entries e;
    fx::add_character(e, "images_background", "Greek", "character01", 20, 0);
    e.emplace_back("../../images_background/Greek/character02/0002_01.png", fx::drawing(30));
    fx::write_zip(escaping / "images_background.zip", e);
  }
  expect_load_error(escaping, {"images_background.zip", "'../../images_background/Greek/character02/0002_01.png' is not at"});
  fs::remove_all(escaping);

  const auto wrong_root = fresh_dir("wrong_root");
  {
    fx::Entries e;
    fx::add_character(e, "something_else", "Greek", "character01", 2, 0);
    fx::write_zip(wrong_root / "images_background.zip", e);
  }
  expect_load_error(wrong_root, {"images_background.zip", "something_else/Greek/character01"});

  const auto no_png = fresh_dir("no_png");
  {
    fx::Entries e;
    e.emplace_back("images_background/README.txt", std::vector<unsigned char>{'h', 'i'});
    fx::write_zip(no_png / "images_background.zip", e);
  }
  expect_load_error(no_png, {"images_background.zip", "holds no drawing", "not an Omniglot zip"});

  auto one_bad_png = [&](const std::string& name, std::vector<unsigned char> bytes, std::vector<std::string> parts) {
    const auto d = fresh_dir(name);
    fx::Entries e;
    fx::add_character(e, "images_background", "Greek", "character01", 3, 0);
    e.emplace_back("images_background/Greek/character02/0002_01.png", std::move(bytes));
    fx::write_zip(d / "images_background.zip", e);
    parts.push_back("images_background/Greek/character02/0002_01.png");
    parts.push_back("images_background.zip");
    expect_load_error(d, parts);
    fs::remove_all(d);
  };
  auto good = fx::drawing(5);
  one_bad_png("truncated_png", std::vector<unsigned char>(good.begin(), good.begin() + static_cast<long>(good.size() / 2)),
              {"corrupt or truncated PNG"});
  auto flipped = good;
  flipped[flipped.size() / 2] ^= 0xFF;  // a damaged byte inside the compressed data
  one_bad_png("corrupt_png", flipped, {"105x105 grayscale"});
  one_bad_png("garbage_png", std::vector<unsigned char>(300, 7), {"not a valid PNG"});
  one_bad_png("small_png", fx::encode_png(64, 64, 0, 1, std::vector<unsigned char>(64 * 64, 255)), {"is 64x64 grayscale"});
  one_bad_png("rgb_png", fx::encode_png(105, 105, 2, 8, std::vector<unsigned char>(105 * 105 * 3, 255)), {"is 105x105 RGB"});
  one_bad_png("gray_png", fx::encode_png(105, 105, 0, 8, std::vector<unsigned char>(105 * 105, 128)), {"gray level 128"});
  for (const auto& d : {empty, corrupt_zip, trunc_zip, layout, wrong_root, no_png}) fs::remove_all(d);
}

BOOST_AUTO_TEST_CASE(dataset_rules_need_twenty_drawings_and_n_at_least_c) {
  const auto d = fresh_dir("few");
  fx::Entries e;
  fx::add_character(e, "images_background", "Greek", "character01", 20, 0);
  fx::add_character(e, "images_background", "Greek", "character02", 12, 100);
  for (int c = 3; c <= 6; ++c) fx::add_character(e, "images_background", "Greek", "character0" + std::to_string(c), 20, 100 * c);
  fx::write_zip(d / "images_background.zip", e);
  const auto im = OmniglotImages::load(d.string());
  OmniglotParams op;
  op.data.num_high_prob_classes = 2;
  op.data.p_high = 0.9;
  op.data.dataset_size = 4;
  op.data.input_tokenizer = "image";
  op.data.num_dims = op.input_dim();
  const auto errors = op.dataset_errors(*im, 32);
  std::string all;
  for (const auto& m : errors) all += m + "\n";
  BOOST_TEST(all.find("background/Greek/character02") != std::string::npos, all);
  BOOST_TEST(all.find("has 12 drawings") != std::string::npos, all);
  BOOST_TEST(all.find("'data.dataset_size' = 4") != std::string::npos, all);
  BOOST_TEST(all.find("C = 6") != std::string::npos, all);
  BOOST_TEST(all.find("train.batch_size = 32") != std::string::npos, all);
  BOOST_TEST(all.find("eval.num_eval_samples") == std::string::npos, all);  // not asked: not checked
  // 5 * num_eval_samples sequences per evaluation pool must cover the C = 6 classes: 1 is too few, 2 enough
  std::string eval_errors;
  for (const auto& m : op.dataset_errors(*im, 32, 1)) eval_errors += m + "\n";
  BOOST_TEST(eval_errors.find("'eval.num_eval_samples' = 1") != std::string::npos, eval_errors);
  BOOST_TEST(eval_errors.find("at least 2") != std::string::npos, eval_errors);
  for (const auto& m : op.dataset_errors(*im, 32, 2)) BOOST_TEST(m.find("eval.num_eval_samples") == std::string::npos, m);
  op.data.num_high_prob_classes = 6;
  BOOST_TEST(op.dataset_errors(*im, 32).front().find("data.num_high_prob_classes") != std::string::npos);
  fs::remove_all(d);
}

static void check_decoder_matches_reference(const OmniglotImages& im, int side);  // below
static bool shared_data_present() { return fs::exists("/work/shared/data/omniglot/images_background_small1.zip"); }

BOOST_AUTO_TEST_CASE(real_drawings_downsample_like_the_reference,
                     *boost::unit_test::precondition([](boost::unit_test::test_unit_id) { return shared_data_present(); })) {
  const auto im = OmniglotImages::shared("/work/shared/data/omniglot");
  check_decoder_matches_reference(*im, 28);
}

BOOST_AUTO_TEST_CASE(shared_subsets_give_242_classes,
                     *boost::unit_test::precondition([](boost::unit_test::test_unit_id) { return shared_data_present(); })) {
  const auto im = OmniglotImages::shared("/work/shared/data/omniglot");
  BOOST_TEST(im->num_classes() == 242);
  BOOST_TEST(im->total_drawings() == 4840);
  BOOST_TEST(im->min_drawings() == 20);
  BOOST_TEST(im->sources().size() == 2u);
  for (int c = 1; c < im->num_classes(); ++c) {
    const auto& a = im->info(c - 1);
    const auto& b = im->info(c);
    BOOST_TEST((a.alphabet < b.alphabet || (a.alphabet == b.alphabet && a.character < b.character)), "order at class " << c);
  }
  BOOST_TEST(im->info(0).alphabet == "Balinese");
  BOOST_TEST(im->info(0).character == "character01");
  // Real drawings: mostly white, some strokes, 0/1 values only.
  std::vector<float> px(OmniglotImages::kPixels);
  im->decode(17, 0, 105, px.data());
  double mean = 0;
  for (float v : px) {
    BOOST_REQUIRE((v == 0.0f || v == 1.0f));
    mean += v;
  }
  mean /= px.size();
  BOOST_TEST(mean > 0.8);
  BOOST_TEST(mean < 0.995);
  // The full set at this density: 32460 drawings in well under 64 MiB.
  BOOST_TEST(32460.0 * OmniglotImages::kPixels / 8 < 64.0 * 1024 * 1024);
}

// ---- pools and samplers -----------------------------------------------------------------------------

namespace {

// 22 classes x 20 drawings (H = 2 below), loaded once for the pool tests.
std::shared_ptr<const OmniglotImages> pool_fixture() {
  static std::shared_ptr<const OmniglotImages> im = [] {
    const auto d = fresh_dir("pools");
    fx::Entries e;
    for (int c = 0; c < 22; ++c) {
      const std::string ch = std::string("character") + (c < 10 ? "0" : "") + std::to_string(c);
      fx::add_character(e, "images_background", "Alpha", ch, 20, static_cast<std::uint32_t>(100 * c));
    }
    fx::write_zip(d / "images_background.zip", e);
    auto loaded = OmniglotImages::load(d.string());
    fs::remove_all(d);
    return loaded;
  }();
  return im;
}

OmniglotParams fixture_params(std::int64_t N, int L, double p_rel) {
  OmniglotParams op;
  op.data.num_high_prob_classes = 2;  // w_high = 0.45, w_low = 0.005
  op.data.p_high = 0.9;
  op.data.dataset_size = N;
  op.data.num_contexts = L;
  op.data.p_relevant_context = p_rel;
  op.data.seed = 3;
  op.data.input_tokenizer = "image";
  op.data.num_dims = op.input_dim();
  return op;
}

}  // namespace

BOOST_AUTO_TEST_CASE(relevant_rows_slot_zero_then_permute) {
  const auto im = pool_fixture();
  const auto op = fixture_params(100000, 2, 1.0);
  const auto pool = OmniglotPool::training(op, im);
  // A C_H query (w = 0.45): P(both contexts match) = w^2, else exactly one match (slot 0 := q when
  // neither matched), at slot 0 or 1 with probability 1/2 each after the permutation.
  double high = 0, both = 0, one_at_0 = 0, one = 0, none = 0, low = 0, low_both = 0;
  for (std::int64_t n = 0; n < pool.size(); ++n) {
    const int q = pool.cls(n, 2);
    const int m = (pool.cls(n, 0) == q) + (pool.cls(n, 1) == q);
    none += m == 0;
    if (q < 2) {
      ++high;
      both += m == 2;
      if (m == 1) {
        ++one;
        one_at_0 += pool.cls(n, 0) == q;
      }
    } else {
      ++low;
      low_both += m == 2;
    }
  }
  BOOST_TEST(none == 0);
  BOOST_TEST(within_se(both, high, 0.45 * 0.45), both << " of " << high);
  BOOST_TEST(within_se(one_at_0, one, 0.5), one_at_0 << " of " << one);
  BOOST_TEST(within_se(low_both, low, 0.005 * 0.005 + 1e-4), low_both << " of " << low);
  BOOST_TEST(within_se(high, static_cast<double>(pool.size()), 0.9));
}

BOOST_AUTO_TEST_CASE(irrelevant_rows_never_hold_the_query_and_follow_w_excluding_q) {
  const auto im = pool_fixture();
  const auto pool = OmniglotPool::training(fixture_params(60000, 3, 0.0), im);
  double low_q = 0, high_ctx_given_low_q = 0;
  for (std::int64_t n = 0; n < pool.size(); ++n) {
    const int q = pool.cls(n, 3);
    for (int j = 0; j < 3; ++j) BOOST_REQUIRE(pool.cls(n, j) != q);
    if (q >= 2) {
      low_q += 3;
      for (int j = 0; j < 3; ++j) high_ctx_given_low_q += pool.cls(n, j) < 2;
    }
  }
  BOOST_TEST(within_se(high_ctx_given_low_q, low_q, 0.9 / (1 - 0.005)), high_ctx_given_low_q << " of " << low_q);
}

BOOST_AUTO_TEST_CASE(relevance_fraction_lrel_coverage_conditioning) {
  const auto im = pool_fixture();
  {  // p_rel = 0.5 with L = 2: matches only in relevant rows, which always match.
    const auto pool = OmniglotPool::training(fixture_params(40000, 2, 0.5), im);
    double with = 0;
    for (std::int64_t n = 0; n < pool.size(); ++n) with += pool.cls(n, 0) == pool.cls(n, 2) || pool.cls(n, 1) == pool.cls(n, 2);
    BOOST_TEST(within_se(with, 40000, 0.5));
  }
  {  // L_rel = 1 of L = 4: exactly one match, at a uniform slot.
    auto op = fixture_params(40000, 4, 1.0);
    op.data.num_relevant_contexts = 1;
    const auto pool = OmniglotPool::training(op, im);
    std::vector<double> at(4, 0);
    for (std::int64_t n = 0; n < pool.size(); ++n) {
      int m = 0;
      for (int j = 0; j < 4; ++j) {
        m += pool.cls(n, j) == pool.cls(n, 4);
        at[static_cast<std::size_t>(j)] += pool.cls(n, j) == pool.cls(n, 4);
      }
      BOOST_REQUIRE(m == 1);
    }
    for (int j = 0; j < 4; ++j) BOOST_TEST(within_se(at[static_cast<std::size_t>(j)], 40000, 0.25));
  }
  {  // N = C: every class is queried exactly once.
    const auto pool = OmniglotPool::training(fixture_params(22, 2, 0.9), im);
    std::set<int> queries;
    for (std::int64_t n = 0; n < 22; ++n) queries.insert(pool.cls(n, 2));
    BOOST_TEST(queries.size() == 22u);
  }
  {  // Conditioning low_prob: queries uniform over C_L.
    auto op = fixture_params(5000, 2, 0.9);
    const auto pool = OmniglotPool::evaluation(op, im, Relevance::Default, Conditioning::LowProb, 40000, std::nullopt);
    std::vector<double> counts(22, 0);
    for (std::int64_t n = 0; n < pool.size(); ++n) ++counts[pool.cls(n, 2)];
    BOOST_TEST(counts[0] + counts[1] == 0);
    for (int c = 2; c < 22; ++c) BOOST_TEST(within_se(counts[static_cast<std::size_t>(c)], 40000, 1.0 / 20));
  }
}

BOOST_AUTO_TEST_CASE(batches_show_first_drawing_shift_labels_and_add_noise) {
  const auto im = pool_fixture();
  auto op = fixture_params(1000, 2, 0.9);
  op.data.label_noise = 0.2;
  const auto pool = OmniglotPool::training(op, im);
  std::vector<std::int64_t> pos(64);
  for (int i = 0; i < 64; ++i) pos[static_cast<std::size_t>(i)] = (i * 37) % 1000;
  Batch clean, flipped;
  pool.assemble(pos, false, Exemplar::First, clean);
  pool.assemble(pos, true, Exemplar::First, flipped);
  BOOST_TEST(clean.input_dim == 105 * 105);
  BOOST_TEST(clean.num_classes == 22);
  double noisy = 0;
  for (int b = 0; b < 64; ++b)
    for (int j = 0; j < 3; ++j) {
      const int c = pool.cls(pos[static_cast<std::size_t>(b)], j);
      BOOST_TEST(fx::decoded_id(clean.input(b, j)) == static_cast<std::uint32_t>(100 * c));  // drawing 0 of class c
      BOOST_TEST(std::memcmp(clean.input(b, j), flipped.input(b, j), 105 * 105 * sizeof(float)) == 0);  // inputs unchanged
      BOOST_TEST(flipped.cls(b, j) == shift_within_group(c, 2, 20));
      noisy += clean.label(b, j) != clean.cls(b, j);
      // The same noise mask in the flip twin (Q5: the pool is never mutated).
      BOOST_TEST((clean.label(b, j) != clean.cls(b, j)) == (flipped.label(b, j) != flipped.cls(b, j)));
    }
  BOOST_TEST(within_se(noisy, 64 * 3, 0.2));
}

BOOST_AUTO_TEST_CASE(pixel_noise_is_fixed_per_position_whatever_the_batch) {
  const auto im = pool_fixture();
  auto op = fixture_params(500, 2, 0.9);
  op.data.input_noise_std = 0.1;
  const auto pool = OmniglotPool::training(op, im);
  Batch a, b;
  pool.assemble(std::vector<std::int64_t>{5, 17, 400}, false, Exemplar::First, a);
  pool.assemble(std::vector<std::int64_t>{400, 9, 9, 5, 3}, false, Exemplar::First, b);
  for (int j = 0; j < 3; ++j) {
    BOOST_TEST(std::memcmp(a.input(0, j), b.input(3, j), 105 * 105 * sizeof(float)) == 0);
    BOOST_TEST(std::memcmp(a.input(2, j), b.input(0, j), 105 * 105 * sizeof(float)) == 0);
  }
  // Different positions get different noise (Q15: no collisions across (n, j)), with std sigma.
  BOOST_TEST(std::memcmp(b.input(1, 0), b.input(1, 1), 105 * 105 * sizeof(float)) != 0);
  const auto clean = [&] {
    auto q = op;
    q.data.input_noise_std = 0.0;
    return OmniglotPool::training(q, im);
  }();
  Batch c;
  clean.assemble(std::vector<std::int64_t>{5, 17, 400}, false, Exemplar::First, c);
  double s = 0, s2 = 0;
  const int n = 3 * 3 * 105 * 105;
  for (int i = 0; i < n; ++i) {
    const double d = a.inputs[static_cast<std::size_t>(i)] - c.inputs[static_cast<std::size_t>(i)];
    s += d;
    s2 += d * d;
  }
  BOOST_TEST(std::fabs(s / n) < 6 * 0.1 / std::sqrt(n));
  BOOST_TEST(std::fabs(std::sqrt(s2 / n) - 0.1) < 0.002);
}

BOOST_AUTO_TEST_CASE(heldout_exemplars_are_uniform_over_1_to_19) {
  const auto im = pool_fixture();
  for (bool compat : {false, true}) {
    auto op = fixture_params(30000, 2, 0.9);
    op.heldout_includes_first = compat;
    const auto pool = OmniglotPool::training(op, im);
    std::vector<double> counts(20, 0);
    for (std::int64_t n = 0; n < pool.size(); ++n)
      for (int j = 0; j < 3; ++j) ++counts[static_cast<std::size_t>(pool.heldout_exemplar(n, j))];
    const double total = 3.0 * pool.size();
    const int lo = compat ? 0 : 1;
    if (!compat) BOOST_TEST(counts[0] == 0);
    for (int e = lo; e < 20; ++e) BOOST_TEST(within_se(counts[static_cast<std::size_t>(e)], total, 1.0 / (20 - lo)), "e=" << e);
    Batch b;
    pool.assemble(std::vector<std::int64_t>{11}, true, Exemplar::Heldout, b);
    for (int j = 0; j < 3; ++j)
      BOOST_TEST(fx::decoded_id(b.input(0, j)) == static_cast<std::uint32_t>(100 * pool.cls(11, j) + pool.heldout_exemplar(11, j)));
  }
}

BOOST_AUTO_TEST_CASE(area_downsampling_to_28) {
  const auto w = area_weights(28);
  for (int u = 0; u < 28; ++u) {
    double row = 0;
    for (int i = 0; i < 105; ++i) row += w[static_cast<std::size_t>(u) * 105 + i];
    BOOST_TEST(std::fabs(row - 1.0) < 1e-5);
  }
  const auto im = pool_fixture();
  std::vector<float> full(105 * 105), small(28 * 28);
  im->decode(3, 0, 105, full.data());
  im->decode(3, 0, 28, small.data());
  double mf = 0, ms = 0;
  for (float v : full) mf += v;
  for (float v : small) {
    BOOST_REQUIRE((v >= -1e-6f && v <= 1.0f + 1e-6f));
    ms += v;
  }
  BOOST_TEST(std::fabs(mf / full.size() - ms / small.size()) < 1e-4);  // area averaging keeps the mean ink
  auto op = fixture_params(100, 2, 0.9);
  op.image_size = 28;
  const auto pool = OmniglotPool::training(op, im);
  Batch b;
  pool.assemble(std::vector<std::int64_t>{1, 2}, false, Exemplar::First, b);
  BOOST_TEST(b.input_dim == 784);
}

// The plain separable area filter over every weight (zeros included), kept as the reference for the
// decoder (which skips zero weights in its row pass) and for the shared drawing-0 table pools read.
static std::vector<float> reference_area_downsample(const OmniglotImages& im, int c, int d, int side) {
  std::vector<float> full(105 * 105), rows(static_cast<std::size_t>(side) * 105, 0.0f), out(static_cast<std::size_t>(side) * side);
  im.decode(c, d, 105, full.data());
  const auto w = area_weights(side);
  for (int u = 0; u < side; ++u)
    for (int i = 0; i < 105; ++i) {
      const float wi = w[static_cast<std::size_t>(u) * 105 + i];
      for (int x = 0; x < 105; ++x) rows[static_cast<std::size_t>(u) * 105 + x] += wi * full[static_cast<std::size_t>(i) * 105 + x];
    }
  for (int u = 0; u < side; ++u)
    for (int v = 0; v < side; ++v) {
      float acc = 0.0f;
      for (int x = 0; x < 105; ++x) acc += w[static_cast<std::size_t>(v) * 105 + x] * rows[static_cast<std::size_t>(u) * 105 + x];
      out[static_cast<std::size_t>(u) * side + v] = acc;
    }
  return out;
}

static void check_decoder_matches_reference(const OmniglotImages& im, int side) {
  std::vector<float> fast(static_cast<std::size_t>(side) * side), scratch(fast.size());
  int mismatched = 0;
  for (int c = 0; c < im.num_classes(); ++c)
    for (int d : {0, im.num_drawings(c) - 1}) {
      const auto ref = reference_area_downsample(im, c, d, side);
      im.decode(c, d, side, fast.data());
      mismatched += std::memcmp(ref.data(), fast.data(), fast.size() * sizeof(float)) != 0;
      if (d == 0) {
        const float* table = im.first_drawing(c, side, scratch.data());
        mismatched += std::memcmp(ref.data(), table, fast.size() * sizeof(float)) != 0;
      }
    }
  BOOST_TEST(mismatched == 0, mismatched << " drawings at side " << side << " differ in some bit from the reference filter");
}

BOOST_AUTO_TEST_CASE(downsampling_and_the_drawing_0_table_match_the_reference_bit_for_bit) {
  const auto im = pool_fixture();
  for (int side : {28, 16, 50}) check_decoder_matches_reference(*im, side);
  std::vector<float> scratch(105 * 105), direct(105 * 105);
  const float* at_full = im->first_drawing(2, 105, scratch.data());  // 105 px: decoded into the scratch
  im->decode(2, 0, 105, direct.data());
  BOOST_TEST(at_full == scratch.data());
  BOOST_TEST(std::memcmp(direct.data(), at_full, direct.size() * sizeof(float)) == 0);
}

BOOST_AUTO_TEST_CASE(epoch_shuffle_is_a_seeded_permutation_dropping_the_last_partial_batch) {
  EpochShuffle s(4, 100, 32);
  BOOST_TEST(s.steps_per_epoch() == 3);
  std::vector<std::int64_t> pos;
  std::vector<std::set<std::int64_t>> epochs(3);
  std::vector<std::vector<std::int64_t>> seq;
  for (int t = 0; t < 9; ++t) {
    s.positions(t, pos);
    BOOST_TEST(pos.size() == 32u);
    for (auto n : pos) {
      BOOST_TEST((n >= 0 && n < 100));
      epochs[static_cast<std::size_t>(t / 3)].insert(n);
    }
    seq.push_back(pos);
  }
  for (const auto& e : epochs) BOOST_TEST(e.size() == 96u);  // without replacement within an epoch
  BOOST_TEST(seq[0] != seq[3]);                               // a fresh permutation per epoch
  EpochShuffle again(4, 100, 32), other(5, 100, 32);
  again.positions(7, pos);
  BOOST_TEST(pos == seq[7]);  // a pure function of (seed, step), even out of order
  other.positions(0, pos);
  BOOST_TEST(pos != seq[0]);
  // Each position is seen equally often over many epochs (a uniform permutation).
  EpochShuffle u(9, 64, 32);
  std::vector<double> first(64, 0);
  for (int e = 0; e < 6400; ++e) {
    u.positions(2 * e, pos);
    ++first[static_cast<std::size_t>(pos[0])];
  }
  for (double c : first) BOOST_TEST(within_se(c, 6400, 1.0 / 64));
}

BOOST_AUTO_TEST_CASE(eval_set_has_28_splits_with_paired_heldout_twins) {
  const auto im = pool_fixture();
  const auto op = fixture_params(2000, 2, 0.9);
  auto train = std::make_shared<const OmniglotPool>(OmniglotPool::training(op, im));
  EvalOptions opt;
  opt.num_eval_samples = 50;
  opt.pretraining_samples = 70;
  opt.batch_size = 20;
  const OmniglotEvalSet eval(op, im, train, opt);
  BOOST_TEST(eval.splits().size() == 28u);
  BOOST_TEST(eval.splits()[0].name == "pretraining");
  const auto h = eval.find("eval-default-none-heldout_input-flipped_label");
  const auto twin = eval.find("eval-default-none-flip_label");
  BOOST_TEST(eval.heldout(h));
  BOOST_TEST(!eval.heldout(twin));
  BOOST_TEST(eval.positions(h) == eval.positions(twin));
  BOOST_TEST(eval.num_batches(eval.find("pretraining")) == 4);
  Batch a, b;
  eval.assemble(h, 0, a);
  eval.assemble(twin, 0, b);
  int differ = 0;
  for (int i = 0; i < a.size; ++i) {
    BOOST_TEST(a.target(i) == b.target(i));  // same flipped labels
    for (int j = 0; j < 3; ++j) differ += fx::decoded_id(a.input(i, j)) != fx::decoded_id(b.input(i, j));
  }
  BOOST_TEST(differ == a.size * 3);  // every position shows another drawing
  // Evaluation pools are independent of the training pool.
  int same = 0;
  for (std::int64_t n = 0; n < 200; ++n) same += eval.pool(twin).cls(n, 2) == train->cls(n, 2);
  BOOST_TEST(same < 150);
}
