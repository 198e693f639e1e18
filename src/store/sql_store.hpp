// SqlStore: the chat domain written once in SQL that both engines accept
// (parameters as ?N, RETURNING, CASE instead of two-argument MAX). An engine
// (sqlite/, postgres/) supplies the connection: prepared cursors, transaction
// control, error mapping and its own migrations.
//
// Threading: one thread at a time (see store.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "store/store.hpp"

namespace parley::store {

// "INSERT ... VALUES (?1, ..), (..)" for 1, 2, 4, ... 32 rows, made once, so
// a run of n rows goes in chunks(n) statements of at most six texts.
class MultiRowInsert {
 public:
  static constexpr std::size_t kMaxRows = 32;
  // head: "INSERT INTO t (a, b) VALUES "
  MultiRowInsert(std::string_view head, std::size_t columns);
  // rows: a power of two, at most kMaxRows.
  const char* sql(std::size_t rows) const;
  // Rows in the next chunk when `left` remain.
  static std::size_t chunk(std::size_t left);

 private:
  std::array<std::string, 6> texts_;
};

class SqlStore : public Store {
 public:
  // The engines create schema_migrations (with their own column types).
  void record_migration(std::int64_t version, std::string_view name, std::int64_t now) override;
  void insert_user(const User& u) override;
  std::optional<User> user_by_id(Id id) override;
  std::optional<User> user_by_username(std::string_view username) override;
  std::int64_t count_users() override;
  std::vector<User> list_users(Id after_id, int limit) override;
  std::vector<User> search_users(std::string_view prefix, int limit) override;
  void set_user_role(Id id, std::string_view role) override;
  void set_user_disabled(Id id, bool disabled) override;
  void anonymize_user(Id id, std::string_view username, std::string_view display_name) override;

  void insert_refresh_token(const RefreshToken& t, std::string_view token_hash) override;
  std::optional<RefreshToken> refresh_token_by_hash(std::string_view token_hash) override;
  void mark_refresh_token_used(Id id, std::int64_t now) override;
  void revoke_refresh_family(Id family_id, std::int64_t now) override;
  void revoke_user_refresh_tokens(Id user_id, std::int64_t now) override;

  std::int64_t delete_refresh_tokens_expired_before(std::int64_t before_ms, int limit) override;

  void insert_audit_event(const AuditEvent& e) override;
  std::vector<AuditEvent> audit_events(Id before_id, std::string_view action, Id user_id,
                                       int limit) override;
  std::int64_t delete_audit_events_before(std::int64_t before_ms, int limit) override;

  void insert_conversation(const Conversation& c) override;
  std::optional<Conversation> conversation(Id id) override;
  std::optional<Conversation> conversation_by_direct_key(std::string_view key) override;
  void set_conversation_title(Id id, std::string_view title, std::int64_t now) override;
  void insert_member(const Member& m) override;
  std::optional<Member> member(Id conversation_id, Id user_id) override;
  std::vector<Member> members(Id conversation_id) override;
  std::int64_t member_count(Id conversation_id) override;
  std::vector<Id> conversation_ids_for_user(Id user_id) override;
  void delete_member(Id conversation_id, Id user_id) override;
  void set_member_role(Id conversation_id, Id user_id, std::string_view role) override;
  std::vector<ConversationSummary> conversations_for_user(
      Id user_id, const std::optional<ConversationCursor>& after, int limit) override;

