#pragma once
// Tiny Omniglot-layout fixtures written by the tests themselves: PNGs encoded with libspng, zips with
// libzip, so the loader is tested on real files of every kind (good and broken) without the network.
//
// A fixture drawing carries its identity in its pixels: bit x of `id` (x < 32) is a black pixel at
// row 0, column x, everything else white, so a test can tell which file a decoded image came from.
#include <spng.h>
#include <zip.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace omniglot_fixture {

// PNG bytes of a width x height image; `samples` row-major, one byte per sample (packed here for
// bit depths below 8). color_type 0 = gray, 2 = RGB.
inline std::vector<unsigned char> encode_png(int width, int height, int color_type, int bit_depth,
                                             const std::vector<unsigned char>& samples) {
  spng_ctx* ctx = spng_ctx_new(SPNG_CTX_ENCODER);
  spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
  spng_ihdr ihdr{};
  ihdr.width = static_cast<std::uint32_t>(width);
  ihdr.height = static_cast<std::uint32_t>(height);
  ihdr.bit_depth = static_cast<std::uint8_t>(bit_depth);
  ihdr.color_type = static_cast<std::uint8_t>(color_type);
  spng_set_ihdr(ctx, &ihdr);
  const int channels = color_type == 2 ? 3 : 1;
  const int row_bytes = (width * channels * bit_depth + 7) / 8;
  std::vector<unsigned char> packed(static_cast<std::size_t>(row_bytes) * height, 0);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width * channels; ++x) {
      const unsigned v = samples[static_cast<std::size_t>(y) * width * channels + x];
      if (bit_depth == 8) {
        packed[static_cast<std::size_t>(y) * row_bytes + x] = static_cast<unsigned char>(v);
      } else {
        const int bit = x * bit_depth;
        const unsigned level = v * ((1u << bit_depth) - 1) / 255;
        packed[static_cast<std::size_t>(y) * row_bytes + bit / 8] |= static_cast<unsigned char>(level << (8 - bit_depth - bit % 8));
      }
    }
  int rc = spng_encode_image(ctx, packed.data(), packed.size(), SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
  if (rc) throw std::runtime_error(std::string("fixture: spng_encode_image: ") + spng_strerror(rc));
  std::size_t len = 0;
  int err = 0;
  auto* buf = static_cast<unsigned char*>(spng_get_png_buffer(ctx, &len, &err));
  std::vector<unsigned char> out(buf, buf + len);
  std::free(buf);
  spng_ctx_free(ctx);
  return out;
}

// A 105x105 1-bit drawing whose row 0 encodes `id`.
inline std::vector<unsigned char> drawing(std::uint32_t id) {
  std::vector<unsigned char> s(105 * 105, 255);
  for (int x = 0; x < 32; ++x)
    if ((id >> x) & 1u) s[static_cast<std::size_t>(x)] = 0;
  // A stroke so the drawing is not blank (rows 40..60, column 50).
  for (int y = 40; y < 60; ++y) s[static_cast<std::size_t>(y) * 105 + 50] = 0;
  return encode_png(105, 105, 0, 1, s);
}

// A 105x105 1-bit drawing a small network can tell apart after downsampling: a black 21x21 square at
// cell (c mod 5, c / 5) of a 5x5 grid for class c (c < 25), and for drawing d a 3-pixel dot whose place
// depends on d (the within-class variation of a real alphabet, in miniature).
inline std::vector<unsigned char> block_drawing(int c, int d) {
  std::vector<unsigned char> s(105 * 105, 255);
  const int x0 = (c % 5) * 21, y0 = (c / 5 % 5) * 21;
  for (int y = y0; y < y0 + 21; ++y)
    for (int x = x0; x < x0 + 21; ++x) s[static_cast<std::size_t>(y) * 105 + x] = 0;
  const int dx = (d * 37) % 100, dy = (d * 53) % 100;
  for (int k = 0; k < 3; ++k) s[static_cast<std::size_t>(dy) * 105 + dx + k] = 0;
  return encode_png(105, 105, 0, 1, s);
}

using Entries = std::vector<std::pair<std::string, std::vector<unsigned char>>>;

inline void write_zip(const std::filesystem::path& path, const Entries& entries) {
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (!z) throw std::runtime_error("fixture: cannot create " + path.string());
  for (const auto& [name, bytes] : entries) {
    zip_source_t* src = zip_source_buffer(z, bytes.data(), bytes.size(), 0);
    if (!src || zip_file_add(z, name.c_str(), src, ZIP_FL_OVERWRITE) < 0) throw std::runtime_error("fixture: zip_file_add " + name);
  }
  if (zip_close(z) != 0) throw std::runtime_error("fixture: zip_close " + path.string());
}

inline void write_folder(const std::filesystem::path& folder, const Entries& entries) {
  for (const auto& [name, bytes] : entries) {
    const auto p = folder / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
}

// Drawings d = 0..n-1 of one character, files "<prefix>_<dd>.png" in file-name order, ids base + d.
inline void add_character(Entries& e, const std::string& root, const std::string& alphabet, const std::string& character,
                          int n, std::uint32_t id_base) {
  for (int d = 0; d < n; ++d) {
    const std::string file = "0001_" + std::string(d + 1 < 10 ? "0" : "") + std::to_string(d + 1) + ".png";
    e.emplace_back(root + "/" + alphabet + "/" + character + "/" + file, drawing(id_base + static_cast<std::uint32_t>(d)));
  }
}

// An images_background.zip of `classes` block-drawing classes x 20 drawings in `folder`.
inline void write_block_dataset(const std::filesystem::path& folder, int classes) {
  Entries e;
  for (int c = 0; c < classes; ++c) {
    const std::string ch = std::string("character") + (c < 9 ? "0" : "") + std::to_string(c + 1);
    for (int d = 0; d < 20; ++d)
      e.emplace_back("images_background/Blocks/" + ch + "/0001_" + (d < 9 ? "0" : "") + std::to_string(d + 1) + ".png",
                     block_drawing(c, d));
  }
  std::filesystem::create_directories(folder);
  write_zip(folder / "images_background.zip", e);
}

// The id row 0 of a decoded 105x105 image encodes (pixels in [0,1], black = 0).
inline std::uint32_t decoded_id(const float* pixels) {
  std::uint32_t id = 0;
  for (int x = 0; x < 32; ++x)
    if (pixels[x] < 0.5f) id |= 1u << x;
  return id;
}

}  // namespace omniglot_fixture
