#pragma once
// The one way a message echoes user input (job-file lines, keys, values, --set arguments): escaped so
// that binary bytes, an invisible BOM or a terminal escape cannot garble or hide the message, and
// truncated so that a 1 MB value gives a one-line error.
#include <cstddef>
#include <string>
#include <string_view>

namespace icl {

inline constexpr std::size_t kQuoteMaxChars = 60;

// `text` with every byte that is not printable text escaped as \xNN (control characters, DEL, bytes that
// are not valid UTF-8, the BOM U+FEFF and the C1 controls); valid UTF-8 such as "σ" stays. Longer than
// `max_chars` characters: the first `max_chars` followed by "… (N bytes)".
std::string printable(std::string_view text, std::size_t max_chars = kQuoteMaxChars);
// printable() in single quotes (not `quoted`: std::quoted would clash through ADL): 'text'.
std::string quote(std::string_view text, std::size_t max_chars = kQuoteMaxChars);

// Length in bytes of the valid UTF-8 sequence starting at text[i], or 0 if none starts there.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i);

}  // namespace icl
