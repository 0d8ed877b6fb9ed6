#pragma once
// The Omniglot drawings (PAPER-SPEC §5.3, Q14), read straight from the official zips or their extracted
// folders, held once per process as 1-bit images and shared by every pool of every point.
//
// Sources under one folder (docs/omniglot.md): images_background.zip, images_evaluation.zip and the
// subsets images_background_small1.zip / _small2.zip, or folders of the same names; inside each the
// layout <root>/<alphabet>/<character>/<file>.png with 105x105 grayscale PNGs.
//
// Class ids: background before evaluation, then alphabet, character name, in byte order; a class's
// drawings in file-name order. A character present in several sources (the two small subsets overlap
// in Greek and Latin; a subset is part of images_background) is one class, and a drawing (same file
// name) present twice is one drawing. With the two official zips this gives 964 background classes
// (ids 0..963) then 659 evaluation classes (964..1622), 20 drawings each.
//
//   auto images = OmniglotImages::shared("/data/omniglot");   // loads once per process
//   images->decode(c, 0, side, pixels);                         // first drawing of class c, value/255
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace icl {

struct OmniglotClass {
  std::string set;        // "background" or "evaluation"
  std::string alphabet;   // "Greek"
  std::string character;  // "character01"
  int first_drawing = 0;  // index of its first drawing in the image store
  int num_drawings = 0;
  std::string first_file; // where drawing 0 came from ("<source>: <entry>"), for messages
};

class OmniglotImages {
 public:
  static constexpr int kSide = 105;
  static constexpr int kPixels = kSide * kSide;

  // Reads and decodes every drawing under `folder`. Throws InputError naming the file and the fix for
  // a missing folder, no source in it, an unreadable zip, a zip or folder without the layout above, a
  // corrupt or truncated PNG, an image that is not 105x105 grayscale or not black-and-white.
  static std::shared_ptr<const OmniglotImages> load(const std::string& folder);
  // The process-wide copy for `folder` (by canonical path), loaded on first use.
  static std::shared_ptr<const OmniglotImages> shared(const std::string& folder);

  int num_classes() const { return static_cast<int>(classes_.size()); }
  const OmniglotClass& info(int c) const { return classes_[static_cast<std::size_t>(c)]; }
  int num_drawings(int c) const { return info(c).num_drawings; }
  int total_drawings() const { return num_images_; }
  int min_drawings() const;  // fewest drawings of any class
  // The files read, in reading order, and the folder.
  const std::vector<std::string>& sources() const { return sources_; }
  const std::string& folder() const { return folder_; }

  // Pixel p (row-major) of drawing d of class c: true = white (value 1), false = stroke (value 0).
  bool pixel(int c, int d, int p) const {
    const std::uint64_t bit = static_cast<std::uint64_t>(image_index(c, d)) * kPixels + static_cast<std::uint64_t>(p);
    return (bits_[bit >> 6] >> (bit & 63)) & 1u;
  }
  // Drawing d of class c as side x side floats in [0, 1]: value/255 at side = 105, area downsampling
  // (each output pixel the mean of the input area it covers, fractional pixels weighted) otherwise.
  void decode(int c, int d, int side, float* out) const;
  // decode(c, 0, side) from a table of drawing 0 of every class, built on first use per side < 105 and
  // shared by every pool of the process (bit-identical to decode). Training and the 18 evaluation splits
  // show only drawing 0, and downsampling it again per position cost 2/3 of a 28-px training step.
  // At 105 px it decodes directly (unpacking bits is cheap; a table would hold 71 MB).
  const float* first_drawing(int c, int side, float* scratch) const;
  std::size_t memory_bytes() const;
  // What a point's results depend on in this data, as text stored in results files ("242 classes, 4840
  // drawings, xxh64 0123456789abcdef"): the class list (set/alphabet/character, drawings per class) and
  // every pixel, hashed. The same drawings read from the zips or from extracted folders give the same text.
  const std::string& fingerprint() const { return fingerprint_; }

 private:
  int image_index(int c, int d) const { return classes_[static_cast<std::size_t>(c)].first_drawing + d; }
  std::string folder_;
  std::vector<std::string> sources_;
  std::vector<OmniglotClass> classes_;
  int num_images_ = 0;
  std::string fingerprint_;
  std::vector<std::uint64_t> bits_;  // num_images * 105 * 105 bits, image-major, row-major pixels
  mutable std::mutex first_mutex_;
  mutable std::map<int, std::vector<float>> first_by_side_;  // side -> (C, side * side); entries never move
};

// The folder omniglot.path = "" means: $XDG_DATA_HOME/iclsweep/omniglot, else ~/.local/share/iclsweep/omniglot.
std::string omniglot_default_folder();
std::string resolve_omniglot_folder(const std::string& configured);

// The (side x 105) area-downsampling weights: row u holds the fraction of output pixel u covered by
// input pixel i, divided by the output pixel's width, so each row sums to 1.
std::vector<float> area_weights(int side);

}  // namespace icl
