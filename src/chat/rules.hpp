// The membership rules ChatService's parts share (chat_service.cpp, polls.cpp).
#pragma once

#include <string>
#include <string_view>

#include "store/store.hpp"

namespace parley {
struct Config;
}

namespace parley::chat {

// The actor's membership; not_found for a conversation the actor may not
// see, forbidden for a channel not joined.
store::Member require_member(store::Store& s, Id actor, Id conversation_id);
bool is_manager(const store::Member& m);  // owner or admin

struct PollInput;
// The poll as sent (messages.poll, JSON), after checking it: Error
// bad_request for too few or many options, empty, long or repeated ones,
// max_votes out of range, a closing time in the past.
std::string make_poll_spec(const Config& cfg, std::string_view question, const PollInput& in,
                           std::int64_t now);
// The poll rows of message m, from its spec.
store::Poll poll_from_spec(const store::Message& m);

}  // namespace parley::chat
