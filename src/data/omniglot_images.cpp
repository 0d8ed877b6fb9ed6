#include "iclsweep/data/omniglot_images.hpp"

#include <xxhash.h>

#include <spng.h>
#include <zip.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "iclsweep/core/error.hpp"
#include "iclsweep/core/quote.hpp"

namespace icl {
namespace fs = std::filesystem;
namespace {

// A path or file name in a message: names inside a user's folder may hold any bytes (escaped) and be long.
std::string shown(const std::string& path) { return printable(path, 200); }

const char* const kFix = "download the official zips with `scripts/get-omniglot DIR` and set omniglot.path = DIR";

// The roots a folder may hold, in reading order: a drawing found twice is kept from the first source.
struct Root {
  const char* name;
  const char* set;
};
constexpr Root kRoots[] = {
    {"images_background", "background"},
    {"images_evaluation", "evaluation"},
    {"images_background_small1", "background"},
    {"images_background_small2", "background"},
};

struct Drawing {
  std::string set, alphabet, character, file;  // sort key
  int source = 0;                              // index into sources
  std::int64_t zip_index = -1;                 // entry in the source zip, or -1: a file on disk
  std::string entry;                           // entry name or path, for messages
};

// RAII for libzip and libspng handles.
struct ZipArchive {
  zip_t* z = nullptr;
  ~ZipArchive() {
    if (z) zip_discard(z);
  }
};
struct SpngContext {
  spng_ctx* ctx = spng_ctx_new(0);
  ~SpngContext() { spng_ctx_free(ctx); }
};

std::vector<std::string> split_path(const std::string& s) {
  std::vector<std::string> parts;
  std::string cur;
  for (char ch : s) {
    if (ch == '/') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  parts.push_back(cur);
  return parts;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Entries that are not drawings and may sit in a hand-made zip or folder: directories, macOS
// metadata, hidden files, anything that is not a .png.
bool ignorable(const std::vector<std::string>& parts) {
  if (parts.empty() || parts.back().empty()) return true;  // a directory entry
  for (const auto& p : parts) {
    if (p == "." || p == "..") continue;  // not hidden: a path out of place, which the layout check names
    if (p == "__MACOSX" || (!p.empty() && p[0] == '.')) return true;
  }
  std::string last = parts.back();
  std::transform(last.begin(), last.end(), last.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return !ends_with(last, ".png");
}

// Adds the drawing at relative path `rel` (root/alphabet/character/file.png) or throws a layout error.
void add_drawing(const std::string& source_name, const Root& root, const std::string& rel, int source, std::int64_t zip_index,
                 const std::string& entry, std::vector<Drawing>& out) {
  const auto parts = split_path(rel);
  if (ignorable(parts)) return;
  if (parts.size() != 4 || parts[0] != root.name || parts[1].empty() || parts[2].empty())
    throw InputError("omniglot: " + shown(source_name) + ": " + quote(rel, 200) + " is not at " + root.name +
                     "/<alphabet>/<character>/<file>.png, the layout of the official Omniglot zips; " + kFix);
  out.push_back(Drawing{root.set, parts[1], parts[2], parts[3], source, zip_index, entry});
}

void scan_zip(const std::string& path, const Root& root, int source, std::vector<Drawing>& out) {
  int err = 0;
  ZipArchive zip;
  zip.z = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
  if (!zip.z) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, err);
    const std::string why = zip_error_strerror(&ze);
    zip_error_fini(&ze);
    throw InputError("omniglot: " + shown(path) + ": not a readable zip (" + why + "); the file is damaged or truncated: " + kFix);
  }
  const std::size_t before = out.size();
  const zip_int64_t n = zip_get_num_entries(zip.z, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* name = zip_get_name(zip.z, static_cast<zip_uint64_t>(i), 0);
    if (!name) continue;
    add_drawing(path, root, name, source, i, name, out);
  }
  if (out.size() == before)
    throw InputError("omniglot: " + shown(path) + ": holds no drawing at " + root.name +
                     "/<alphabet>/<character>/<file>.png; it is not an Omniglot zip: " + kFix);
}

void scan_folder(const fs::path& dir, const Root& root, int source, std::vector<Drawing>& out) {
  const std::size_t before = out.size();
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it)
    if (it->is_regular_file()) files.push_back(it->path());
  for (const auto& f : files) {
    const std::string rel = std::string(root.name) + "/" + fs::relative(f, dir).generic_string();
    add_drawing(dir.string(), root, rel, source, -1, f.string(), out);
  }
  if (out.size() == before)
    throw InputError("omniglot: " + shown(dir.string()) + ": holds no drawing at <alphabet>/<character>/<file>.png: " + kFix);
}

std::vector<unsigned char> read_bytes(const std::vector<std::string>& sources, const Drawing& d, std::map<int, ZipArchive>& zips) {
  std::vector<unsigned char> buf;
  if (d.zip_index < 0) {
    std::ifstream in(d.entry, std::ios::binary);
    if (!in) throw InputError("omniglot: " + shown(d.entry) + ": cannot be read");
    buf.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return buf;
  }
  auto& zip = zips[d.source];
  const std::string& path = sources[static_cast<std::size_t>(d.source)];
  if (!zip.z) {
    int err = 0;
    zip.z = zip_open(path.c_str(), ZIP_RDONLY, &err);
    if (!zip.z) throw InputError("omniglot: " + shown(path) + ": cannot be reopened: " + kFix);
  }
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(zip.z, static_cast<zip_uint64_t>(d.zip_index), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
    throw InputError("omniglot: " + shown(path) + ": " + shown(d.entry) + ": unreadable entry: " + kFix);
  if (st.size > (std::uint64_t{1} << 24))
    throw InputError("omniglot: " + shown(path) + ": " + shown(d.entry) + ": " + std::to_string(st.size) +
                     " bytes is far too large for a 105x105 drawing: " + kFix);
  buf.resize(static_cast<std::size_t>(st.size));
  zip_file_t* f = zip_fopen_index(zip.z, static_cast<zip_uint64_t>(d.zip_index), 0);
  if (!f) throw InputError("omniglot: " + shown(path) + ": " + shown(d.entry) + ": cannot be opened (" + zip_strerror(zip.z) + "): " + kFix);
  const zip_int64_t got = zip_fread(f, buf.data(), buf.size());
  const std::string why = got < 0 ? zip_file_strerror(f) : "";
  zip_fclose(f);
  if (got != static_cast<zip_int64_t>(buf.size()))
    throw InputError("omniglot: " + shown(path) + ": " + shown(d.entry) + ": truncated or corrupt entry" + (why.empty() ? "" : " (" + why + ")") +
                     ": " + kFix);
  return buf;
}

// Decodes one PNG into 105*105 bits starting at bit `offset` of `bits` (1 = white).
void decode_png(const std::string& where, const std::vector<unsigned char>& png, std::vector<std::uint64_t>& bits, std::uint64_t offset) {
  SpngContext s;
  if (!s.ctx) throw Error("omniglot: out of memory creating a PNG decoder");
  auto fail = [&](const std::string& what) {
    return InputError("omniglot: " + shown(where) + ": " + what + "; Omniglot drawings are 105x105 grayscale PNGs: " + kFix);
  };
  int rc = spng_set_png_buffer(s.ctx, png.data(), png.size());
  spng_ihdr ihdr{};
  if (rc == 0) rc = spng_get_ihdr(s.ctx, &ihdr);
  if (rc != 0) throw fail(std::string("not a valid PNG (") + spng_strerror(rc) + ")");
  if (ihdr.width != OmniglotImages::kSide || ihdr.height != OmniglotImages::kSide || ihdr.color_type != SPNG_COLOR_TYPE_GRAYSCALE ||
      ihdr.bit_depth > 8) {
    static const char* const kTypes[] = {"grayscale", "?", "RGB", "palette", "grayscale+alpha", "?", "RGBA"};
    const char* type = ihdr.color_type <= 6 ? kTypes[ihdr.color_type] : "?";
    throw fail("is " + std::to_string(ihdr.width) + "x" + std::to_string(ihdr.height) + " " + type + " with " +
               std::to_string(ihdr.bit_depth) + "-bit samples");
  }
  std::vector<unsigned char> gray(OmniglotImages::kPixels);
  rc = spng_decode_image(s.ctx, gray.data(), gray.size(), SPNG_FMT_G8, 0);
  if (rc != 0) throw fail(std::string("corrupt or truncated PNG (") + spng_strerror(rc) + ")");
  for (int p = 0; p < OmniglotImages::kPixels; ++p) {
    const unsigned char v = gray[static_cast<std::size_t>(p)];
    if (v != 0 && v != 255)
      throw fail("has gray level " + std::to_string(v) + " at pixel " + std::to_string(p) +
                 " (the store holds black-and-white drawings: 0 or 255)");
    if (v) {
      const std::uint64_t bit = offset + static_cast<std::uint64_t>(p);
      bits[bit >> 6] |= std::uint64_t{1} << (bit & 63);
    }
  }
}

}  // namespace

std::string omniglot_default_folder() {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg && *xdg) return (fs::path(xdg) / "iclsweep" / "omniglot").string();
  const char* home = std::getenv("HOME");
  return (fs::path(home && *home ? home : ".") / ".local" / "share" / "iclsweep" / "omniglot").string();
}

std::string resolve_omniglot_folder(const std::string& configured) {
  return configured.empty() ? omniglot_default_folder() : configured;
}

int OmniglotImages::min_drawings() const {
  int m = 0;
  for (std::size_t c = 0; c < classes_.size(); ++c) m = c == 0 ? classes_[c].num_drawings : std::min(m, classes_[c].num_drawings);
  return m;
}

std::shared_ptr<const OmniglotImages> OmniglotImages::load(const std::string& folder_in) {
  const std::string folder = resolve_omniglot_folder(folder_in);
  std::error_code ec;
  if (!fs::is_directory(folder, ec))
    throw InputError("omniglot: the data folder " + shown(folder) + " (omniglot.path) does not exist or is not a folder: " + kFix);
  auto images = std::make_shared<OmniglotImages>();
  images->folder_ = folder;

  std::vector<Drawing> drawings;
  for (const auto& root : kRoots) {
    const fs::path zip = fs::path(folder) / (std::string(root.name) + ".zip");
    const fs::path dir = fs::path(folder) / root.name;
    if (fs::is_regular_file(zip, ec)) {
      images->sources_.push_back(zip.string());
      scan_zip(zip.string(), root, static_cast<int>(images->sources_.size()) - 1, drawings);
    } else if (fs::is_directory(dir, ec)) {
      images->sources_.push_back(dir.string());
      scan_folder(dir, root, static_cast<int>(images->sources_.size()) - 1, drawings);
    }
  }
  if (drawings.empty())
    throw InputError("omniglot: the data folder " + shown(folder) +
                     " (omniglot.path) holds none of images_background.zip, images_evaluation.zip, images_background_small1.zip, "
                     "images_background_small2.zip (nor folders of those names): " + kFix);

  // Q14: sorted order; background < evaluation happens to be byte order too. stable_sort keeps the
  // first source's copy first among duplicates.
  std::stable_sort(drawings.begin(), drawings.end(), [](const Drawing& a, const Drawing& b) {
    if (a.set != b.set) return a.set < b.set;
    if (a.alphabet != b.alphabet) return a.alphabet < b.alphabet;
    if (a.character != b.character) return a.character < b.character;
    return a.file < b.file;
  });
  std::vector<Drawing> unique;
  unique.reserve(drawings.size());
  for (auto& d : drawings) {
    if (!unique.empty()) {
      const auto& u = unique.back();
      if (u.set == d.set && u.alphabet == d.alphabet && u.character == d.character && u.file == d.file) continue;
    }
    unique.push_back(std::move(d));
  }

  images->num_images_ = static_cast<int>(unique.size());
  images->bits_.assign((static_cast<std::uint64_t>(unique.size()) * kPixels + 63) / 64, 0);
  std::map<int, ZipArchive> zips;
  const auto start = std::chrono::steady_clock::now();
  auto last_report = start;
  for (std::size_t i = 0; i < unique.size(); ++i) {
    const Drawing& d = unique[i];
    const std::string where = images->sources_[static_cast<std::size_t>(d.source)] + (d.zip_index >= 0 ? ": " + d.entry : "");
    const std::string& src_where = d.zip_index >= 0 ? where : d.entry;
    decode_png(src_where, read_bytes(images->sources_, d, zips), images->bits_, static_cast<std::uint64_t>(i) * kPixels);
    if (images->classes_.empty() || images->classes_.back().set != d.set || images->classes_.back().alphabet != d.alphabet ||
        images->classes_.back().character != d.character)
      images->classes_.push_back(OmniglotClass{d.set, d.alphabet, d.character, static_cast<int>(i), 0, src_where});
    ++images->classes_.back().num_drawings;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_report > std::chrono::seconds(2)) {  // the full set takes a few seconds
      last_report = now;
      const double secs = std::chrono::duration<double>(now - start).count();
      std::fprintf(stderr, "omniglot: decoded %zu/%zu drawings (%.0f/s, ETA %.0f s)\n", i + 1, unique.size(), (i + 1) / secs,
                   (unique.size() - i - 1) / ((i + 1) / secs));
    }
  }
  {
    XXH64_state_t* h = XXH64_createState();
    XXH64_reset(h, 0);
    for (const auto& c : images->classes_) {
      const std::string key = c.set + '\0' + c.alphabet + '\0' + c.character + '\0' + std::to_string(c.num_drawings) + '\n';
      XXH64_update(h, key.data(), key.size());
    }
    XXH64_update(h, images->bits_.data(), images->bits_.size() * sizeof(std::uint64_t));
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH64_digest(h)));
    XXH64_freeState(h);
    images->fingerprint_ = std::to_string(images->classes_.size()) + " classes, " + std::to_string(images->num_images_) +
                           " drawings, xxh64 " + hex;
  }
  return images;
}

