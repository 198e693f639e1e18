// Conversations, members and messages: the rules (who may do what, limits,
// idempotent sends) on top of the store. Permission checks that guard a
// write run inside the write's transaction, so they cannot race it.
//
// Threading: any thread except I/O workers (blocks on the store).
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chat/event_sink.hpp"
#include "store/types.hpp"

namespace parley {
struct Config;
class IdGenerator;
namespace metrics {
class Registry;
class Counter;
}  // namespace metrics
namespace store {
class Database;
class Store;
}  // namespace store
}  // namespace parley

namespace parley::chat {

class EventSink;

struct ConversationView {
  store::Conversation conversation;
  std::optional<store::Member> me;  // empty when viewing a channel one has not joined
  std::int64_t member_count = 0;
  std::int64_t unread = 0;
  std::int64_t unread_mentions = 0;
};

struct MemberView {
  store::Member member;
  std::string username;
  std::string display_name;
};

struct SendResult {
  store::Message message;
  bool created = false;  // false: a retry of an earlier client_id
  // The members the message mentions (all of them for all or here, the
  // sender aside) whose notification level is not "none".
  std::vector<Id> notify;
};

// How a message is sent: as a reply (reply_to: the seq it answers; a reply
// to a reply joins that reply's thread) and, for a reply, whether it is also
// shown in the conversation.
// A poll to send: the message's body is its question.
struct PollInput {
  std::vector<std::string> options;  // 2 to limits.max_poll_options
  std::int64_t max_votes = 1;        // 1: single choice
  bool anonymous = false;
  bool open_options = false;   // members may add options
  std::int64_t closes_at = 0;  // 0: open until closed
};

// mentions: members by id (the sender left out), or all / here (owners and
// admins only).
struct SendOptions {
  std::int64_t reply_to = 0;
  bool broadcast = false;
  store::Mentions mentions;
  std::optional<PollInput> poll;
};

// A thread: its root and a page of its replies, ascending.
struct Thread {
  store::Message root;
  std::vector<store::Message> replies;
  store::ThreadSummary summary;
};

struct Replay {
  std::vector<store::Message> messages;  // ascending seq
  std::int64_t last_seq = 0;             // the conversation's newest seq at read time
  bool truncated = false;  // more were missed than fit the limits: the newest that fit
  // The client's `since` is past the newest seq: the database was restored
  // from a backup (or the client is confused); seqs after last_seq will be
  // issued again, so the client drops what it holds after last_seq.
  bool rewound = false;
};

struct Created {
  store::Conversation conversation;
  bool created = false;  // false: the direct conversation already existed
};

class ChatService {
 public:
  ChatService(const Config& cfg, store::Database& db, IdGenerator& ids, metrics::Registry& m);

  std::optional<store::User> find_user(std::string_view username);
  // People to start a conversation with: see Store::search_users (the query
  // is lower-cased here; ASCII only, as usernames are).
  std::vector<store::User> search_users(std::string_view query, int limit);
  std::optional<store::User> user(Id id);
  // Conversations a user belongs to (for presence fan-out).
  std::vector<Id> conversation_ids(Id user_id);
  // Messages of a conversation after a seq, ascending, with no permission
  // check: for the gateway filling gaps in events it already delivers.
  std::vector<store::Message> messages_after(Id conversation_id, std::int64_t after_seq, int limit);

  // kind: direct (members: exactly one other user; returns the existing one
  // if any), group or channel (title required; actor becomes owner).
  Created create_conversation(Id actor, std::string_view kind, std::string_view title,
                              const std::vector<Id>& member_ids);
  std::vector<store::ConversationSummary> list_conversations(
      Id actor, const std::optional<store::ConversationCursor>& after, int limit);
  // Data export: the messages `actor` sent, ascending by id, id > after_id.
  std::vector<store::Message> messages_sent_by(Id actor, Id after_id, int limit);
  // Erasure: tombstones every message `user` sent (body emptied, the seq
  // stays so conversations remain gapless), in short write jobs so the writer
  // is never held long; members online get message.deleted for each.
  // Returns how many. Idempotent: a rerun continues where one stopped.
  std::int64_t erase_messages_sent_by(Id user);
  ConversationView get_conversation(Id actor, Id conversation_id);
  store::Conversation rename(Id actor, Id conversation_id, std::string_view title);

