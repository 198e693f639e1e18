// libFuzzer target: the Yjs update decoder, encoder and state vector
// (src/collab/yupdate.*). Hostile bytes are refused with Error, never a crash
// or an allocation beyond the input's size; whatever decodes re-encodes to
// bytes that decode again, and re-encoding settles after one round; merges
// and diffs of it decode too, and so does its garbage-collected form, which
// keeps its state vector and is stable on a normalised update.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "collab/gc.hpp"
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
    // One re-encoding may still change: an item with a map key written from
    // an offset keeps the key's bit, which reading it with its new origin
    // drops (Yjs's writeStruct and readItem do the same). After that, stable.
    std::string thrice =
        parley::collab::encode_update(parley::collab::decode_update(std::string_view(twice)));
    if (thrice != twice) std::abort();
    // Merging an update with its own re-encoding, and diffing it against
    // its own state vector, must work on anything that decodes.
    std::string_view both[] = {bytes, once};
    std::string merged = parley::collab::merge_updates(both);
    parley::collab::decode_update(merged);
    std::string sv = parley::collab::state_vector_of_update(bytes);
    std::string diff = parley::collab::diff_update(bytes, sv);
    parley::collab::decode_update(diff);
    std::string collected = parley::collab::collect_garbage(merged);
    parley::collab::decode_update(collected);
    // On a normalised update (one run per client, nothing overlapping: what
    // a document holds), collecting keeps every clock and is stable; hostile
    // runs that overlap are only required not to crash.
    std::string normal =
        parley::collab::encode_update(parley::collab::decode_update(std::string_view(merged)));
    if (normal == merged) {
      if (parley::collab::state_vector_of_update(collected) !=
          parley::collab::state_vector_of_update(merged)) {
        std::abort();
      }
      if (parley::collab::collect_garbage(collected) != collected) std::abort();
    }
  } catch (const parley::Error&) {
  }
  return 0;
}