  std::int64_t next_seq(Id conversation_id, std::int64_t now) override;
  void insert_message(const Message& m) override;
  void append_messages(std::span<Message* const> in, std::span<std::int64_t> out) override;
  std::optional<Message> message_by_client_id(Id sender_id, std::string_view client_id) override;
  std::optional<Message> message(Id conversation_id, std::int64_t seq) override;
  std::vector<Message> messages_after(Id conversation_id, std::int64_t after_seq,
                                      int limit) override;
  std::vector<Message> messages_before(Id conversation_id, std::int64_t before_seq,
                                       int limit) override;
  void update_message_body(Id conversation_id, std::int64_t seq, std::string_view body,
                           std::int64_t now) override;
  void tombstone_message(Id conversation_id, std::int64_t seq, std::int64_t now) override;
  std::vector<Message> messages_by_sender(Id sender_id, Id after_id, int limit) override;
  std::vector<Message> tombstone_sender_messages(Id sender_id, std::int64_t now,
                                                 int limit) override;
  std::int64_t tombstone_messages_before(Id before_id, std::int64_t now, int limit) override;
  void set_last_read(Id conversation_id, Id user_id, std::int64_t seq) override;
  std::int64_t unread_count(Id conversation_id, Id user_id, std::int64_t after_seq) override;
  std::int64_t unread_mention_count(Id conversation_id, Id user_id,
                                    std::int64_t after_seq) override;
  void set_member_notify(Id conversation_id, Id user_id, std::string_view level) override;
  bool set_delivered(Id conversation_id, Id user_id, std::int64_t seq) override;
  bool set_pin(Id conversation_id, std::int64_t seq, Id user_id, std::int64_t now,
               bool pinned) override;
  std::vector<Pin> pins(Id conversation_id, std::int64_t lo_seq, std::int64_t hi_seq,
                        int limit) override;
  void set_conversation_pin_role(Id id, std::string_view role, std::int64_t now) override;

  // Search (sql_search.cpp): the SQLite form; PgStore has its own.
  std::vector<Message> search_messages(const SearchQuery& q) override;
  std::int64_t index_pending(int limit) override;
  std::int64_t search_backlog() override;

  // Moderation (sql_moderation.cpp).
  void set_muted_until(Id conversation_id, Id user_id, std::int64_t until) override;
  void set_last_sent(Id conversation_id, Id user_id, std::int64_t at) override;
  void set_slow_mode(Id conversation_id, std::int64_t seconds, std::int64_t now) override;
  void insert_ban(const Ban& b) override;
  bool delete_ban(Id conversation_id, Id user_id) override;
  std::optional<Ban> ban(Id conversation_id, Id user_id) override;
  std::vector<Ban> bans(Id conversation_id, Id after_user, int limit) override;
  bool insert_report(const Report& r) override;
  std::optional<Report> report(Id id) override;
  std::vector<Report> reports(bool open_only, Id before_id, int limit) override;
  void resolve_report(Id id, Id by, std::int64_t at, std::string_view resolution) override;

  // Polls (sql_polls.cpp).
  void insert_poll(const Poll& p) override;
  std::optional<Poll> poll(Id conversation_id, std::int64_t seq, Id viewer,
                           int max_voters) override;
  void set_poll_votes(Id conversation_id, std::int64_t seq, Id user_id,
                      std::span<const std::int64_t> option_ids, std::int64_t now) override;
  std::int64_t add_poll_option(Id conversation_id, std::int64_t seq, std::string_view text,
                               Id user_id) override;
  void close_poll(Id conversation_id, std::int64_t seq, std::int64_t now) override;
  std::vector<ThreadSummary> thread_summaries(Id conversation_id,
                                              std::span<const std::int64_t> seqs,
                                              int max_participants) override;
  std::vector<Message> thread_replies(Id conversation_id, std::int64_t root_seq,
                                      std::int64_t after_seq, int limit) override;

  // Reactions (sql_reactions.cpp).
  bool add_reaction(Id conversation_id, std::int64_t seq, Id user_id, std::string_view reaction,
                    std::int64_t now) override;
  bool remove_reaction(Id conversation_id, std::int64_t seq, Id user_id,
                       std::string_view reaction) override;
  std::int64_t reactions_by_user(Id conversation_id, std::int64_t seq, Id user_id) override;
  std::vector<ReactionCount> reaction_counts(Id conversation_id, std::span<const std::int64_t> seqs,
                                             Id viewer) override;
  std::vector<Id> reaction_users(Id conversation_id, std::int64_t seq, std::string_view reaction,
                                 Id after_user, int limit) override;

  std::vector<UserReaction> reactions_of_user(Id user_id, const UserReaction& after,
                                              int limit) override;

