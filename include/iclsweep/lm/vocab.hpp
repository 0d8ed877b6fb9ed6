#pragma once
// The character vocabulary of the language-model analog (PAPER-SPEC §5.5, issue 13): letters, digits,
// space and `. ? , '`, plus PAD, BOS and EOS. An invented name such as "Cxx1h" is a new string of known
// tokens, as it is with the original LLM's sub-words.
#include <cstdint>
#include <string>
#include <vector>

namespace icl::lm {

using TokenId = std::int32_t;

inline constexpr TokenId kPad = 0;
inline constexpr TokenId kBos = 1;
inline constexpr TokenId kEos = 2;
// Ids 3.. are the characters of kCharacters, in order.
inline constexpr const char* kCharacters =
    " .?,'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
int vocab_size();  // 3 + strlen(kCharacters) = 70

// Throws InputError naming the character and its position when `text` holds one outside the vocabulary.
std::vector<TokenId> encode(const std::string& text);
void encode_append(const std::string& text, std::vector<TokenId>& out);
// Inverse of encode; PAD, BOS, EOS print as <pad>, <bos>, <eos>; ids outside the vocabulary as <?N>.
std::string decode(const std::vector<TokenId>& ids);
bool is_valid_text(const std::string& text);  // every character is in the vocabulary

}  // namespace icl::lm
