#include "iclsweep/core/quote.hpp"

#include <cstdint>
#include <cstdio>

namespace icl {

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07;
  else return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  // Overlong forms, surrogates and code points past U+10FFFF are not valid UTF-8.
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

namespace {

void append_escaped(std::string& out, unsigned char c) {
  char buf[5];
  std::snprintf(buf, sizeof buf, "\\x%02X", c);
  out += buf;
}

}  // namespace

std::string printable(std::string_view s, std::size_t max_chars) {
  std::string out;
  std::size_t chars = 0, i = 0;
  for (; i < s.size() && chars < max_chars; ++chars) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = utf8_sequence_length(s, i);
    const bool invisible = (n == 3 && s.compare(i, 3, "\xEF\xBB\xBF") == 0) ||  // BOM / zero-width no-break space
                           (n == 2 && c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0);  // C1 controls
    if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7F)) || invisible) {
      for (std::size_t k = 0; k < (n ? n : 1); ++k) append_escaped(out, static_cast<unsigned char>(s[i + k]));
      i += n ? n : 1;
      continue;
    }
    out.append(s.substr(i, n));
    i += n;
  }
  if (i < s.size()) out += "\xE2\x80\xA6 (" + std::to_string(s.size()) + " bytes)";
  return out;
}

std::string quote(std::string_view s, std::size_t max_chars) { return "'" + printable(s, max_chars) + "'"; }

}  // namespace icl
