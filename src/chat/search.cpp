// ChatService's message search: the query language parsed into a typed
// filter (store::SearchQuery) here, never passed to an engine's own syntax.
#include <charconv>
#include <chrono>

#include "app/config.hpp"
#include "chat/chat_service.hpp"
#include "chat/rules.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/metrics.hpp"
#include "store/database.hpp"

namespace parley::chat {

namespace {

constexpr std::size_t kMaxTerms = 8;
constexpr std::int64_t kDayMs = 86400000;

// The query split into words, "quoted phrases" and -excluded ones.
struct Token {
  std::string text;
  bool quoted = false;
  bool negated = false;
};

std::vector<Token> tokenize(std::string_view q) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < q.size()) {
    while (i < q.size() && (q[i] == ' ' || q[i] == '\t' || q[i] == '\n' || q[i] == '\r')) ++i;
    if (i >= q.size()) break;
    Token t;
    if (q[i] == '-' && i + 1 < q.size() && q[i + 1] != ' ') {
      t.negated = true;
      ++i;
    }
    if (q[i] == '"') {
      auto end = q.find('"', i + 1);
      if (end == std::string_view::npos) end = q.size();  // an unbalanced quote runs to the end
      t.text = std::string(q.substr(i + 1, end - i - 1));
      t.quoted = true;
      i = end + 1;
    } else {
      auto end = q.find_first_of(" \t\r\n", i);
      if (end == std::string_view::npos) end = q.size();
      t.text = std::string(q.substr(i, end - i));
      i = end;
    }
    if (!t.text.empty()) out.push_back(std::move(t));
  }
  return out;
}

// YYYY-MM-DD as UTC milliseconds at midnight.
std::int64_t parse_day(std::string_view key, std::string_view v) {
  int y = 0;
  unsigned m = 0, d = 0;
  auto bad = [&] {
    fail(Errc::bad_request, "'" + std::string(key) + ":' takes a date, YYYY-MM-DD");
  };
  if (v.size() != 10 || v[4] != '-' || v[7] != '-') bad();
  auto num = [&](std::string_view s, auto& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec != std::errc{} || p != s.data() + s.size()) bad();
  };
  num(v.substr(0, 4), y);
  num(v.substr(5, 2), m);
  num(v.substr(8, 2), d);
  std::chrono::year_month_day day{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
  if (!day.ok()) bad();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::sys_days{day}.time_since_epoch())
      .count();
}

}  // namespace

ChatService::SearchResult ChatService::search(Id actor, std::string_view query, int limit,
                                              int offset, bool relevance) {
  if (query.size() > static_cast<std::size_t>(cfg_.search.max_query_bytes)) {
    fail(Errc::bad_request,
         "'q' is longer than " + std::to_string(cfg_.search.max_query_bytes) + " bytes");
  }
  store::SearchQuery q;
  q.user_id = actor;
  q.limit = limit;
  q.offset = offset;
  q.relevance = relevance;
  std::vector<std::string> from_names, in_names;
  for (auto& t : tokenize(query)) {
    auto colon = t.quoted || t.negated ? std::string::npos : t.text.find(':');
    std::string key = colon == std::string::npos ? "" : t.text.substr(0, colon);
    std::string value = colon == std::string::npos ? "" : t.text.substr(colon + 1);
    if (key == "from" && !value.empty()) {
      from_names.push_back(value[0] == '@' ? value.substr(1) : value);
    } else if (key == "in" && !value.empty()) {
      in_names.push_back(value);
    } else if (key == "has") {
      if (value == "link") {
        q.has_link = true;
      } else if (value == "poll") {
        q.has_poll = true;
      } else if (value == "file" || value == "image") {
        q.has_file = true;
      } else {
        fail(Errc::bad_request, "'has:' takes link, file, image or poll");
      }
    } else if (key == "is") {
      if (value == "pinned") {
        q.is_pinned = true;
      } else if (value == "thread") {
        q.is_thread = true;
      } else if (value == "mentioned") {
        q.is_mentioned = true;
      } else {
        fail(Errc::bad_request, "'is:' takes pinned, thread or mentioned");
      }
    } else if (key == "before") {
      q.before = parse_day(key, value);
    } else if (key == "after") {
      q.after = parse_day(key, value) + kDayMs;  // after the day
    } else if (key == "on") {
      q.after = parse_day(key, value);
      q.before = q.after + kDayMs;
    } else {
      (t.negated ? q.exclude : q.terms).push_back(std::move(t.text));
    }
  }
  if (q.terms.size() + q.exclude.size() > kMaxTerms) {
    fail(Errc::bad_request, "at most " + std::to_string(kMaxTerms) + " search terms");
  }
  bool filtered = q.has_link || q.has_poll || q.has_file || q.is_pinned || q.is_thread ||
                  q.is_mentioned || q.before || q.after || !from_names.empty() || !in_names.empty();
  if (q.terms.empty() && !filtered) fail(Errc::bad_request, "nothing to search for");
  auto terms = q.terms;
  auto found = db_.read([&](store::Store& s) {
    for (const auto& name : from_names) {
      auto u = s.user_by_username(name);
      if (!u) fail(Errc::bad_request, "'from:' no user named '" + name + "'");
      q.from.push_back(u->id);
    }
    for (const auto& name : in_names) {
      std::optional<Id> id = parse_id(name);
      if (id && s.member(*id, actor)) {
        q.in.push_back(*id);
        continue;
      }
      // A title of one of actor's conversations (case-insensitive, ASCII).
      auto lower = [](std::string x) {
        for (auto& c : x) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return x;
      };
      bool found = false;
      for (const auto& c : s.conversations_for_user(actor, std::nullopt, 1000)) {
        if (lower(c.conversation.title) == lower(name)) {
          q.in.push_back(c.conversation.id);
          found = true;
        }
      }
      if (!found)
        fail(Errc::bad_request, "'in:' no conversation of yours is called '" + name + "'");
    }
    return s.search_messages(q);
  });
  searches_.inc();
  return SearchResult{std::move(found), std::move(terms)};
}

}  // namespace parley::chat
