// JSON shapes of domain objects in the REST API (see docs/openapi.yaml).
// Ids are decimal strings; times are UTC milliseconds.
#pragma once

#include <boost/json/object.hpp>

#include "auth/auth_service.hpp"
#include "chat/chat_service.hpp"
#include "store/types.hpp"

namespace parley::http {

boost::json::object user_json(const store::User& u);
boost::json::object session_json(const auth::Session& s);
boost::json::object message_json(const store::Message& m);
// The optional "mentions" member of a send: {user_ids: [id strings], here,
// all}; throws Error(bad_request) for anything else. The count limit is the
// service's (limits.max_mentions); max_items bounds what is parsed.
store::Mentions mentions_from_json(const boost::json::object& body, std::size_t max_items);
inline constexpr std::size_t kMaxMentionItems = 1000;  // limits.max_mentions' ceiling
// The optional "poll" member of a send: {options: [text], max_votes,
// anonymous, open_options, closes_at}; the service checks the values.
std::optional<chat::PollInput> poll_from_json(const boost::json::object& body);
// A poll's state; me: with the viewer's own votes (REST), not in events.
boost::json::object poll_json(const store::Poll& p, bool me);
// A search hit's snippet: the body around the first match (at most about
// 160 bytes, cut on character boundaries), as parts with the matches marked.
boost::json::array snippet_json(std::string_view body, const std::vector<std::string>& terms);
// The "thread" member of a root message that has replies.
boost::json::object thread_json(const store::ThreadSummary& t);
boost::json::object conversation_json(const store::Conversation& c);
boost::json::object conversation_view_json(const chat::ConversationView& v);
boost::json::object summary_json(const store::ConversationSummary& s);
boost::json::object member_json(const store::Member& m);
boost::json::object member_view_json(const chat::MemberView& m);

}  // namespace parley::http
