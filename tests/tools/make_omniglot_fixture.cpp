// make_omniglot_fixture DIR [CLASSES]: writes DIR/images_background.zip with CLASSES (default 6, at
// most 25) block-drawing classes x 20 drawings in the official layout, for the MPI and CLI tests.
#include <cstdio>
#include <cstdlib>

#include "../unit/omniglot_fixture.hpp"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: make_omniglot_fixture DIR [CLASSES]\n");
    return 2;
  }
  const int classes = argc == 3 ? std::atoi(argv[2]) : 6;
  if (classes < 1 || classes > 25) {
    std::fprintf(stderr, "make_omniglot_fixture: CLASSES must lie in 1..25\n");
    return 2;
  }
  omniglot_fixture::write_block_dataset(argv[1], classes);
  return 0;
}
