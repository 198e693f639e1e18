#include "cluster/broker.hpp"

#include <charconv>

namespace parley::cluster {

namespace {

template <class T>
bool take(std::string_view& s, T& out, char sep) {
  auto end = s.find(sep);
  if (end == std::string_view::npos) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + end, out);
  if (ec != std::errc() || p != s.data() + end) return false;
  s.remove_prefix(end + 1);
  return true;
}

}  // namespace

std::string encode(const ClusterEvent& e) {
  std::string out;
  out.reserve(e.json.size() + 96);
  out += static_cast<char>(e.kind);
  for (std::int64_t v :
       {static_cast<std::int64_t>(e.origin), e.conv, e.seq, e.left_user, e.user, e.family}) {
    out += '|';
    out += std::to_string(v);
  }
  out += '\n';
  out += e.json;
  return out;
}

std::optional<ClusterEvent> decode(std::string_view wire) {
  if (wire.size() < 2 || wire[1] != '|') return std::nullopt;
  ClusterEvent e;
  switch (wire[0]) {
    case 'E':
      e.kind = ClusterEvent::Kind::event;
      break;
    case 'R':
      e.kind = ClusterEvent::Kind::revoke;
      break;
    case 'S':
      e.kind = ClusterEvent::Kind::resync;
      break;
    case 'U':
      e.kind = ClusterEvent::Kind::user;
      break;
    case 'C':
      e.kind = ClusterEvent::Kind::collab;
      break;
    case 'A':
      e.kind = ClusterEvent::Kind::collab_access;
      break;
    default:
      return std::nullopt;
  }
  wire.remove_prefix(2);
  if (!take(wire, e.origin, '|') || !take(wire, e.conv, '|') || !take(wire, e.seq, '|') ||
      !take(wire, e.left_user, '|') || !take(wire, e.user, '|') || !take(wire, e.family, '\n')) {
    return std::nullopt;
  }
  e.json = std::string(wire);
  return e;
}

}  // namespace parley::cluster
