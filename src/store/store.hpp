// The Store interface: one connection to the database, blocking. SqlStore
// (sql_store.hpp) implements the domain once; sqlite/ and postgres/ supply
// the connection, transactions and migrations of each engine.
//
// Threading: a Store is used by one thread at a time. Never call it on an
// I/O worker: go through Database (database.hpp), which runs writes on the
// store writer thread with group commit and reads on handler threads.
//
// Errors: methods throw parley::Error: conflict for unique violations the
// caller may expect (usernames), unavailable when the database is busy, full
// or gone, internal for anything else.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/types.hpp"

namespace parley::store {

class Store {
 public:
  virtual ~Store() = default;

  // Transactions. begin() takes the write lock up front (BEGIN IMMEDIATE) when
  // `write` is set, so a batch never fails half-way on lock upgrade.
  virtual void begin(bool write) = 0;
  virtual void commit() = 0;
  virtual void rollback() = 0;
  virtual void savepoint() = 0;  // one level: the group-commit job boundary
  virtual void release() = 0;
  virtual void rollback_to() = 0;
  // Moves whenever this connection's transaction gains something a failed
  // job would need undone: rows inserted, updated or deleted, and (PostgreSQL)
  // a failed statement, which leaves the transaction unusable until rolled
  // back. The writer compares it before and after a job.
  virtual std::int64_t total_changes() = 0;
  // False once a transaction ended, including when the engine rolled it back
  // on its own (disk full, I/O error).
  virtual bool in_transaction() = 0;

  // Health and schema.
  virtual void ping() = 0;
  virtual void exec_script(std::string_view sql) = 0;
  virtual std::int64_t schema_version() = 0;  // 0 before the first migration
  virtual void record_migration(std::int64_t version, std::string_view name, std::int64_t now) = 0;
  // Inside a write transaction: holds off other processes migrating the same
  // database until it ends (several nodes may start at once).
  virtual void lock_schema() = 0;

  // Users.
  virtual void insert_user(const User& u) = 0;  // Errc::conflict if the username is taken
  virtual std::optional<User> user_by_id(Id id) = 0;
  virtual std::optional<User> user_by_username(std::string_view username) = 0;
  virtual std::int64_t count_users() = 0;
  // Users with id > after_id, ascending.
  virtual std::vector<User> list_users(Id after_id, int limit) = 0;
  // Enabled users whose username, display name, or a word of the display
  // name starts with prefix (lower case; LIKE wildcards are matched
  // literally), by username.
  virtual std::vector<User> search_users(std::string_view prefix, int limit) = 0;
  virtual void set_user_role(Id id, std::string_view role) = 0;
  virtual void set_user_disabled(Id id, bool disabled) = 0;
  // Erasure: the row stays (ids in conversations and messages keep pointing
  // at it) but holds nothing personal; disabled, no usable password.
  virtual void anonymize_user(Id id, std::string_view username, std::string_view display_name) = 0;

  // Refresh tokens, found by the SHA-256 of the opaque token.
  virtual void insert_refresh_token(const RefreshToken& t, std::string_view token_hash) = 0;
  virtual std::optional<RefreshToken> refresh_token_by_hash(std::string_view token_hash) = 0;
  virtual void mark_refresh_token_used(Id id, std::int64_t now) = 0;
  virtual void revoke_refresh_family(Id family_id, std::int64_t now) = 0;
  virtual void revoke_user_refresh_tokens(Id user_id, std::int64_t now) = 0;

  // Deletes up to `limit` refresh tokens that expired before `before_ms`;
  // returns how many.
  virtual std::int64_t delete_refresh_tokens_expired_before(std::int64_t before_ms, int limit) = 0;

  // The audit trail.
  virtual void insert_audit_event(const AuditEvent& e) = 0;
  // Newest first, id < before_id; `action` "" for any; `user_id` 0 for any,
  // else events where that user is the actor or the target.
  virtual std::vector<AuditEvent> audit_events(Id before_id, std::string_view action, Id user_id,
                                               int limit) = 0;
  // Deletes up to `limit` of the oldest events before `before_ms`; returns how many.
  virtual std::int64_t delete_audit_events_before(std::int64_t before_ms, int limit) = 0;