  std::vector<MemberView> members(Id actor, Id conversation_id);
  // Adds user with role ("member" or "admin"). Joining a channel oneself is
  // allowed to anyone; otherwise owner/admin only, and only owners make admins.
  store::Member add_member(Id actor, Id conversation_id, Id user_id, std::string_view role);
  // Removes user; actor == user is leaving. An owner who leaves hands the
  // conversation to the longest-standing admin, or else member.
  void remove_member(Id actor, Id conversation_id, Id user_id);
  // Owner only. Setting "owner" transfers ownership; the old owner becomes admin.
  store::Member set_member_role(Id actor, Id conversation_id, Id user_id, std::string_view role);

  SendResult send(Id actor, Id conversation_id, std::string_view client_id, std::string_view body,
                  SendOptions opts = {});
  // Non-blocking send for the gateway: validates (throws Error at once on bad
  // input), queues the write, and calls done on the store writer thread after
  // the commit (and after the event went to the sink).
  using SendDone = std::function<void(std::exception_ptr, const SendResult&)>;
  void send_async(Id actor, Id conversation_id, std::string client_id, std::string body,
                  SendOptions opts, SendDone done);
  // Receives committed changes; set once at start-up, before serving.
  void set_event_sink(EventSink* sink) { sink_ = sink; }
  // after: ascending seq > after; before: descending seq < before; neither:
  // the newest page, descending.
  std::vector<store::Message> list_messages(Id actor, Id conversation_id,
                                            std::optional<std::int64_t> after,
                                            std::optional<std::int64_t> before, int limit);
  // For a (re)subscribing member: messages after `since` (none when since is
  // empty), at most limit; past the limit, the newest page and truncated.
  // At most `limit` messages, and no more than `max_bytes` of them (bodies
  // plus an allowance per event): a replay must fit the connection's outbound
  // queue, or the client would be cut off by its own catch-up.
  Replay replay(Id actor, Id conversation_id, std::optional<std::int64_t> since, int limit,
                std::size_t max_bytes = SIZE_MAX);
  store::Message get_message(Id actor, Id conversation_id, std::int64_t seq);
  // The thread under root_seq (a reply's seq names its root's thread):
  // replies with seq > after, at most limit.
  Thread thread(Id actor, Id conversation_id, std::int64_t root_seq, std::int64_t after, int limit);
  // The thread summary of each message of `seqs` that has replies.
  std::vector<store::ThreadSummary> thread_summaries(Id actor, Id conversation_id,
                                                     std::span<const std::int64_t> seqs);
  store::Message edit_message(Id actor, Id conversation_id, std::int64_t seq,
                              std::string_view body);
  store::Message delete_message(Id actor, Id conversation_id, std::int64_t seq);
  // Adds (idempotent) or removes actor's reaction on a message of a
  // conversation actor belongs to; `changed` false when nothing moved.
  struct Reacted {
    ReactionEvent event;
    bool changed = false;
  };
  Reacted react(Id actor, Id conversation_id, std::int64_t seq, std::string_view reaction,
                bool add);
  // Per message of `seqs`: each reaction, its count and whether actor has it.
  std::vector<store::ReactionCount> reactions(Id actor, Id conversation_id,
                                              std::span<const std::int64_t> seqs);
  // Who reacted with `reaction` on the message, by user id after after_user.
  std::vector<Id> reaction_users(Id actor, Id conversation_id, std::int64_t seq,
                                 std::string_view reaction, Id after_user, int limit);
  // actor's own reactions, all of them, in pages of `page` (data export).
  std::vector<store::UserReaction> reactions_of(Id actor, int page);
  // Polls. vote: replaces actor's votes (empty retracts); refused on a
  // closed poll, for options that do not exist, past max_votes.
  store::Poll poll(Id actor, Id conversation_id, std::int64_t seq);
  store::Poll vote(Id actor, Id conversation_id, std::int64_t seq,
                   std::vector<std::int64_t> option_ids);
  store::Poll add_poll_option(Id actor, Id conversation_id, std::int64_t seq,
                              std::string_view text);
  // The poll's creator or a conversation owner/admin; idempotent.
  store::Poll close_poll(Id actor, Id conversation_id, std::int64_t seq);
  // Moderation (moderation.cpp), by conversation owners and admins (an
  // admin acts on members only); each action is in the audit trail with ip.
  // mute: seconds 0 unmutes. ban: removes the user and keeps them out.
  store::Member mute(Id actor, Id conversation_id, Id user_id, std::int64_t seconds,
                     std::string_view ip);
  void ban(Id actor, Id conversation_id, Id user_id, std::string_view reason, std::string_view ip);
  bool unban(Id actor, Id conversation_id, Id user_id, std::string_view ip);
  std::vector<store::Ban> bans(Id actor, Id conversation_id, Id after_user, int limit);
  store::Conversation set_slow_mode(Id actor, Id conversation_id, std::int64_t seconds,
                                    std::string_view ip);
  // Any member reports a message; server admins list and resolve reports
  // (action "dismiss" or "delete_message").
  store::Report report(Id actor, Id conversation_id, std::int64_t seq, std::string_view reason,
                       std::string_view ip);
  std::vector<store::Report> reports(Id admin, bool open_only, Id before_id, int limit);
  store::Report resolve_report(Id admin, Id report_id, std::string_view action,
                               std::string_view ip);
  // Search (search.cpp): the messages of actor's conversations matching
  // query ("words", "\"a phrase\"", -excluded, from:user, in:conversation,
  // has:link|file|image|poll, is:pinned|thread|mentioned, before:/after:/on:
  // YYYY-MM-DD), best first. terms: what to highlight.
  struct SearchResult {
    std::vector<store::Message> messages;
    std::vector<std::string> terms;
  };
  SearchResult search(Id actor, std::string_view query, int limit, int offset,
                      bool relevance = false);
  // Pins or unpins a message (idempotent; false when nothing changed). Who
  // may: any member, or owners and admins where the conversation's pin_role
  // is "admin".
  bool pin(Id actor, Id conversation_id, std::int64_t seq, bool pinned);
  // Pinned messages, newest seq first, seq < before.
  std::vector<std::pair<store::Pin, store::Message>> pinned(Id actor, Id conversation_id,
                                                            std::int64_t before, int limit);
  // Which of `seqs` are pinned.
  std::vector<store::Pin> pins_among(Id actor, Id conversation_id,
                                     std::span<const std::int64_t> seqs);
  // Owners and admins: who may pin ("member" or "admin").
  store::Conversation set_pin_role(Id actor, Id conversation_id, std::string_view role);
  // Moves the read marker forward to seq (clamped to the newest message).
  ConversationView mark_read(Id actor, Id conversation_id, std::int64_t seq);
  // Moves actor's delivered marker forward to seq (clamped to the newest
  // message); returns it. Members hear it where the conversation has at most
  // limits.receipts_max_members members.
  std::int64_t mark_delivered(Id actor, Id conversation_id, std::int64_t seq);
  // actor's notification level in the conversation: "all", "mentions" or "none".
  ConversationView set_notify(Id actor, Id conversation_id, std::string_view level);

  int max_page_size() const;

 private:
  void check_body(std::string_view body) const;
  void check_client_id(std::string_view client_id) const;
  SendResult append(store::Store& s, const store::Message& msg);
  // A send with mentions (or one the batch refused) step by step.
  SendResult append_checked(store::Store& s, store::Message m);
  void after_send(const SendResult& r);

  EventSink* sink_ = nullptr;

  const Config& cfg_;
  store::Database& db_;
  IdGenerator& ids_;
  metrics::Counter& messages_sent_;
  metrics::Counter& send_retries_;
  metrics::Counter& replies_sent_;
  metrics::Counter& mentions_sent_;
  metrics::Counter& poll_votes_;
  metrics::Counter& moderation_actions_;
  metrics::Counter& reports_filed_;
  metrics::Counter& searches_;
  metrics::Counter& polls_refused_;
  metrics::Counter& reactions_added_;
  metrics::Counter& reactions_removed_;
  metrics::Counter& reactions_refused_;
};

}  // namespace parley::chat
