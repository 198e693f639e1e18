#include "collab/sync.hpp"

#include "collab/lib0.hpp"
#include "core/error.hpp"

namespace parley::collab {

std::vector<ProtocolMessage> read_messages(std::string_view frame) {
  Lib0Reader r(frame);
  std::vector<ProtocolMessage> out;
  if (r.done()) fail(Errc::bad_request, "y-protocols: an empty frame");
  while (!r.done()) {
    ProtocolMessage m;
    std::uint64_t type = r.var_uint();
    switch (type) {
      case 0: {
        std::uint64_t step = r.var_uint();
        if (step > 2) fail(Errc::bad_request, "y-protocols: unknown sync step");
        m.step = static_cast<SyncStep>(step);
        m.body = r.var_bytes();
        break;
      }
      case 1:
        m.body = r.var_bytes();
        break;
      case 2:
        // Permission (0: denied) and a reason; the server ignores a client's.
        r.var_uint();
        m.body = r.var_string();
        break;
      case 3:
        break;
      default:
        fail(Errc::bad_request, "y-protocols: unknown message type");
    }
    m.type = static_cast<MessageType>(type);
    out.push_back(m);
  }
  return out;
}

namespace {

std::string sync_message(SyncStep step, std::string_view body) {
  Lib0Writer w;
  w.var_uint(static_cast<std::uint8_t>(MessageType::sync));
  w.var_uint(static_cast<std::uint8_t>(step));
  w.var_bytes(body);
  return w.take();
}

}  // namespace

std::string sync_step1(std::string_view state_vector) {
  return sync_message(SyncStep::step1, state_vector);
}
std::string sync_step2(std::string_view update) { return sync_message(SyncStep::step2, update); }
std::string sync_update(std::string_view update) { return sync_message(SyncStep::update, update); }

std::string awareness_message(std::string_view awareness_update) {
  Lib0Writer w;
  w.var_uint(static_cast<std::uint8_t>(MessageType::awareness));
  w.var_bytes(awareness_update);
  return w.take();
}

std::string auth_denied(std::string_view reason) {
  Lib0Writer w;
  w.var_uint(static_cast<std::uint8_t>(MessageType::auth));
  w.var_uint(0);
  w.var_string(reason);
  return w.take();
}

std::vector<AwarenessEntry> read_awareness(std::string_view awareness_update) {
  Lib0Reader r(awareness_update);
  std::uint64_t n = r.var_uint();
  if (n > r.remaining() / 3) fail(Errc::bad_request, "awareness: more entries than bytes");
  std::vector<AwarenessEntry> out;
  out.reserve(static_cast<std::size_t>(n));
  for (std::uint64_t i = 0; i < n; ++i) {
    AwarenessEntry e;
    e.client = r.var_uint();
    e.clock = r.var_uint();
    e.state = r.var_string();
    out.push_back(e);
  }
  if (!r.done()) fail(Errc::bad_request, "awareness: bytes after the last entry");
  return out;
}

std::string encode_awareness(const std::vector<AwarenessEntry>& entries) {
  Lib0Writer w;
  w.var_uint(entries.size());
  for (const auto& e : entries) {
    w.var_uint(e.client);
    w.var_uint(e.clock);
    w.var_string(e.state);
  }
  return w.take();
}

std::string awareness_removal(const std::vector<std::pair<std::uint64_t, std::uint64_t>>& clients) {
  Lib0Writer w;
  w.var_uint(clients.size());
  for (const auto& [client, clock] : clients) {
    w.var_uint(client);
    w.var_uint(clock + 1);
    w.var_string("null");
  }
  return w.take();
}

}  // namespace parley::collab
