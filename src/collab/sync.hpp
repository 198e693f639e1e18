// y-protocols' messages as y-websocket speaks them: each a lib0 varuint
// message type, then its body. Sync (0): a step (1: a state vector, "what I
// have"; 2: the update the peer lacks; 3rd kind: an update) and its bytes.
// Awareness (1): an awareness update, per client a clock and a JSON state
// ("null" once it is gone). Auth (2): permission denied and a reason. Query
// awareness (3): no body. The server writes one message per WebSocket frame
// (y-websocket 3.0 clients read one) and reads any number from one frame.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::collab {

enum class MessageType : std::uint8_t { sync = 0, awareness = 1, auth = 2, query_awareness = 3 };
enum class SyncStep : std::uint8_t { step1 = 0, step2 = 1, update = 2 };

struct ProtocolMessage {
  MessageType type = MessageType::sync;
  SyncStep step = SyncStep::step1;  // sync only
  std::string_view body;            // the state vector, update or awareness update
};

// Reads every message of a frame; unknown message types and malformed
// bytes are Error(bad_request).
std::vector<ProtocolMessage> read_messages(std::string_view frame);
std::vector<ProtocolMessage> read_messages(std::string&&) = delete;  // bodies view the frame

std::string sync_step1(std::string_view state_vector);
std::string sync_step2(std::string_view update);
std::string sync_update(std::string_view update);
std::string awareness_message(std::string_view awareness_update);
std::string auth_denied(std::string_view reason);

struct AwarenessEntry {
  std::uint64_t client = 0;
  std::uint64_t clock = 0;
  std::string_view state;  // JSON text; "null" when the client left
};

std::vector<AwarenessEntry> read_awareness(std::string_view awareness_update);
std::vector<AwarenessEntry> read_awareness(std::string&&) = delete;
// An awareness update carrying these entries (a late joiner's view of who
// is there).
std::string encode_awareness(const std::vector<AwarenessEntry>& entries);
// An awareness update that removes these clients for everyone (their clock
// one past what was last seen, state null), as y-protocols'
// removeAwarenessStates does.
std::string awareness_removal(const std::vector<std::pair<std::uint64_t, std::uint64_t>>& clients);

}  // namespace parley::collab
