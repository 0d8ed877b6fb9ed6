#include "iclsweep/lm/vocab.hpp"

#include <array>
#include <cstring>

#include "iclsweep/core/error.hpp"

namespace icl::lm {
namespace {

// char -> id (or -1), built once.
const std::array<TokenId, 256>& char_table() {
  static const std::array<TokenId, 256> table = [] {
    std::array<TokenId, 256> t;
    t.fill(-1);
    for (std::size_t i = 0; kCharacters[i]; ++i) t[static_cast<unsigned char>(kCharacters[i])] = static_cast<TokenId>(3 + i);
    return t;
  }();
  return table;
}

}  // namespace

int vocab_size() { return 3 + static_cast<int>(std::strlen(kCharacters)); }

void encode_append(const std::string& text, std::vector<TokenId>& out) {
  const auto& t = char_table();
  for (std::size_t i = 0; i < text.size(); ++i) {
    const TokenId id = t[static_cast<unsigned char>(text[i])];
    if (id < 0)
      throw InputError("lm vocabulary: character '" + std::string(1, text[i]) + "' at position " + std::to_string(i) + " of \"" +
                       text + "\" is not a letter, digit, space or one of . ? , '");
    out.push_back(id);
  }
}

std::vector<TokenId> encode(const std::string& text) {
  std::vector<TokenId> out;
  out.reserve(text.size());
  encode_append(text, out);
  return out;
}

std::string decode(const std::vector<TokenId>& ids) {
  std::string s;
  const int V = vocab_size();
  for (TokenId id : ids) {
    if (id == kPad) s += "<pad>";
    else if (id == kBos) s += "<bos>";
    else if (id == kEos) s += "<eos>";
    else if (id >= 3 && id < V) s += kCharacters[id - 3];
    else s += "<?" + std::to_string(id) + ">";
  }
  return s;
}

bool is_valid_text(const std::string& text) {
  const auto& t = char_table();
  for (char c : text)
    if (t[static_cast<unsigned char>(c)] < 0) return false;
  return true;
}

}  // namespace icl::lm