  // Conversations and members.
  virtual void insert_conversation(const Conversation& c) = 0;
  virtual std::optional<Conversation> conversation(Id id) = 0;
  virtual std::optional<Conversation> conversation_by_direct_key(std::string_view key) = 0;
  virtual void set_conversation_title(Id id, std::string_view title, std::int64_t now) = 0;
  virtual void insert_member(const Member& m) = 0;
  virtual std::optional<Member> member(Id conversation_id, Id user_id) = 0;
  virtual std::vector<Member> members(Id conversation_id) = 0;
  virtual std::int64_t member_count(Id conversation_id) = 0;
  virtual std::vector<Id> conversation_ids_for_user(Id user_id) = 0;
  virtual void delete_member(Id conversation_id, Id user_id) = 0;
  virtual void set_member_role(Id conversation_id, Id user_id, std::string_view role) = 0;
  // A user's conversations, newest activity first, strictly after `after`.
  virtual std::vector<ConversationSummary> conversations_for_user(
      Id user_id, const std::optional<ConversationCursor>& after, int limit) = 0;

  // Messages.
  // Increments the conversation's last_seq and activity time; returns the new
  // seq. Must run in the transaction that inserts the message.
  virtual std::int64_t next_seq(Id conversation_id, std::int64_t now) = 0;
  // Inserts m with its seq as it is, and a mentions row per mentioned member
  // (user 0 for all or here); mentions are not checked here.
  virtual void insert_message(const Message& m) = 0;
  // The common case of sending, for a run of new messages at once (the
  // group-commit writer's batch): for each in[i] whose sender is a member of
  // its conversation and whose (sender_id, client_id) is used neither in the
  // store nor earlier in `in`, takes the next seq of its conversation (in the
  // order of `in`), inserts it with that seq, marks it read for its sender (as
  // set_last_read), moves the conversation's activity time (as next_seq) and
  // sets out[i] to the seq. Every other out[i] is 0 and nothing was written
  // for it: the caller takes the step-by-step path, which also says why (a
  // retry, not a member, no such conversation). The seq of each conversation
  // is updated once per call and each sender's read marker once, and rows go
  // in with multi-row inserts (SQLite) or all in one statement (PostgreSQL).
  // A reply's reply_to is set to its thread's root (the reply_to of the
  // message it answers, when that is itself a reply); a reply to a seq not
  // stored is refused (out[i] 0), as is any message with mentions (the
  // caller checks them, then next_seq and insert_message).
  virtual void append_messages(std::span<Message* const> in, std::span<std::int64_t> out) = 0;
  virtual std::optional<Message> message_by_client_id(Id sender_id, std::string_view client_id) = 0;
  // Threads: the replies under each root of `seqs` that has any (tombstoned
  // replies not counted), by root seq; at most max_participants each.
  virtual std::vector<ThreadSummary> thread_summaries(Id conversation_id,
                                                      std::span<const std::int64_t> seqs,
                                                      int max_participants) = 0;
  // The replies under root_seq with seq > after_seq, ascending.
  virtual std::vector<Message> thread_replies(Id conversation_id, std::int64_t root_seq,
                                              std::int64_t after_seq, int limit) = 0;
  virtual std::optional<Message> message(Id conversation_id, std::int64_t seq) = 0;
  // Ascending by seq: seq > after_seq. Descending: seq < before_seq.
  virtual std::vector<Message> messages_after(Id conversation_id, std::int64_t after_seq,
                                              int limit) = 0;
  virtual std::vector<Message> messages_before(Id conversation_id, std::int64_t before_seq,
                                               int limit) = 0;
  virtual void update_message_body(Id conversation_id, std::int64_t seq, std::string_view body,
                                   std::int64_t now) = 0;
  virtual void tombstone_message(Id conversation_id, std::int64_t seq, std::int64_t now) = 0;
  // A user's messages, ascending by id, id > after_id (data export).
  virtual std::vector<Message> messages_by_sender(Id sender_id, Id after_id, int limit) = 0;
  // Tombstones (body emptied, deleted_at set; the seq stays) up to `limit`
  // not yet deleted messages of one sender (returned as they are now, for the
  // live events), or with id < before_id (returns how many).
  virtual std::vector<Message> tombstone_sender_messages(Id sender_id, std::int64_t now,
                                                         int limit) = 0;
  virtual std::int64_t tombstone_messages_before(Id before_id, std::int64_t now, int limit) = 0;
  virtual void set_last_read(Id conversation_id, Id user_id, std::int64_t seq) = 0;
  // Messages after after_seq not sent by user_id and not deleted.
  virtual std::int64_t unread_count(Id conversation_id, Id user_id, std::int64_t after_seq) = 0;
  // Mentions of user_id (by id, all or here) in messages after after_seq.
  virtual std::int64_t unread_mention_count(Id conversation_id, Id user_id,
                                            std::int64_t after_seq) = 0;
  virtual void set_member_notify(Id conversation_id, Id user_id, std::string_view level) = 0;
  // Moves the member's delivered marker forward; false when it was there.
  // set_last_read moves it along with the read marker.
  virtual bool set_delivered(Id conversation_id, Id user_id, std::int64_t seq) = 0;
  // Pins: set_pin is false when nothing changed (already pinned, or not).
  virtual bool set_pin(Id conversation_id, std::int64_t seq, Id user_id, std::int64_t now,
                       bool pinned) = 0;
  // Pins with lo_seq <= seq <= hi_seq, newest seq first.
  virtual std::vector<Pin> pins(Id conversation_id, std::int64_t lo_seq, std::int64_t hi_seq,
                                int limit) = 0;
  virtual void set_conversation_pin_role(Id id, std::string_view role, std::int64_t now) = 0;
  // Search: messages of the user's conversations matching q, best first.
  // index_pending indexes up to `limit` messages sent since the last call
  // (SQLite; PostgreSQL indexes as it writes) and returns how many;
  // search_backlog is how many wait.
  virtual std::vector<Message> search_messages(const SearchQuery& q) = 0;
  virtual std::int64_t index_pending(int limit) = 0;
  virtual std::int64_t search_backlog() = 0;
  // Moderation. A conversation's bans by user id; reports newest first
  // (open_only: not resolved), id < before_id. insert_report is false when
  // the reporter has an open report of that message already.
  virtual void set_muted_until(Id conversation_id, Id user_id, std::int64_t until) = 0;
  virtual void set_last_sent(Id conversation_id, Id user_id, std::int64_t at) = 0;
  virtual void set_slow_mode(Id conversation_id, std::int64_t seconds, std::int64_t now) = 0;
  virtual void insert_ban(const Ban& b) = 0;
  virtual bool delete_ban(Id conversation_id, Id user_id) = 0;
  virtual std::optional<Ban> ban(Id conversation_id, Id user_id) = 0;
  virtual std::vector<Ban> bans(Id conversation_id, Id after_user, int limit) = 0;
  virtual bool insert_report(const Report& r) = 0;
  virtual std::optional<Report> report(Id id) = 0;
  virtual std::vector<Report> reports(bool open_only, Id before_id, int limit) = 0;
  virtual void resolve_report(Id id, Id by, std::int64_t at, std::string_view resolution) = 0;
  // Polls (the message is inserted first). poll(): with its options, their
  // votes, whether viewer voted for each, and up to max_voters voter ids
  // per option (none for an anonymous poll).
  virtual void insert_poll(const Poll& p) = 0;
  virtual std::optional<Poll> poll(Id conversation_id, std::int64_t seq, Id viewer,
                                   int max_voters) = 0;
  // Replaces user_id's votes with option_ids (empty: retracts).
  virtual void set_poll_votes(Id conversation_id, std::int64_t seq, Id user_id,
                              std::span<const std::int64_t> option_ids, std::int64_t now) = 0;
  virtual std::int64_t add_poll_option(Id conversation_id, std::int64_t seq, std::string_view text,
                                       Id user_id) = 0;  // returns the new option's id
  virtual void close_poll(Id conversation_id, std::int64_t seq, std::int64_t now) = 0;

