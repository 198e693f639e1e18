#include "chat/chat_service.hpp"

#include <algorithm>
#include <cctype>
#include <future>
#include <set>

#include "app/config.hpp"
#include "chat/event_sink.hpp"
#include "chat/rules.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/validate.hpp"
#include "store/database.hpp"

namespace parley::chat {

namespace {

[[noreturn]] void not_found() { fail(Errc::not_found, "conversation not found"); }

// A conversation the actor may see: a member of it, or any channel.
struct Access {
  store::Conversation conversation;
  std::optional<store::Member> me;
};

Access visible(store::Store& s, Id actor, Id conversation_id) {
  auto c = s.conversation(conversation_id);
  if (!c) not_found();
  auto me = s.member(conversation_id, actor);
  if (!me && c->kind != "channel") not_found();  // do not reveal private conversations
  return {*c, me};
}

// A member's view of a conversation, read afresh.
ConversationView view_of(store::Store& s, const store::Conversation& c, Id actor) {
  auto me = s.member(c.id, actor);
  ConversationView v{c, me, s.member_count(c.id), 0, 0};
  if (me) {
    v.unread = s.unread_count(c.id, actor, me->last_read_seq);
    v.unread_mentions = s.unread_mention_count(c.id, actor, me->last_read_seq);
  }
  return v;
}

// Who replied, shown on a thread's root: the first few.
constexpr int kThreadParticipants = 5;

void validate_client_id(std::string_view id, std::size_t max) {
  if (id.empty() || id.size() > max) {
    fail(Errc::bad_request, "'client_id' must be 1 to " + std::to_string(max) + " bytes");
  }
  for (char c : id) {
    if (c < 0x21 || c > 0x7E) fail(Errc::bad_request, "'client_id' must be printable ASCII");
  }
}

}  // namespace

store::Member require_member(store::Store& s, Id actor, Id conversation_id) {
  Access a = visible(s, actor, conversation_id);
  if (!a.me) fail(Errc::forbidden, "join this channel first");
  return *a.me;
}

bool is_manager(const store::Member& m) { return m.role == "owner" || m.role == "admin"; }

ChatService::ChatService(const Config& cfg, store::Database& db, IdGenerator& ids,
                         metrics::Registry& m)
    : cfg_(cfg),
      db_(db),
      ids_(ids),
      messages_sent_(m.counter("parley_messages_total", "Messages committed to the store")),
      send_retries_(m.counter("parley_message_retries_total",
                              "Sends answered with an earlier message (same client_id)")),
      replies_sent_(
          m.counter("parley_thread_replies_total", "Messages committed as replies in a thread")),
      mentions_sent_(m.counter("parley_mentions_total",
                               "Mention notifications sent (one per mentioned member)")),
      poll_votes_(m.counter("parley_poll_votes_total", "Poll votes committed (each change)")),
      moderation_actions_(m.counter("parley_moderation_actions_total",
                                    "Mutes, bans, unbans, slow mode changes, resolved reports")),
      reports_filed_(m.counter("parley_reports_total", "Messages reported by members")),
      searches_(m.counter("parley_searches_total", "Message searches answered")),
      polls_refused_(m.counter("parley_poll_votes_refused_total",
                               "Poll votes refused: closed, unknown options, past max_votes")),
      reactions_added_(m.counter("parley_reactions_total", "Reactions changed, by action",
                                 {{"action", "added"}})),
      reactions_removed_(m.counter("parley_reactions_total", "Reactions changed, by action",
                                   {{"action", "removed"}})),
      reactions_refused_(
          m.counter("parley_reactions_refused_total",
                    "Reactions refused for limits.max_reactions_per_user on one message")) {}

int ChatService::max_page_size() const { return static_cast<int>(cfg_.limits.max_page_size); }

std::optional<store::User> ChatService::find_user(std::string_view username) {
  return db_.read([&](store::Store& s) { return s.user_by_username(username); });
}

std::vector<store::User> ChatService::search_users(std::string_view query, int limit) {
  std::string lower(query);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return db_.read([&](store::Store& s) { return s.search_users(lower, limit); });
}

std::vector<Id> ChatService::conversation_ids(Id user_id) {
  return db_.read([&](store::Store& s) { return s.conversation_ids_for_user(user_id); });
}

std::vector<store::Message> ChatService::messages_after(Id conversation_id, std::int64_t after_seq,
                                                        int limit) {
  return db_.read(
      [&](store::Store& s) { return s.messages_after(conversation_id, after_seq, limit); });
}

std::optional<store::User> ChatService::user(Id id) {
  return db_.read([&](store::Store& s) { return s.user_by_id(id); });
}

void ChatService::check_body(std::string_view body) const {
  if (body.empty()) fail(Errc::bad_request, "'body' must not be empty");
  if (body.size() > static_cast<std::size_t>(cfg_.limits.max_message_bytes)) {
    fail(Errc::payload_too_large,
         "'body' is longer than " + std::to_string(cfg_.limits.max_message_bytes) + " bytes");
  }
  validate::multi_line_text("body", body);
}

Created ChatService::create_conversation(Id actor, std::string_view kind, std::string_view title,
                                         const std::vector<Id>& member_ids) {
  if (kind != "direct" && kind != "group" && kind != "channel") {
    fail(Errc::bad_request, "'kind' must be direct, group or channel");
  }
  std::set<Id> others(member_ids.begin(), member_ids.end());
  others.erase(actor);
  if (static_cast<std::int64_t>(others.size()) + 1 > cfg_.limits.max_members) {
    fail(Errc::bad_request,
         "a conversation has at most " + std::to_string(cfg_.limits.max_members) + " members");
  }
  if (title.size() > static_cast<std::size_t>(cfg_.limits.max_title_bytes)) {
    fail(Errc::bad_request,
         "'title' is longer than " + std::to_string(cfg_.limits.max_title_bytes) + " bytes");
  }
  validate::single_line_text("title", title);
  std::string direct_key;
  if (kind == "direct") {
    if (others.size() != 1) {
      fail(Errc::bad_request, "a direct conversation needs exactly one other member");
    }
    if (!title.empty()) fail(Errc::bad_request, "direct conversations have no title");
    Id a = std::min(actor, *others.begin());
    Id b = std::max(actor, *others.begin());
    direct_key = std::to_string(a) + ":" + std::to_string(b);
  } else if (title.empty()) {
    fail(Errc::bad_request, "missing required field 'title'");
  }

  std::int64_t now = now_ms();
  store::Conversation conv;
  conv.id = ids_.next();
  conv.kind = std::string(kind);
  conv.title = std::string(title);
  conv.created_by = actor;
  conv.created_at = conv.updated_at = conv.activity_at = now;
  conv.direct_key = direct_key;

  // The creator first, then the others: inserted in the job, reported after the commit.
  std::vector<store::Member> members;
  store::Member m;
  m.conversation_id = conv.id;
  m.joined_at = now;
  m.user_id = actor;
  m.role = kind == "direct" ? "member" : "owner";
  members.push_back(m);
  for (Id id : others) {
    m.user_id = id;
    m.role = "member";
    members.push_back(m);
  }

  return db_.write(
      [&](store::Store& s) {
        if (!direct_key.empty()) {
          if (auto existing = s.conversation_by_direct_key(direct_key))
            return Created{*existing, false};
        }
        for (Id id : others) {
          auto u = s.user_by_id(id);
          if (!u || u->disabled) fail(Errc::bad_request, "unknown user " + std::to_string(id));
        }
        s.insert_conversation(conv);
        for (const auto& member : members) s.insert_member(member);
        return Created{conv, true};
      },
      // Runs before this call returns, so members is still alive.
      [this, &members](const Created& c) {
        if (!sink_ || !c.created) return;
        for (const auto& member : members) sink_->member_joined(member);
      });
}

std::vector<store::Message> ChatService::messages_sent_by(Id actor, Id after_id, int limit) {
  return db_.read([&](store::Store& s) { return s.messages_by_sender(actor, after_id, limit); });
}

std::int64_t ChatService::erase_messages_sent_by(Id user) {
  constexpr int kBatch = 5000;
  std::int64_t now = now_ms(), erased = 0;
  std::size_t n = 0;
  do {
    n = db_.write([&](store::Store& s) { return s.tombstone_sender_messages(user, now, kBatch); },
                  [this](const std::vector<store::Message>& done) {
                    if (!sink_) return;
                    for (const auto& m : done) sink_->message_updated(m);
                  })
            .size();
    erased += static_cast<std::int64_t>(n);
  } while (n == static_cast<std::size_t>(kBatch));
  log::info("messages_erased", {{"user_id", user}, {"messages", erased}});
  return erased;
}

std::vector<store::ConversationSummary> ChatService::list_conversations(
    Id actor, const std::optional<store::ConversationCursor>& after, int limit) {
  return db_.read([&](store::Store& s) { return s.conversations_for_user(actor, after, limit); });
}

ConversationView ChatService::get_conversation(Id actor, Id conversation_id) {
  return db_.read([&](store::Store& s) {
    Access a = visible(s, actor, conversation_id);
    ConversationView v{a.conversation, a.me, s.member_count(conversation_id), 0, 0};
    if (a.me) {
      v.unread = s.unread_count(conversation_id, actor, a.me->last_read_seq);
      v.unread_mentions = s.unread_mention_count(conversation_id, actor, a.me->last_read_seq);
    }
    return v;
  });
}

store::Conversation ChatService::rename(Id actor, Id conversation_id, std::string_view title) {
  if (title.empty()) fail(Errc::bad_request, "'title' must not be empty");
  if (title.size() > static_cast<std::size_t>(cfg_.limits.max_title_bytes)) {
    fail(Errc::bad_request,
         "'title' is longer than " + std::to_string(cfg_.limits.max_title_bytes) + " bytes");
  }
  validate::single_line_text("title", title);
  std::int64_t now = now_ms();
  return db_.write(
      [&](store::Store& s) {
        auto me = require_member(s, actor, conversation_id);
        auto c = s.conversation(conversation_id);
        if (c->kind == "direct") fail(Errc::bad_request, "direct conversations have no title");
        if (!is_manager(me)) fail(Errc::forbidden, "only owners and admins may rename");
        s.set_conversation_title(conversation_id, title, now);
        c->title = std::string(title);
        c->updated_at = now;
        return *c;
      },
      [this](const store::Conversation& c) {
        if (sink_) sink_->conversation_updated(c);
      });
}

std::vector<MemberView> ChatService::members(Id actor, Id conversation_id) {
  return db_.read([&](store::Store& s) {
    visible(s, actor, conversation_id);
    std::vector<MemberView> out;
    for (auto& m : s.members(conversation_id)) {
      MemberView v{m, {}, {}};
      if (auto u = s.user_by_id(m.user_id)) {
        v.username = u->username;
        v.display_name = u->display_name;
      }
      out.push_back(std::move(v));
    }
    return out;
  });
}

store::Member ChatService::add_member(Id actor, Id conversation_id, Id user_id,
                                      std::string_view role) {
  if (role != "member" && role != "admin")
    fail(Errc::bad_request, "'role' must be member or admin");
  std::int64_t now = now_ms();
  auto added = db_.write(
      [&](store::Store& s) -> std::pair<store::Member, bool> {
        Access a = visible(s, actor, conversation_id);
        if (a.conversation.kind == "direct") {
          fail(Errc::bad_request, "direct conversations cannot gain members");
        }
        bool self_join = actor == user_id && a.conversation.kind == "channel" && role == "member";
        if (!self_join) {
          if (!a.me) fail(Errc::forbidden, "join this channel first");
          if (!is_manager(*a.me)) fail(Errc::forbidden, "only owners and admins may add members");
          if (role == "admin" && a.me->role != "owner") {
            fail(Errc::forbidden, "only the owner may make admins");
          }
        }
        if (auto existing = s.member(conversation_id, user_id)) return {*existing, false};
        if (s.ban(conversation_id, user_id)) {
          fail(Errc::forbidden, "that user is banned from this conversation");
        }
        auto u = s.user_by_id(user_id);
        if (!u || u->disabled) fail(Errc::bad_request, "unknown user " + std::to_string(user_id));
        if (s.member_count(conversation_id) >= cfg_.limits.max_members) {
          fail(Errc::conflict, "the conversation is full (" +
                                   std::to_string(cfg_.limits.max_members) + " members)");
        }
        store::Member m;
        m.conversation_id = conversation_id;
        m.user_id = user_id;
        m.role = std::string(role);
        m.joined_at = now;
        // A new member starts with everything read: history is there, not unread.
        m.last_read_seq = a.conversation.last_seq;
        s.insert_member(m);
        return {m, true};
      },
      [this](const std::pair<store::Member, bool>& r) {
        if (sink_ && r.second) sink_->member_joined(r.first);
      });
  return added.first;
}

void ChatService::remove_member(Id actor, Id conversation_id, Id user_id) {
  db_.write(
      [&](store::Store& s) {
        auto me = require_member(s, actor, conversation_id);
        auto c = s.conversation(conversation_id);
        if (c->kind == "direct")
          fail(Errc::bad_request, "direct conversations cannot lose members");
        auto target = s.member(conversation_id, user_id);
        if (!target) fail(Errc::not_found, "not a member");
        if (actor != user_id) {
          bool allowed = me.role == "owner" || (me.role == "admin" && target->role == "member");
          if (!allowed) fail(Errc::forbidden, "not allowed to remove this member");
        }
        s.delete_member(conversation_id, user_id);
        if (target->role == "owner") {
          // Hand over: the longest-standing admin, else the longest-standing member.
          auto rest = s.members(conversation_id);
          auto heir =
              std::find_if(rest.begin(), rest.end(), [](auto& m) { return m.role == "admin"; });
          if (heir == rest.end() && !rest.empty()) heir = rest.begin();
          if (heir != rest.end()) s.set_member_role(conversation_id, heir->user_id, "owner");
        }
        return true;
      },
      [this, conversation_id, user_id](bool) {
        if (sink_) sink_->member_left(conversation_id, user_id);
      });
}

store::Member ChatService::set_member_role(Id actor, Id conversation_id, Id user_id,
                                           std::string_view role) {
  if (role != "member" && role != "admin" && role != "owner") {
    fail(Errc::bad_request, "'role' must be owner, admin or member");
  }
  return db_.write([&](store::Store& s) {
    auto me = require_member(s, actor, conversation_id);
    if (me.role != "owner") fail(Errc::forbidden, "only the owner may change roles");
    auto target = s.member(conversation_id, user_id);
    if (!target) fail(Errc::not_found, "not a member");
    if (user_id == actor) fail(Errc::bad_request, "transfer ownership to someone else instead");
    if (role == "owner") s.set_member_role(conversation_id, actor, "admin");
    s.set_member_role(conversation_id, user_id, role);
    target->role = std::string(role);
    return *target;
  });
}

void ChatService::check_client_id(std::string_view client_id) const {
  validate_client_id(client_id, static_cast<std::size_t>(cfg_.limits.max_client_id_bytes));
}

SendResult ChatService::append(store::Store& s, const store::Message& msg) {
  // The writer usually appends a send with its batch neighbours; this is the
  // path for one it refused, and for every send when a batch is run again.
  if (!msg.mentions.empty()) return append_checked(s, msg);
  store::Message m = msg;
  store::Message* in = &m;
  std::int64_t seq = 0;
  s.append_messages({&in, 1}, {&seq, 1});
  if (seq) {
    m.seq = seq;
    return SendResult{m, true, {}};
  }
  return append_checked(s, msg);  // nothing written: says why
}

SendResult ChatService::append_checked(store::Store& s, store::Message m) {
  if (auto earlier = s.message_by_client_id(m.sender_id, m.client_id)) {
    if (earlier->conversation_id != m.conversation_id) {
      fail(Errc::conflict, "client_id was already used for a message in another conversation");
    }
    return SendResult{*earlier, false, {}};
  }
  auto me = require_member(s, m.sender_id, m.conversation_id);
  if (m.reply_to) {
    auto target = s.message(m.conversation_id, m.reply_to);
    if (!target) {
      fail(Errc::bad_request,
           "'reply_to': no message " + std::to_string(m.reply_to) + " in this conversation");
    }
    if (target->reply_to) m.reply_to = target->reply_to;
  }
  if (me.muted_until > m.created_at) {
    fail(Errc::forbidden, "you are muted in this conversation for another " +
                              std::to_string((me.muted_until - m.created_at + 999) / 1000) + " s");
  }
  auto conv = s.conversation(m.conversation_id);
  bool slow = conv->slow_mode_s > 0 && !is_manager(me);
  if (slow && me.last_sent_at + conv->slow_mode_s * 1000 > m.created_at) {
    auto wait = (me.last_sent_at + conv->slow_mode_s * 1000 - m.created_at + 999) / 1000;
    fail(Errc::too_many_requests, "slow mode: one message every " +
                                      std::to_string(conv->slow_mode_s) + " s; wait " +
                                      std::to_string(wait) + " s");
  }
  SendResult r{m, true, {}};
  for (Id u : m.mentions.user_ids) {
    auto member = s.member(m.conversation_id, u);
    if (!member) {
      fail(Errc::bad_request,
           "'mentions': user " + id_to_string(u) + " is not a member of this conversation");
    }
    if (member->notify != "none") r.notify.push_back(u);
  }
  if (m.mentions.all || m.mentions.here) {
    if (!is_manager(me)) fail(Errc::forbidden, "only owners and admins may mention all or here");
    r.notify.clear();
    for (const auto& member : s.members(m.conversation_id)) {
      if (member.user_id != m.sender_id && member.notify != "none") {
        r.notify.push_back(member.user_id);
      }
    }
  }
  r.message.seq = s.next_seq(m.conversation_id, m.created_at);
  s.insert_message(r.message);
  if (!m.poll.empty()) s.insert_poll(poll_from_spec(r.message));
  s.set_last_read(m.conversation_id, m.sender_id, r.message.seq);
  if (slow) s.set_last_sent(m.conversation_id, m.sender_id, m.created_at);
  return r;
}

void ChatService::after_send(const SendResult& r) {
  if (r.created) {
    messages_sent_.inc();
    if (r.message.reply_to) replies_sent_.inc();
    if (sink_) sink_->message_created(r.message);
    if (!r.notify.empty()) {
      mentions_sent_.inc(r.notify.size());
      if (sink_) sink_->mentioned(r.message, r.notify);
    }
  } else {
    send_retries_.inc();
  }
}

SendResult ChatService::send(Id actor, Id conversation_id, std::string_view client_id,
                             std::string_view body, SendOptions opts) {
  std::promise<SendResult> promise;
  auto future = promise.get_future();
  send_async(actor, conversation_id, std::string(client_id), std::string(body), opts,
             [&](std::exception_ptr e, const SendResult& r) {
               e ? promise.set_exception(e) : promise.set_value(r);
             });
  return future.get();
}

void ChatService::send_async(Id actor, Id conversation_id, std::string client_id, std::string body,
                             SendOptions opts, SendDone done) {
  check_client_id(client_id);
  check_body(body);
  if (opts.reply_to < 0) fail(Errc::bad_request, "'reply_to' must be a message seq");
  if (opts.broadcast && !opts.reply_to) {
    fail(Errc::bad_request, "'broadcast' is for replies: it needs 'reply_to'");
  }
  auto& ids = opts.mentions.user_ids;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::erase(ids, actor);  // mentioning oneself notifies nobody
  if (static_cast<std::int64_t>(ids.size()) > cfg_.limits.max_mentions) {
    fail(Errc::bad_request,
         "'mentions' names more than " + std::to_string(cfg_.limits.max_mentions) + " users");
  }
  auto a = std::make_shared<store::Database::Append>();
  store::Message& msg = a->message;
  msg.id = ids_.next();
  msg.conversation_id = conversation_id;
  msg.sender_id = actor;
  msg.client_id = std::move(client_id);
  msg.body = std::move(body);
  msg.created_at = now_ms();
  msg.reply_to = opts.reply_to;
  msg.broadcast = opts.broadcast;
  msg.mentions = std::move(opts.mentions);
  if (opts.poll) msg.poll = make_poll_spec(cfg_, msg.body, *opts.poll, msg.created_at);
  auto result = std::make_shared<SendResult>();
  db_.submit_append(
      a, [this, a, result](store::Store& s) { *result = append(s, a->message); },
      [this, a, result, done = std::move(done)](std::exception_ptr e) {
        if (!e && a->seq) {  // appended with its batch: the job did not run
          result->message = std::move(a->message);
          result->message.seq = a->seq;
          result->created = true;
        }
        // after_send runs on the writer thread before done: hooks see commit order.
        if (!e) after_send(*result);
        done(e, *result);
      });
}

std::vector<store::Message> ChatService::list_messages(Id actor, Id conversation_id,
                                                       std::optional<std::int64_t> after,
                                                       std::optional<std::int64_t> before,
                                                       int limit) {
  if (after && before) fail(Errc::bad_request, "use either 'after' or 'before', not both");
  return db_.read([&](store::Store& s) {
    require_member(s, actor, conversation_id);
    if (after) return s.messages_after(conversation_id, *after, limit);
    return s.messages_before(conversation_id, before ? *before : INT64_MAX, limit);
  });
}

Replay ChatService::replay(Id actor, Id conversation_id, std::optional<std::int64_t> since,
                           int limit, std::size_t max_bytes) {
  return db_.read([&](store::Store& s) {
    require_member(s, actor, conversation_id);
    auto c = s.conversation(conversation_id);
    Replay r;
    r.last_seq = c->last_seq;
    r.rewound = since && *since > c->last_seq;
    if (!since || *since >= c->last_seq) return r;
    if (c->last_seq - *since > limit) {
      r.messages = s.messages_before(conversation_id, c->last_seq + 1, limit);
      std::reverse(r.messages.begin(), r.messages.end());
      r.truncated = true;
    } else {
      r.messages = s.messages_after(conversation_id, *since, limit);
    }
    // Keep the newest that fit max_bytes; the client reads older ones over REST.
    constexpr std::size_t kEventOverhead = 256;  // the event's JSON around the body
    std::size_t bytes = 0;
    auto keep = r.messages.end();
    while (keep != r.messages.begin()) {
      bytes += std::prev(keep)->body.size() + kEventOverhead;
      if (bytes > max_bytes) break;
      --keep;
    }
    if (keep != r.messages.begin()) {
      r.messages.erase(r.messages.begin(), keep);
      r.truncated = true;
    }
    return r;
  });
}

store::Message ChatService::get_message(Id actor, Id conversation_id, std::int64_t seq) {
  return db_.read([&](store::Store& s) {
    require_member(s, actor, conversation_id);
    auto m = s.message(conversation_id, seq);
    if (!m) fail(Errc::not_found, "message not found");
    return *m;
  });
}

Thread ChatService::thread(Id actor, Id conversation_id, std::int64_t root_seq, std::int64_t after,
                           int limit) {
  return db_.read([&](store::Store& s) {
    require_member(s, actor, conversation_id);
    auto root = s.message(conversation_id, root_seq);
    if (!root) fail(Errc::not_found, "message not found");
    if (root->reply_to) root = s.message(conversation_id, root->reply_to);
    Thread t;
    t.root = *root;
    t.replies = s.thread_replies(conversation_id, t.root.seq, after, limit);
    std::vector<std::int64_t> one{t.root.seq};
    auto sums = s.thread_summaries(conversation_id, one, kThreadParticipants);
    t.summary = sums.empty() ? store::ThreadSummary{t.root.seq} : sums.front();
    return t;
  });
}

std::vector<store::ThreadSummary> ChatService::thread_summaries(
    Id actor, Id conversation_id, std::span<const std::int64_t> seqs) {
  return db_.read([&](store::Store& s) {
    require_member(s, actor, conversation_id);
    return s.thread_summaries(conversation_id, seqs, kThreadParticipants);
  });
}

store::Message ChatService::edit_message(Id actor, Id conversation_id, std::int64_t seq,
                                         std::string_view body) {
  check_body(body);
  std::int64_t now = now_ms();
  return db_.write(
      [&](store::Store& s) {
        require_member(s, actor, conversation_id);
        auto m = s.message(conversation_id, seq);
        if (!m) fail(Errc::not_found, "message not found");
        if (m->sender_id != actor) fail(Errc::forbidden, "only the sender may edit a message");
        if (m->deleted_at != 0) fail(Errc::conflict, "the message was deleted");
        if (!m->poll.empty()) fail(Errc::conflict, "a poll's question is not edited");
        s.update_message_body(conversation_id, seq, body, now);
        m->body = std::string(body);
        m->edited_at = now;
        return *m;
      },
      [this](const store::Message& m) {
        if (sink_) sink_->message_updated(m);
      });
}

ChatService::Reacted ChatService::react(Id actor, Id conversation_id, std::int64_t seq,
                                        std::string_view reaction, bool add) {
  if (reaction.size() > static_cast<std::size_t>(cfg_.limits.max_reaction_bytes)) {
    fail(Errc::bad_request,
         "'reaction' is longer than " + std::to_string(cfg_.limits.max_reaction_bytes) + " bytes");
  }
  validate::reaction("reaction", reaction);
  std::int64_t now = now_ms();
  auto cap = cfg_.limits.max_reactions_per_user;
  return db_.write(
      [&](store::Store& s) {
        require_member(s, actor, conversation_id);
        auto m = s.message(conversation_id, seq);
        if (!m) fail(Errc::not_found, "message not found");
        if (m->deleted_at != 0) fail(Errc::conflict, "the message was deleted");
        Reacted r;
        r.event = {conversation_id, seq, std::string(reaction), actor, add, 0};
        if (add) {
          std::vector<std::int64_t> one{seq};
          bool had = false;
          for (const auto& c : s.reaction_counts(conversation_id, one, actor)) {
            had = had || (c.reaction == reaction && c.me);
          }
          if (!had && s.reactions_by_user(conversation_id, seq, actor) >= cap) {
            reactions_refused_.inc();
            fail(Errc::conflict,
                 "at most " + std::to_string(cap) + " different reactions per user on one message");
          }
          r.changed = s.add_reaction(conversation_id, seq, actor, reaction, now);
        } else {
          r.changed = s.remove_reaction(conversation_id, seq, actor, reaction);
        }
        std::vector<std::int64_t> one{seq};
        for (const auto& c : s.reaction_counts(conversation_id, one, actor)) {
          if (c.reaction == reaction) r.event.count = c.count;
        }
        return r;
      },
      [this](const Reacted& r) {
        if (!r.changed) return;
        (r.event.added ? reactions_added_ : reactions_removed_).inc();
        if (sink_) sink_->reaction_changed(r.event);
      });
}

std::vector<store::ReactionCount> ChatService::reactions(Id actor, Id conversation_id,
                                                         std::span<const std::int64_t> seqs) {
  return db_.read([&](store::Store& s) {
    require_member(s, actor, conversation_id);
    return s.reaction_counts(conversation_id, seqs, actor);
  });
}

std::vector<Id> ChatService::reaction_users(Id actor, Id conversation_id, std::int64_t seq,
                                            std::string_view reaction, Id after_user, int limit) {
  return db_.read([&](store::Store& s) {
    require_member(s, actor, conversation_id);
    return s.reaction_users(conversation_id, seq, reaction, after_user, limit);
  });
}

std::vector<store::UserReaction> ChatService::reactions_of(Id actor, int page) {
  std::vector<store::UserReaction> out;
  store::UserReaction after;
  for (;;) {
    auto batch = db_.read([&](store::Store& s) { return s.reactions_of_user(actor, after, page); });
    out.insert(out.end(), batch.begin(), batch.end());
    if (static_cast<int>(batch.size()) < page) return out;
    after = batch.back();
  }
}

store::Message ChatService::delete_message(Id actor, Id conversation_id, std::int64_t seq) {
  std::int64_t now = now_ms();
  return db_.write(
      [&](store::Store& s) {
        auto me = require_member(s, actor, conversation_id);
        auto m = s.message(conversation_id, seq);
        if (!m) fail(Errc::not_found, "message not found");
        if (m->sender_id != actor && !is_manager(me)) {
          fail(Errc::forbidden, "only the sender or a conversation admin may delete a message");
        }
        if (m->deleted_at == 0) {
          s.tombstone_message(conversation_id, seq, now);
          m->body.clear();
          m->poll.clear();
          m->deleted_at = now;
          if (m->sender_id != actor) {  // a moderator's deletion is audited
            s.insert_audit_event({ids_.next(), now, actor, "moderation.message_deleted",
                                  m->sender_id, "",
                                  "{\"conversation_id\":\"" + id_to_string(conversation_id) +
                                      "\",\"seq\":" + std::to_string(seq) + "}"});
          }
        }
        return *m;
      },
      [this, now](const store::Message& m) {
        if (sink_ && m.deleted_at == now) sink_->message_updated(m);
      });
}

ConversationView ChatService::mark_read(Id actor, Id conversation_id, std::int64_t seq) {
  return db_.write(
      [&](store::Store& s) {
        require_member(s, actor, conversation_id);
        auto c = s.conversation(conversation_id);
        s.set_last_read(conversation_id, actor, std::min(seq, c->last_seq));
        return view_of(s, *c, actor);
      },
      [this, actor, conversation_id](const ConversationView& v) {
        if (sink_ && v.me) sink_->read_marker(conversation_id, actor, v.me->last_read_seq);
      });
}

bool ChatService::pin(Id actor, Id conversation_id, std::int64_t seq, bool pinned) {
  std::int64_t now = now_ms();
  return db_.write(
      [&](store::Store& s) {
        auto me = require_member(s, actor, conversation_id);
        auto c = s.conversation(conversation_id);
        if (c->pin_role == "admin" && !is_manager(me)) {
          fail(Errc::forbidden, "only owners and admins may pin in this conversation");
        }
        auto m = s.message(conversation_id, seq);
        if (!m) fail(Errc::not_found, "message not found");
        if (pinned && m->deleted_at != 0) fail(Errc::conflict, "the message was deleted");
        return s.set_pin(conversation_id, seq, actor, now, pinned);
      },
      [this, conversation_id, seq, actor, pinned](bool changed) {
        if (changed && sink_) sink_->pin_changed(conversation_id, seq, actor, pinned);
      });
}

std::vector<std::pair<store::Pin, store::Message>> ChatService::pinned(Id actor, Id conversation_id,
                                                                       std::int64_t before,
                                                                       int limit) {
  return db_.read([&](store::Store& s) {
    require_member(s, actor, conversation_id);
    std::vector<std::pair<store::Pin, store::Message>> out;
    for (const auto& p : s.pins(conversation_id, 1, before - 1, limit)) {
      if (auto m = s.message(conversation_id, p.seq)) out.emplace_back(p, std::move(*m));
    }
    return out;
  });
}

std::vector<store::Pin> ChatService::pins_among(Id actor, Id conversation_id,
                                                std::span<const std::int64_t> seqs) {
  if (seqs.empty()) return {};
  auto [lo, hi] = std::minmax_element(seqs.begin(), seqs.end());
  return db_.read([&](store::Store& s) {
    require_member(s, actor, conversation_id);
    auto all = s.pins(conversation_id, *lo, *hi, static_cast<int>(seqs.size()) + 1000);
    std::erase_if(all, [&](const store::Pin& p) {
      return std::find(seqs.begin(), seqs.end(), p.seq) == seqs.end();
    });
    return all;
  });
}

store::Conversation ChatService::set_pin_role(Id actor, Id conversation_id, std::string_view role) {
  if (role != "member" && role != "admin") {
    fail(Errc::bad_request, "'pin_role' must be member or admin");
  }
  std::int64_t now = now_ms();
  return db_.write(
      [&](store::Store& s) {
        auto me = require_member(s, actor, conversation_id);
        if (!is_manager(me)) fail(Errc::forbidden, "only owners and admins may change who pins");
        s.set_conversation_pin_role(conversation_id, role, now);
        return *s.conversation(conversation_id);
      },
      [this](const store::Conversation& c) {
        if (sink_) sink_->conversation_updated(c);
      });
}

std::int64_t ChatService::mark_delivered(Id actor, Id conversation_id, std::int64_t seq) {
  struct Out {
    std::int64_t seq = 0;
    bool announce = false;
  };
  auto out = db_.write(
      [&](store::Store& s) {
        auto me = require_member(s, actor, conversation_id);
        auto c = s.conversation(conversation_id);
        Out o;
        o.announce = s.set_delivered(conversation_id, actor, std::min(seq, c->last_seq)) &&
                     s.member_count(conversation_id) <= cfg_.limits.receipts_max_members;
        o.seq = std::max(me.delivered_seq, std::min(seq, c->last_seq));
        return o;
      },
      [this, actor, conversation_id](const Out& o) {
        if (o.announce && sink_) sink_->delivered(conversation_id, actor, o.seq);
      });
  return out.seq;
}

ConversationView ChatService::set_notify(Id actor, Id conversation_id, std::string_view level) {
  if (level != "all" && level != "mentions" && level != "none") {
    fail(Errc::bad_request, "'notify' must be all, mentions or none");
  }
  return db_.write([&](store::Store& s) {
    require_member(s, actor, conversation_id);
    s.set_member_notify(conversation_id, actor, level);
    return view_of(s, *s.conversation(conversation_id), actor);
  });
}

}  // namespace parley::chat
