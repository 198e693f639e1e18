// Rows of the chat domain as the store returns them. Times are UTC
// milliseconds since the Unix epoch; 0 means "not set".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.hpp"

namespace parley::store {

struct User {
  Id id = 0;
  std::string username;
  std::string display_name;
  std::string role;  // "user" | "admin"
  std::string password_hash;
  std::int64_t created_at = 0;
  bool disabled = false;
};

struct RefreshToken {
  Id id = 0;
  Id user_id = 0;
  Id family_id = 0;  // every rotation of one login shares a family
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
  std::int64_t used_at = 0;     // set when rotated; a second use is theft
  std::int64_t revoked_at = 0;  // set on logout or detected reuse
};

// One line of the audit trail (audit_events).
struct AuditEvent {
  Id id = 0;
  std::int64_t at = 0;
  Id actor_id = 0;  // who did it; 0: nobody known (a failed login for a name that does not exist)
  std::string action;  // "login.failed", "admin.user_updated", ...
  Id target_id = 0;    // the account it was done to; 0: none
  std::string ip;      // the client's address as the server saw it
  std::string detail;  // a JSON object
};

struct Conversation {
  Id id = 0;
  std::string kind;  // "direct" | "group" | "channel"
  std::string title;
  Id created_by = 0;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  std::int64_t last_seq = 0;        // seq of the newest message, 0 when none
  std::int64_t activity_at = 0;     // newest message time, or creation time
  std::string direct_key;           // "lo:hi" user ids for direct conversations
  std::string pin_role = "member";  // who may pin: "member" (anyone) | "admin"
  std::int64_t slow_mode_s = 0;     // members (not owners, admins) send once per this; 0: off
};

// A message search, parsed from the user's query (chat/search.cpp).
struct SearchQuery {
  Id user_id = 0;                    // only conversations this user belongs to
  std::vector<std::string> terms;    // each a substring the body holds (words and "phrases")
  std::vector<std::string> exclude;  // -term: substrings it does not hold
  std::vector<Id> from;              // from:username
  std::vector<Id> in;                // in:conversation
  bool has_link = false, has_poll = false, has_file = false;
  bool is_pinned = false, is_thread = false, is_mentioned = false;
  std::int64_t after = 0, before = 0;  // created_at bounds (ms), 0: none
  int limit = 20;
  int offset = 0;
  bool relevance = false;  // bm25 order (SQLite) instead of newest first
};

struct Ban {
  Id conversation_id = 0;
  Id user_id = 0;
  Id banned_by = 0;
  std::int64_t banned_at = 0;
  std::string reason;
};

// A member's report of a message, for the server's admins.
struct Report {
  Id id = 0;
  Id conversation_id = 0;
  std::int64_t seq = 0;
  Id reporter_id = 0;
  std::string reason;
  std::int64_t created_at = 0;
  Id resolved_by = 0;
  std::int64_t resolved_at = 0;  // 0: open
  std::string resolution;        // "dismissed" | "message_deleted"
};

// A pinned message of a conversation.
struct Pin {
  std::int64_t seq = 0;
  Id pinned_by = 0;
  std::int64_t pinned_at = 0;
};

struct Member {
  Id conversation_id = 0;
  Id user_id = 0;
  std::string role;  // "owner" | "admin" | "member"
  std::int64_t joined_at = 0;
  std::int64_t last_read_seq = 0;
  std::string notify = "all";      // notification level: "all" | "mentions" | "none"
  std::int64_t delivered_seq = 0;  // highest seq on any of the member's devices
  std::int64_t muted_until = 0;    // ms; may not send before it
  std::int64_t last_sent_at = 0;   // ms; kept where slow mode needs it
};

// Whom a message mentions: members by id, everyone (all), or everyone
// online (here).
struct Mentions {
  std::vector<Id> user_ids;
  bool here = false;
  bool all = false;
  bool empty() const { return user_ids.empty() && !here && !all; }
  bool operator==(const Mentions&) const = default;
};

struct Message {
  Id id = 0;
  Id conversation_id = 0;
  std::int64_t seq = 0;
  Id sender_id = 0;
  std::string client_id;
  std::string body;
  std::int64_t created_at = 0;
  std::int64_t edited_at = 0;
  std::int64_t deleted_at = 0;  // tombstone: body is emptied
  // A reply: the seq of its thread's root (never itself a reply); 0 for a
  // message of the conversation.
  std::int64_t reply_to = 0;
  bool broadcast = false;  // a reply also shown in the conversation
  Mentions mentions;
  // A poll message: the poll as it was sent (JSON: question, options,
  // settings), for clients; its state is in Poll.
  std::string poll;
};

struct PollOption {
  std::int64_t id = 0;  // 1, 2, ... in the order added
  std::string text;
  Id added_by = 0;
  std::int64_t votes = 0;
  bool me = false;         // the viewer voted for it
  std::vector<Id> voters;  // the first few, unless the poll is anonymous
};

struct Poll {
  Id conversation_id = 0;
  std::int64_t seq = 0;
  std::string question;
  std::int64_t max_votes = 1;  // 1: single choice
  bool anonymous = false;
  bool open_options = false;   // members may add options
  std::int64_t closes_at = 0;  // 0: no closing time
  std::int64_t closed_at = 0;  // 0: open (unless closes_at passed)
  Id created_by = 0;
  std::vector<PollOption> options;
  std::int64_t voters = 0;  // members with at least one vote
};

// The replies under one root message, counted at read time (tombstoned
// replies left out).
struct ThreadSummary {
  std::int64_t root_seq = 0;
  std::int64_t reply_count = 0;
  std::int64_t last_reply_seq = 0;
  std::int64_t last_reply_at = 0;
  std::vector<Id> participants;  // who replied, earliest first, at most a few
};

// One reaction on one message: how many reacted with it, whether the viewer did.
struct ReactionCount {
  std::int64_t seq = 0;
  std::string reaction;
  std::int64_t count = 0;
  bool me = false;
};

// One of a user's own reactions (data export).
struct UserReaction {
  Id conversation_id = 0;
  std::int64_t seq = 0;
  std::string reaction;
  std::int64_t created_at = 0;
};

struct ConversationSummary {
  Conversation conversation;
  Member me;
  std::int64_t unread = 0;
  std::int64_t unread_mentions = 0;
  std::int64_t member_count = 0;
  std::optional<Message> last_message;
};

// Keyset cursor over a user's conversations, newest activity first.
struct ConversationCursor {
  std::int64_t activity_at = 0;
  Id id = 0;
};

// A collaboration (Yjs) document: its name is the path clients connect to
// (/collab/<name>).
struct CollabDocument {
  Id id = 0;
  std::string name;
  Id conversation_id = 0;  // 0: standalone
  Id owner_id = 0;
  std::string title;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  std::int64_t last_seq = 0;   // seq of the newest update, 0 when none
  std::int64_t log_bytes = 0;  // bytes of the stored update log
  std::int64_t log_rows = 0;   // rows of it
};

// One row of a document's log: an update, or several compacted into one
// (seq: the newest it replaced).
struct CollabUpdate {
  std::int64_t seq = 0;
  std::string data;  // a Yjs update (v1)
  Id author_id = 0;  // 0: several, or the server
  std::int64_t at = 0;
};

// One update to append; data is viewed, not owned.
struct CollabAppend {
  Id document_id = 0;
  std::string_view data;
  Id author_id = 0;  // 0: the server
};

struct CollabVersion {
  Id id = 0;
  Id document_id = 0;
  std::string name;
  std::int64_t seq = 0;  // the log position it captured
  std::string state;     // the whole document as one update (empty when not read)
  std::int64_t state_bytes = 0;
  Id created_by = 0;
  std::int64_t created_at = 0;
};

}  // namespace parley::store