  // Collaboration documents (sql_collab.cpp).
  void insert_collab_document(const CollabDocument& d) override;
  std::optional<CollabDocument> collab_document(Id id) override;
  std::optional<CollabDocument> collab_document_by_name(std::string_view name) override;
  std::vector<CollabDocument> collab_documents_for_user(Id user_id, Id after_id,
                                                        int limit) override;
  void delete_collab_document(Id id) override;
  std::string collab_role(Id document_id, Id user_id) override;
  void set_collab_role(Id document_id, Id user_id, std::string_view role) override;
  std::vector<std::pair<Id, std::string>> collab_roles(Id document_id) override;
  std::int64_t append_collab_update(Id document_id, std::string_view data, Id author_id,
                                    std::int64_t now) override;
  void append_collab_updates(std::span<const CollabAppend> in, std::int64_t now,
                             std::span<std::int64_t> out) override;
  std::vector<CollabUpdate> collab_updates_after(Id document_id, std::int64_t after_seq,
                                                 int limit) override;
  void compact_collab_updates(Id document_id, std::int64_t upto_seq, std::string_view merged,
                              std::int64_t now) override;
  void insert_collab_version(const CollabVersion& v) override;
  std::vector<CollabVersion> collab_versions(Id document_id, int limit) override;
  std::optional<CollabVersion> collab_version(Id document_id, Id version_id) override;

 protected:
  // A prepared statement of one connection: parameters bind by position
  // (1-based); step() runs it on first call and moves to the next row; the
  // engine keeps one per statement text and reuses it after reset().
  class Cursor {
   public:
    virtual ~Cursor() = default;
    virtual void bind(int i, std::int64_t v) = 0;
    virtual void bind(int i, std::string_view v) = 0;
    virtual void bind_null(int i) = 0;
    // Bytes that may hold anything (a BLOB in SQLite, bytea in PostgreSQL).
    virtual void bind_blob(int i, std::string_view v) = 0;
    // True when a row is ready; false when done. Throws parley::Error.
    virtual bool step() = 0;
    virtual std::int64_t i64(int col) const = 0;
    virtual std::string text(int col) const = 0;
    virtual std::string blob(int col) const = 0;
    virtual bool is_null(int col) const = 0;
    virtual void reset() = 0;
  };

  // A cursor in use: fluent binds, and reset when it goes out of scope.
  class Stmt {
   public:
    explicit Stmt(Cursor& c) : c_(c) {}
    ~Stmt() { c_.reset(); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    template <class T>
    Stmt& bind(int i, const T& v) {
      c_.bind(i, v);
      return *this;
    }
    Stmt& bind_null(int i) {
      c_.bind_null(i);
      return *this;
    }
    Stmt& bind_blob(int i, std::string_view v) {
      c_.bind_blob(i, v);
      return *this;
    }
    bool step() { return c_.step(); }
    void run() {
      while (c_.step()) {
      }
    }
    // Runs it and returns how many rows it yielded (DELETE/UPDATE ... RETURNING).
    std::int64_t count_rows() {
      std::int64_t n = 0;
      while (c_.step()) ++n;
      return n;
    }
    std::int64_t i64(int col) const { return c_.i64(col); }
    std::string text(int col) const { return c_.text(col); }
    std::string blob(int col) const { return c_.blob(col); }
    bool is_null(int col) const { return c_.is_null(col); }

   private:
    Cursor& c_;
  };

  // The engine's cached cursor for this statement text. The text must be a
  // string with static storage: engines key their cache on its address.
  virtual Cursor& cursor(const char* sql) = 0;
  Stmt prepare(const char* sql) { return Stmt(cursor(sql)); }
  // Sets ok[i] to 1 where in[i] is the first use of its (sender_id,
  // client_id) in `in`, else to 0 (the caller's step-by-step path makes the
  // later ones retries of the first).
  // Takes a message's old body out of the search indexes (a deletion; an
  // edit then queues it again), unless it is still queued. PgStore: nothing
  // (its indexes follow the rows).
  virtual void unindex_message(Id id, std::string_view old_body, bool requeue);
  virtual bool postgres_dialect() const { return false; }
  // text with LIKE's % and _ (and the escape, !) taken literally: ESCAPE '!'.
  static std::string like_escaped(std::string_view text);
  // A message from a row whose first columns are the messages columns.
  static Message message_row(const Stmt& s);
  // unindex_message for each (id, body) row of sql (static text) with ?1, ?2.
  void unindex_where(const char* sql, std::int64_t p1, std::int64_t p2, bool requeue);
  // Deletes what goes with a tombstoned message (reactions, pin, mentions, poll).
  void delete_message_extras(Id conversation_id, std::int64_t seq);
  static void mark_first_uses(std::span<Message* const> in, std::span<std::int64_t> ok);
  // The newest version in schema_migrations (0 when empty).
  std::int64_t recorded_version();
};

}  // namespace parley::store
