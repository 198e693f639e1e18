#include "http/views.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <cctype>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/json.hpp"

namespace parley::http {

namespace bj = boost::json;

bj::object user_json(const store::User& u) {
  return {{"id", id_to_string(u.id)},
          {"username", u.username},
          {"display_name", u.display_name},
          {"role", u.role},
          {"created_at", u.created_at}};
}

bj::object session_json(const auth::Session& s) {
  return {{"user", user_json(s.user)},        {"access_token", s.access_token},
          {"token_type", "Bearer"},           {"expires_in", s.access_expires_in},
          {"refresh_token", s.refresh_token}, {"refresh_expires_in", s.refresh_expires_in}};
}

bj::object message_json(const store::Message& m) {
  bj::object o{{"id", id_to_string(m.id)},
               {"conversation_id", id_to_string(m.conversation_id)},
               {"seq", m.seq},
               {"sender_id", id_to_string(m.sender_id)},
               {"client_id", m.client_id},
               {"body", m.body},
               {"created_at", m.created_at},
               {"deleted", m.deleted_at != 0}};
  o["edited_at"] = m.edited_at ? bj::value(m.edited_at) : bj::value(nullptr);
  o["deleted_at"] = m.deleted_at ? bj::value(m.deleted_at) : bj::value(nullptr);
  if (m.reply_to) {
    o["reply_to"] = m.reply_to;
    o["broadcast"] = m.broadcast;
  }
  if (!m.poll.empty()) {
    boost::system::error_code ec;
    auto spec = bj::parse(m.poll, ec);
    if (!ec) o["poll"] = std::move(spec);
  }
  if (!m.mentions.empty()) {
    bj::array ids;
    for (Id u : m.mentions.user_ids) ids.push_back(bj::value(id_to_string(u)));
    o["mentions"] = bj::object{
        {"user_ids", std::move(ids)}, {"here", m.mentions.here}, {"all", m.mentions.all}};
  }
  return o;
}

store::Mentions mentions_from_json(const bj::object& body, std::size_t max_items) {
  store::Mentions m;
  auto it = body.find("mentions");
  if (it == body.end() || it->value().is_null()) return m;
  if (!it->value().is_object()) {
    fail(Errc::bad_request, "'mentions' must be an object: {user_ids, here, all}");
  }
  const auto& o = it->value().get_object();
  if (const auto* ids = json::optional_array(o, "user_ids", max_items)) {
    for (const auto& v : *ids) {
      auto id = v.is_string() ? parse_id(v.get_string()) : std::nullopt;
      if (!id) fail(Errc::bad_request, "'mentions.user_ids' must hold user ids (strings)");
      m.user_ids.push_back(*id);
    }
  }
  m.here = json::optional_bool(o, "here").value_or(false);
  m.all = json::optional_bool(o, "all").value_or(false);
  return m;
}

std::optional<chat::PollInput> poll_from_json(const bj::object& body) {
  auto it = body.find("poll");
  if (it == body.end() || it->value().is_null()) return std::nullopt;
  if (!it->value().is_object()) {
    fail(Errc::bad_request, "'poll' must be an object: {options, max_votes, ...}");
  }
  const auto& o = it->value().get_object();
  chat::PollInput in;
  for (const auto& v : json::require_array(o, "options", 100)) {
    if (!v.is_string()) fail(Errc::bad_request, "'options' must hold strings");
    in.options.emplace_back(v.get_string());
  }
  in.max_votes = json::optional_int(o, "max_votes", 1, 100).value_or(1);
  in.anonymous = json::optional_bool(o, "anonymous").value_or(false);
  in.open_options = json::optional_bool(o, "open_options").value_or(false);
  in.closes_at = json::optional_int(o, "closes_at", 1, INT64_MAX).value_or(0);
  return in;
}

bj::object poll_json(const store::Poll& p, bool me) {
  bj::array options;
  for (const auto& o : p.options) {
    bj::object x{{"id", o.id}, {"text", o.text}, {"votes", o.votes}};
    if (me) x["me"] = o.me;
    if (!p.anonymous && me) {
      bj::array who;
      for (Id u : o.voters) who.push_back(bj::value(id_to_string(u)));
      x["voters"] = std::move(who);
    }
    options.push_back(std::move(x));
  }
  bj::object out{{"seq", p.seq},
                 {"question", p.question},
                 {"options", std::move(options)},
                 {"voters", p.voters},
                 {"max_votes", p.max_votes},
                 {"anonymous", p.anonymous},
                 {"open_options", p.open_options},
                 {"created_by", id_to_string(p.created_by)},
                 {"closed", p.closed_at != 0 || (p.closes_at != 0 && p.closes_at <= now_ms())}};
  out["closes_at"] = p.closes_at ? bj::value(p.closes_at) : bj::value(nullptr);
  out["closed_at"] = p.closed_at ? bj::value(p.closed_at) : bj::value(nullptr);
  return out;
}

namespace {

// Where needle occurs in hay from `from` on, ASCII letters in either case.
std::size_t find_folded(std::string_view hay, std::string_view needle, std::size_t from) {
  auto fold = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  if (needle.empty() || needle.size() > hay.size()) return std::string_view::npos;
  for (std::size_t i = from; i + needle.size() <= hay.size(); ++i) {
    std::size_t k = 0;
    while (k < needle.size() && fold(hay[i + k]) == fold(needle[k])) ++k;
    if (k == needle.size()) return i;
  }
  return std::string_view::npos;
}

// Moves i back (or forward) to the start of a UTF-8 character.
std::size_t char_start(std::string_view s, std::size_t i, bool forward) {
  while (i > 0 && i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) {
    forward ? ++i : --i;
  }
  return i;
}

}  // namespace

bj::array snippet_json(std::string_view body, const std::vector<std::string>& terms) {
  constexpr std::size_t kBefore = 60, kWidth = 160;
  std::size_t first = std::string_view::npos;
  for (const auto& t : terms) first = std::min(first, find_folded(body, t, 0));
  std::size_t start = first == std::string_view::npos || first < kBefore ? 0 : first - kBefore;
  start = char_start(body, start, true);
  std::size_t end = std::min(body.size(), start + kWidth);
  end = end == body.size() ? end : char_start(body, end, false);
  std::string_view window = body.substr(start, end - start);
  bj::array parts;
  auto add = [&](std::string_view text, bool match) {
    if (!text.empty()) parts.push_back(bj::object{{"text", text}, {"match", match}});
  };
  if (start > 0) add("…", false);
  std::size_t at = 0;
  while (at < window.size()) {
    std::size_t best = std::string_view::npos, len = 0;
    for (const auto& t : terms) {
      auto i = find_folded(window, t, at);
      if (i < best || (i == best && t.size() > len)) best = i, len = t.size();
    }
    if (best == std::string_view::npos || best + len > window.size()) {
      add(window.substr(at), false);
      break;
    }
    add(window.substr(at, best - at), false);
    add(window.substr(best, len), true);
    at = best + len;
  }
  if (end < body.size()) add("…", false);
  return parts;
}

bj::object thread_json(const store::ThreadSummary& t) {
  bj::array who;
  for (Id u : t.participants) who.push_back(bj::value(id_to_string(u)));
  return {{"reply_count", t.reply_count},
          {"last_reply_seq", t.last_reply_seq},
          {"last_reply_at", t.last_reply_at},
          {"participants", std::move(who)}};
}

bj::object conversation_json(const store::Conversation& c) {
  return {{"id", id_to_string(c.id)},   {"kind", c.kind},
          {"title", c.title},           {"created_by", id_to_string(c.created_by)},
          {"created_at", c.created_at}, {"updated_at", c.updated_at},
          {"last_seq", c.last_seq},     {"activity_at", c.activity_at},
          {"pin_role", c.pin_role},     {"slow_mode_s", c.slow_mode_s}};
}

bj::object conversation_view_json(const chat::ConversationView& v) {
  bj::object o = conversation_json(v.conversation);
  o["member_count"] = v.member_count;
  o["unread"] = v.unread;
  o["unread_mentions"] = v.unread_mentions;
  if (v.me) {
    o["my_role"] = v.me->role;
    o["last_read_seq"] = v.me->last_read_seq;
    o["notify"] = v.me->notify;
  } else {
    o["my_role"] = nullptr;
    o["last_read_seq"] = nullptr;
    o["notify"] = nullptr;
  }
  return o;
}

bj::object summary_json(const store::ConversationSummary& s) {
  bj::object o = conversation_json(s.conversation);
  o["member_count"] = s.member_count;
  o["unread"] = s.unread;
  o["unread_mentions"] = s.unread_mentions;
  o["my_role"] = s.me.role;
  o["last_read_seq"] = s.me.last_read_seq;
  o["notify"] = s.me.notify;
  o["last_message"] =
      s.last_message ? bj::value(message_json(*s.last_message)) : bj::value(nullptr);
  return o;
}

bj::object member_json(const store::Member& m) {
  return {
      {"user_id", id_to_string(m.user_id)},
      {"conversation_id", id_to_string(m.conversation_id)},
      {"role", m.role},
      {"joined_at", m.joined_at},
      {"last_read_seq", m.last_read_seq},
      {"delivered_seq", std::max(m.delivered_seq, m.last_read_seq)},
      {"muted_until", m.muted_until > now_ms() ? bj::value(m.muted_until) : bj::value(nullptr)}};
}

bj::object member_view_json(const chat::MemberView& m) {
  bj::object o = member_json(m.member);
  o["username"] = m.username;
  o["display_name"] = m.display_name;
  return o;
}

}  // namespace parley::http
