#pragma once
// Parameters of the stylized data distribution (PAPER-SPEC §1.1), under the job-file section [data].
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/params.hpp"

namespace icl {

enum class RelevanceMode { PerSequence, PerSlot };
enum class Conditioning { None, HighProb, LowProb };

struct DataParams {
  std::int64_t dataset_size = 1024;            // N
  int num_contexts = 1;                        // L
  int num_high_prob_classes = 5;               // H
  int num_low_prob_classes = 5;                // Lo
  double p_high = 0.9;
  double p_relevant_context = 0.9;             // p_rel
  int num_dims = 64;                           // D
  double input_noise_std = 0.0;                // sigma
  double label_noise = 0.0;                    // eps_lab
  std::optional<int> num_relevant_contexts;    // L_rel
  Conditioning conditioning = Conditioning::None;
  bool flip_label = false;
  std::uint64_t seed = 0;
  RelevanceMode relevance_mode = RelevanceMode::PerSequence;
  bool vfinal_bug_compat = false;              // Q1-Q3 (per_slot only)
  bool vpaper_bug_compat = false;              // Q4 (per_sequence, L_rel < L only)
  // The model's input tokenizer ("identity" requires num_dims == embed_dim == 64); set from [model].
  std::string input_tokenizer = "identity";
  int embed_dim = 64;

  int num_classes() const { return num_high_prob_classes + num_low_prob_classes; }
  double class_weight(int c) const {
    return c < num_high_prob_classes ? p_high / num_high_prob_classes
                                     : (1.0 - p_high) / num_low_prob_classes;
  }
  bool is_high(int c) const { return c < num_high_prob_classes; }

  // Reads the data.* keys (plus model.input_tokenizer/model.embed_dim for the D = E rule) and validates.
  static DataParams from(const ParamMap& params);
  // Reads without checking the cross-key rules (unknown choice names still throw), so that a caller
  // can list every broken rule with collect_errors().
  static DataParams read(const ParamMap& params);
  // Throws ParamError naming the first rule broken; collect_errors() lists them all.
  void validate() const;
  std::vector<ParamError> collect_errors() const;
  // Back to key=value form (for HDF5 attributes).
  void write_to(ParamMap& params) const;
};

std::vector<ParamSpec> data_param_specs();

const char* to_string(RelevanceMode m);
const char* to_string(Conditioning c);

}  // namespace icl
