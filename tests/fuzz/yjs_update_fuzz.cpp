// libFuzzer target: the Yjs update decoder, encoder and state vector
// (src/collab/yupdate.*). Hostile bytes are refused with Error, never a crash
// or an allocation beyond the input's size; whatever decodes re-encodes to
// bytes that decode again, and re-encoding those changes nothing; merges
// and diffs of it decode too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "collab/yupdate.hpp"
#include "core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    auto update = parley::collab::decode_update(bytes);
    parley::collab::state_vector_of_update(bytes);
    std::string once = parley::collab::encode_update(update);
    std::string twice =
        parley::collab::encode_update(parley::collab::decode_update(std::string_view(once)));
    if (twice != once) std::abort();
    // Merging an update with its own re-encoding, and diffing it against
    // its own state vector, must work on anything that decodes.
    std::string_view both[] = {bytes, once};
    std::string merged = parley::collab::merge_updates(both);
    parley::collab::decode_update(merged);
    std::string sv = parley::collab::state_vector_of_update(bytes);
    std::string diff = parley::collab::diff_update(bytes, sv);
    parley::collab::decode_update(diff);
  } catch (const parley::Error&) {
  }
  return 0;
}
