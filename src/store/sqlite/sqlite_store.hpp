// Store on SQLite 3: one sqlite3 connection, prepared statements cached per
// connection. WAL journal; synchronous=FULL by default so a committed
// transaction survives power loss and kill -9.
//
// Threading: one thread at a time (see store.hpp).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "store/store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace parley::store {

struct SqliteOptions {
  std::string path;
  std::string synchronous = "full";  // "full" | "normal"
  int busy_timeout_ms = 5000;
  bool read_only = false;
};

class SqliteStore final : public Store {
 public:
  // Opens (creating the file and its directory if needed) and configures the
  // connection. Throws Error(unavailable) when the file cannot be opened.
  explicit SqliteStore(const SqliteOptions& options);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  void begin(bool write) override;
  void commit() override;
  void rollback() override;
  void savepoint() override;
  void release() override;
  void rollback_to() override;
  std::int64_t total_changes() override;
  bool in_transaction() override;

  void ping() override;
  void exec_script(std::string_view sql) override;
  std::int64_t schema_version() override;
  void record_migration(std::int64_t version, std::string_view name, std::int64_t now) override;

  void insert_user(const User& u) override;
  std::optional<User> user_by_id(Id id) override;
  std::optional<User> user_by_username(std::string_view username) override;
  std::int64_t count_users() override;
  std::vector<User> list_users(Id after_id, int limit) override;
  void set_user_role(Id id, std::string_view role) override;
  void set_user_disabled(Id id, bool disabled) override;

  void insert_refresh_token(const RefreshToken& t, std::string_view token_hash) override;
  std::optional<RefreshToken> refresh_token_by_hash(std::string_view token_hash) override;
  void mark_refresh_token_used(Id id, std::int64_t now) override;
  void revoke_refresh_family(Id family_id, std::int64_t now) override;
  void revoke_user_refresh_tokens(Id user_id, std::int64_t now) override;

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
  std::optional<Message> message_by_client_id(Id sender_id, std::string_view client_id) override;
  std::optional<Message> message(Id conversation_id, std::int64_t seq) override;
  std::vector<Message> messages_after(Id conversation_id, std::int64_t after_seq,
                                      int limit) override;
  std::vector<Message> messages_before(Id conversation_id, std::int64_t before_seq,
                                       int limit) override;
  void update_message_body(Id conversation_id, std::int64_t seq, std::string_view body,
                           std::int64_t now) override;
  void tombstone_message(Id conversation_id, std::int64_t seq, std::int64_t now) override;
  void set_last_read(Id conversation_id, Id user_id, std::int64_t seq) override;
  std::int64_t unread_count(Id conversation_id, Id user_id, std::int64_t after_seq) override;

  // PRAGMA integrity_check == "ok".
  bool integrity_ok();

 private:
  class Stmt;
  Stmt prepare(const char* sql);
  void exec(const char* sql);
  [[noreturn]] void raise(int rc, const char* what);

  sqlite3* db_ = nullptr;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

}  // namespace parley::store