std::shared_ptr<const OmniglotImages> OmniglotImages::shared(const std::string& folder_in) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const OmniglotImages>> cache;
  const std::string folder = resolve_omniglot_folder(folder_in);
  std::error_code ec;
  const fs::path canonical = fs::weakly_canonical(folder, ec);
  const std::string key = ec ? folder : canonical.string();
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  auto images = load(folder);
  cache[key] = images;
  return images;
}

std::vector<float> area_weights(int side) {
  const int in = OmniglotImages::kSide;
  std::vector<float> w(static_cast<std::size_t>(side) * in, 0.0f);
  const double scale = static_cast<double>(in) / side;  // input pixels per output pixel
  for (int u = 0; u < side; ++u) {
    const double lo = u * scale, hi = (u + 1) * scale;
    for (int i = static_cast<int>(lo); i < in && i < hi; ++i) {
      const double overlap = std::min(hi, i + 1.0) - std::max(lo, static_cast<double>(i));
      if (overlap > 0) w[static_cast<std::size_t>(u) * in + i] = static_cast<float>(overlap / scale);
    }
  }
  return w;
}

void OmniglotImages::decode(int c, int d, int side, float* out) const {
  if (c < 0 || c >= num_classes() || d < 0 || d >= num_drawings(c))
    throw Error("internal: omniglot drawing (" + std::to_string(c) + ", " + std::to_string(d) + ") does not exist");
  if (side == kSide) {
    for (int p = 0; p < kPixels; ++p) out[p] = pixel(c, d, p) ? 1.0f : 0.0f;
    return;
  }
  // Separable area filter: rows first into (side, 105), then columns. (Skipping the zero weights of the
  // column pass too would be cheaper, but the compiler then contracts the sum differently and the images
  // change in the last bit; drawing 0, which training shows, comes from first_drawing's table anyway.)
  thread_local int cached_side = 0;
  thread_local std::vector<float> w;
  thread_local std::vector<float> full(kPixels), rows;
  if (cached_side != side) {
    w = area_weights(side);
    cached_side = side;
  }
  for (int p = 0; p < kPixels; ++p) full[static_cast<std::size_t>(p)] = pixel(c, d, p) ? 1.0f : 0.0f;
  rows.assign(static_cast<std::size_t>(side) * kSide, 0.0f);
  for (int u = 0; u < side; ++u)
    for (int i = 0; i < kSide; ++i) {
      const float wi = w[static_cast<std::size_t>(u) * kSide + i];
      if (wi == 0.0f) continue;
      for (int x = 0; x < kSide; ++x) rows[static_cast<std::size_t>(u) * kSide + x] += wi * full[static_cast<std::size_t>(i) * kSide + x];
    }
  for (int u = 0; u < side; ++u)
    for (int v = 0; v < side; ++v) {
      float acc = 0.0f;
      for (int x = 0; x < kSide; ++x) acc += w[static_cast<std::size_t>(v) * kSide + x] * rows[static_cast<std::size_t>(u) * kSide + x];
      out[u * side + v] = acc;
    }
}

const float* OmniglotImages::first_drawing(int c, int side, float* scratch) const {
  if (side == kSide) {
    decode(c, 0, side, scratch);
    return scratch;
  }
  const std::size_t D = static_cast<std::size_t>(side) * side;
  std::lock_guard<std::mutex> lock(first_mutex_);
  auto it = first_by_side_.find(side);
  if (it == first_by_side_.end()) {
    std::vector<float> table(static_cast<std::size_t>(num_classes()) * D);
    for (int k = 0; k < num_classes(); ++k) decode(k, 0, side, table.data() + static_cast<std::size_t>(k) * D);
    it = first_by_side_.emplace(side, std::move(table)).first;
  }
  if (c < 0 || c >= num_classes()) throw Error("internal: omniglot class " + std::to_string(c) + " does not exist");
  return it->second.data() + static_cast<std::size_t>(c) * D;
}

std::size_t OmniglotImages::memory_bytes() const {
  std::size_t bytes = bits_.capacity() * sizeof(std::uint64_t) + sizeof(*this);
  std::lock_guard<std::mutex> lock(first_mutex_);
  for (const auto& [side, table] : first_by_side_) bytes += table.capacity() * sizeof(float);
  return bytes;
}

}  // namespace icl