  // Collaboration documents. insert: Errc::conflict when the name is taken.
  virtual void insert_collab_document(const CollabDocument& d) = 0;
  virtual std::optional<CollabDocument> collab_document(Id id) = 0;
  virtual std::optional<CollabDocument> collab_document_by_name(std::string_view name) = 0;
  // Documents the user owns, has a role in, or that belong to a conversation
  // the user is a member of; by id, id > after_id.
  virtual std::vector<CollabDocument> collab_documents_for_user(Id user_id, Id after_id,
                                                                int limit) = 0;
  // Deletes the document with its log, access rows and versions.
  virtual void delete_collab_document(Id id) = 0;
  // "editor" or "viewer" from collab_access; empty when none.
  virtual std::string collab_role(Id document_id, Id user_id) = 0;
  // role "" removes the row.
  virtual void set_collab_role(Id document_id, Id user_id, std::string_view role) = 0;
  virtual std::vector<std::pair<Id, std::string>> collab_roles(Id document_id) = 0;
  // Reactions. add_reaction: false when that user already had it.
  virtual bool add_reaction(Id conversation_id, std::int64_t seq, Id user_id,
                            std::string_view reaction, std::int64_t now) = 0;
  // False when it was not there.
  virtual bool remove_reaction(Id conversation_id, std::int64_t seq, Id user_id,
                               std::string_view reaction) = 0;
  // Distinct reactions user_id has on the message.
  virtual std::int64_t reactions_by_user(Id conversation_id, std::int64_t seq, Id user_id) = 0;
  // Per message of `seqs`, each reaction with its count and whether viewer
  // has it; by seq, then by when the reaction first came.
  virtual std::vector<ReactionCount> reaction_counts(Id conversation_id,
                                                     std::span<const std::int64_t> seqs,
                                                     Id viewer) = 0;
  // Who reacted with `reaction`, in user id order after after_user.
  virtual std::vector<Id> reaction_users(Id conversation_id, std::int64_t seq,
                                         std::string_view reaction, Id after_user, int limit) = 0;
  // user_id's own reactions in (conversation_id, seq, reaction) order, after
  // `after` (a zero conversation_id: from the start).
  virtual std::vector<UserReaction> reactions_of_user(Id user_id, const UserReaction& after,
                                                      int limit) = 0;
  // Appends an update with the document's next seq (returned), moving its
  // last_seq, updated_at and log counters in the same transaction.
  virtual std::int64_t append_collab_update(Id document_id, std::string_view data, Id author_id,
                                            std::int64_t now) = 0;
  // The same for a run of updates in one go: out[i] is in[i]'s seq, or 0
  // when its document does not exist. A document's updates are numbered in
  // the order of `in`.
  virtual void append_collab_updates(std::span<const CollabAppend> in, std::int64_t now,
                                     std::span<std::int64_t> out) = 0;
  // Rows with seq > after_seq, ascending.
  virtual std::vector<CollabUpdate> collab_updates_after(Id document_id, std::int64_t after_seq,
                                                         int limit) = 0;
  // Replaces the rows with seq <= upto_seq by one row (seq upto_seq) holding
  // `merged`; recounts the log.
  virtual void compact_collab_updates(Id document_id, std::int64_t upto_seq,
                                      std::string_view merged, std::int64_t now) = 0;
  virtual void insert_collab_version(const CollabVersion& v) = 0;
  // Newest first, without their state.
  virtual std::vector<CollabVersion> collab_versions(Id document_id, int limit) = 0;
  virtual std::optional<CollabVersion> collab_version(Id document_id, Id version_id) = 0;
};

}  // namespace parley::store
