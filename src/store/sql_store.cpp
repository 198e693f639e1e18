#include "store/sql_store.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <numeric>
#include <tuple>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace parley::store {

namespace {

constexpr const char* kUserCols =
    "id, username, display_name, role, password_hash, created_at, disabled";
constexpr const char* kConvCols =
    "c.id, c.kind, c.title, c.created_by, c.created_at, c.updated_at, c.last_seq, c.activity_at, "
    "COALESCE(c.direct_key, ''), c.pin_role, c.slow_mode_s";
// What goes with a tombstoned message: its reactions, pin, mentions and poll.
constexpr std::array kDeleteMessageExtras = {
    "DELETE FROM reactions WHERE conversation_id = ?1 AND seq = ?2",
    "DELETE FROM pins WHERE conversation_id = ?1 AND seq = ?2",
    "DELETE FROM mentions WHERE conversation_id = ?1 AND seq = ?2",
    "DELETE FROM poll_votes WHERE conversation_id = ?1 AND seq = ?2",
    "DELETE FROM poll_options WHERE conversation_id = ?1 AND seq = ?2",
    "DELETE FROM polls WHERE conversation_id = ?1 AND seq = ?2",
};
constexpr const char* kInsertMention =
    "INSERT INTO mentions (conversation_id, user_id, seq) VALUES (?1, ?2, ?3) "
    "ON CONFLICT DO NOTHING";
constexpr const char* kMsgCols =
    "id, conversation_id, seq, sender_id, client_id, body, created_at, edited_at, deleted_at, "
    "reply_to, broadcast, mentions, poll";

// messages.mentions: "all", "here" and user ids, comma-separated.
std::string encode_mentions(const Mentions& m) {
  std::string out;
  auto add = [&](std::string_view token) {
    if (!out.empty()) out += ',';
    out += token;
  };
  if (m.all) add("all");
  if (m.here) add("here");
  for (Id u : m.user_ids) add(std::to_string(u));
  return out;
}

Mentions decode_mentions(std::string_view text) {
  Mentions m;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto token = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (token == "all") {
      m.all = true;
    } else if (token == "here") {
      m.here = true;
    } else if (auto id = parse_id(token)) {
      m.user_ids.push_back(*id);
    }
  }
  return m;
}

template <class S>
User read_user(const S& s, int o = 0) {
  User u;
  u.id = s.i64(o);
  u.username = s.text(o + 1);
  u.display_name = s.text(o + 2);
  u.role = s.text(o + 3);
  u.password_hash = s.text(o + 4);
  u.created_at = s.i64(o + 5);
  u.disabled = s.i64(o + 6) != 0;
  return u;
}

template <class S>
Conversation read_conversation(const S& s, int o = 0) {
  Conversation c;
  c.id = s.i64(o);
  c.kind = s.text(o + 1);
  c.title = s.text(o + 2);
  c.created_by = s.i64(o + 3);
  c.created_at = s.i64(o + 4);
  c.updated_at = s.i64(o + 5);
  c.last_seq = s.i64(o + 6);
  c.activity_at = s.i64(o + 7);
  c.direct_key = s.text(o + 8);
  c.pin_role = s.text(o + 9);
  c.slow_mode_s = s.i64(o + 10);
  return c;
}

template <class S>
Message read_message(const S& s, int o = 0) {
  Message m;
  m.id = s.i64(o);
  m.conversation_id = s.i64(o + 1);
  m.seq = s.i64(o + 2);
  m.sender_id = s.i64(o + 3);
  m.client_id = s.text(o + 4);
  m.body = s.text(o + 5);
  m.created_at = s.i64(o + 6);
  m.edited_at = s.i64(o + 7);
  m.deleted_at = s.i64(o + 8);
  m.reply_to = s.i64(o + 9);
  m.broadcast = s.i64(o + 10) != 0;
  m.mentions = decode_mentions(s.text(o + 11));
  m.poll = s.text(o + 12);
  return m;
}

template <class S>
Member read_member(const S& s, int o = 0) {
  Member m;
  m.conversation_id = s.i64(o);
  m.user_id = s.i64(o + 1);
  m.role = s.text(o + 2);
  m.joined_at = s.i64(o + 3);
  m.last_read_seq = s.i64(o + 4);
  m.notify = s.text(o + 5);
  m.delivered_seq = s.i64(o + 6);
  m.muted_until = s.i64(o + 7);
  m.last_sent_at = s.i64(o + 8);
  return m;
}

// Statement texts live here so the cache can key on their addresses.
const std::string kSqlUserById = std::string("SELECT ") + kUserCols + " FROM users WHERE id = ?1";
const std::string kSqlUserByName =
    std::string("SELECT ") + kUserCols + " FROM users WHERE username = ?1";
const std::string kSqlUsersAfter =
    std::string("SELECT ") + kUserCols + " FROM users WHERE id > ?1 ORDER BY id LIMIT ?2";
const std::string kSqlUsersSearch =
    std::string("SELECT ") + kUserCols +
    " FROM users WHERE disabled = 0 AND (username LIKE ?1 ESCAPE '!' OR lower(display_name) LIKE "
    "?1 ESCAPE '!' OR lower(display_name) LIKE ?2 ESCAPE '!') ORDER BY username LIMIT ?3";
const std::string kSqlConvById =
    std::string("SELECT ") + kConvCols + " FROM conversations c WHERE c.id = ?1";
const std::string kSqlConvByDirectKey =
    std::string("SELECT ") + kConvCols + " FROM conversations c WHERE c.direct_key = ?1";
const std::string kSqlMsgByClientId =
    std::string("SELECT ") + kMsgCols + " FROM messages WHERE sender_id = ?1 AND client_id = ?2";
const std::string kSqlMsgBySeq =
    std::string("SELECT ") + kMsgCols + " FROM messages WHERE conversation_id = ?1 AND seq = ?2";
const std::string kSqlMsgsAfter = std::string("SELECT ") + kMsgCols +
                                  " FROM messages WHERE conversation_id = ?1 AND seq > ?2 "
                                  "ORDER BY seq ASC LIMIT ?3";
const std::string kSqlMsgsBefore = std::string("SELECT ") + kMsgCols +
                                   " FROM messages WHERE conversation_id = ?1 AND seq < ?2 "
                                   "ORDER BY seq DESC LIMIT ?3";
const std::string kSqlConvsForUser =
    std::string("SELECT ") + kConvCols +
    ", m.conversation_id, m.user_id, m.role, m.joined_at, m.last_read_seq, m.notify,"
    " m.delivered_seq, m.muted_until, m.last_sent_at,"
    " (SELECT COUNT(*) FROM messages x WHERE x.conversation_id = c.id AND x.seq > m.last_read_seq"
    "    AND x.sender_id <> m.user_id AND x.deleted_at = 0),"
    " (SELECT COUNT(*) FROM mentions y WHERE y.conversation_id = c.id AND y.user_id = m.user_id"
    "    AND y.seq > m.last_read_seq) + (SELECT COUNT(*) FROM mentions z"
    "    WHERE z.conversation_id = c.id AND z.user_id = 0 AND z.seq > m.last_read_seq),"
    " (SELECT COUNT(*) FROM members y WHERE y.conversation_id = c.id),"
    " l.id, l.conversation_id, l.seq, l.sender_id, l.client_id, l.body, l.created_at,"
    " l.edited_at, l.deleted_at, l.reply_to, l.broadcast, l.mentions, l.poll"
    " FROM members m JOIN conversations c ON c.id = m.conversation_id"
    " LEFT JOIN messages l ON l.conversation_id = c.id AND l.seq = c.last_seq"
    " WHERE m.user_id = ?1 AND (?2 = 0 OR c.activity_at < ?3 OR (c.activity_at = ?3 AND c.id < ?4))"
    " ORDER BY c.activity_at DESC, c.id DESC LIMIT ?5";

}  // namespace

Message SqlStore::message_row(const Stmt& s) { return read_message(s); }

// Schema bookkeeping.

void SqlStore::record_migration(std::int64_t version, std::string_view name, std::int64_t now) {
  prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)")
      .bind(1, version)
      .bind(2, name)
      .bind(3, now)
      .run();
}

std::int64_t SqlStore::recorded_version() {
  auto s = prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  return s.step() ? s.i64(0) : 0;
}

// Users.

void SqlStore::insert_user(const User& u) {
  prepare(
      "INSERT INTO users (id, username, display_name, role, password_hash, created_at, disabled) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
      .bind(1, u.id)
      .bind(2, u.username)
      .bind(3, u.display_name)
      .bind(4, u.role)
      .bind(5, u.password_hash)
      .bind(6, u.created_at)
      .bind(7, std::int64_t{u.disabled})
      .run();
}

std::optional<User> SqlStore::user_by_id(Id id) {
  auto s = prepare(kSqlUserById.c_str());
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read_user(s);
}

std::optional<User> SqlStore::user_by_username(std::string_view username) {
  auto s = prepare(kSqlUserByName.c_str());
  s.bind(1, username);
  if (!s.step()) return std::nullopt;
  return read_user(s);
}

std::int64_t SqlStore::count_users() {
  auto s = prepare("SELECT COUNT(*) FROM users");
  return s.step() ? s.i64(0) : 0;
}

std::vector<User> SqlStore::list_users(Id after_id, int limit) {
  auto s = prepare(kSqlUsersAfter.c_str());
  s.bind(1, after_id).bind(2, std::int64_t{limit});
  std::vector<User> out;
  while (s.step()) out.push_back(read_user(s));
  return out;
}

std::string SqlStore::like_escaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '%' || c == '_' || c == '!') out += '!';
    out += c;
  }
  return out;
}

std::vector<User> SqlStore::search_users(std::string_view prefix, int limit) {
  std::string escaped = like_escaped(prefix);
  auto s = prepare(kSqlUsersSearch.c_str());
  s.bind(1, escaped + "%").bind(2, "% " + escaped + "%").bind(3, std::int64_t{limit});
  std::vector<User> out;
  while (s.step()) out.push_back(read_user(s));
  return out;
}

void SqlStore::set_user_role(Id id, std::string_view role) {
  prepare("UPDATE users SET role = ?2 WHERE id = ?1").bind(1, id).bind(2, role).run();
}

void SqlStore::set_user_disabled(Id id, bool disabled) {
  prepare("UPDATE users SET disabled = ?2 WHERE id = ?1")
      .bind(1, id)
      .bind(2, std::int64_t{disabled})
      .run();
}

void SqlStore::anonymize_user(Id id, std::string_view username, std::string_view display_name) {
  prepare(
      "UPDATE users SET username = ?2, display_name = ?3, password_hash = '!', disabled = 1, "
      "role = 'user' WHERE id = ?1")
      .bind(1, id)
      .bind(2, username)
      .bind(3, display_name)
      .run();
  // What the user said stays (tombstoned separately); their reactions go.
  prepare("DELETE FROM reactions WHERE user_id = ?1").bind(1, id).run();
  prepare("DELETE FROM mentions WHERE user_id = ?1").bind(1, id).run();
  prepare("DELETE FROM poll_votes WHERE user_id = ?1").bind(1, id).run();
}

// Refresh tokens.

void SqlStore::insert_refresh_token(const RefreshToken& t, std::string_view token_hash) {
  prepare(
      "INSERT INTO refresh_tokens (id, token_hash, user_id, family_id, created_at, expires_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
      .bind(1, t.id)
      .bind(2, token_hash)
      .bind(3, t.user_id)
      .bind(4, t.family_id)
      .bind(5, t.created_at)
      .bind(6, t.expires_at)
      .run();
}

std::optional<RefreshToken> SqlStore::refresh_token_by_hash(std::string_view token_hash) {
  auto s = prepare(
      "SELECT id, user_id, family_id, created_at, expires_at, used_at, revoked_at FROM "
      "refresh_tokens WHERE token_hash = ?1");
  s.bind(1, token_hash);
  if (!s.step()) return std::nullopt;
  RefreshToken t;
  t.id = s.i64(0);
  t.user_id = s.i64(1);
  t.family_id = s.i64(2);
  t.created_at = s.i64(3);
  t.expires_at = s.i64(4);
  t.used_at = s.i64(5);
  t.revoked_at = s.i64(6);
  return t;
}

void SqlStore::mark_refresh_token_used(Id id, std::int64_t now) {
  prepare("UPDATE refresh_tokens SET used_at = ?2 WHERE id = ?1").bind(1, id).bind(2, now).run();
}

void SqlStore::revoke_refresh_family(Id family_id, std::int64_t now) {
  prepare("UPDATE refresh_tokens SET revoked_at = ?2 WHERE family_id = ?1 AND revoked_at = 0")
      .bind(1, family_id)
      .bind(2, now)
      .run();
}

void SqlStore::revoke_user_refresh_tokens(Id user_id, std::int64_t now) {
  prepare("UPDATE refresh_tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at = 0")
      .bind(1, user_id)
      .bind(2, now)
      .run();
}

std::int64_t SqlStore::delete_refresh_tokens_expired_before(std::int64_t before_ms, int limit) {
  auto s = prepare(
      "DELETE FROM refresh_tokens WHERE id IN (SELECT id FROM refresh_tokens WHERE expires_at < ?1 "
      "LIMIT ?2) RETURNING id");
  return s.bind(1, before_ms).bind(2, std::int64_t{limit}).count_rows();
}

// The audit trail.

void SqlStore::insert_audit_event(const AuditEvent& e) {
  auto s = prepare(
      "INSERT INTO audit_events (id, at, actor_id, action, target_id, ip, detail) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  s.bind(1, e.id).bind(2, e.at);
  if (e.actor_id) {
    s.bind(3, e.actor_id);
  } else {
    s.bind_null(3);
  }
  s.bind(4, e.action);
  if (e.target_id) {
    s.bind(5, e.target_id);
  } else {
    s.bind_null(5);
  }
  s.bind(6, e.ip).bind(7, e.detail).run();
}

std::vector<AuditEvent> SqlStore::audit_events(Id before_id, std::string_view action, Id user_id,
                                               int limit) {
  // Filters are switched off by flags rather than by splicing SQL, so there is
  // one statement; each parameter's type comes from the column it meets first.
  auto s = prepare(
      "SELECT id, at, COALESCE(actor_id, 0), action, COALESCE(target_id, 0), ip, detail "
      "FROM audit_events WHERE id < ?1 AND (?5 = 0 OR action = ?2) "
      "AND (?6 = 0 OR actor_id = ?3 OR target_id = ?3) ORDER BY id DESC LIMIT ?4");
  s.bind(1, before_id).bind(2, action).bind(3, user_id).bind(4, std::int64_t{limit});
  s.bind(5, std::int64_t{!action.empty()}).bind(6, std::int64_t{user_id != 0});
  std::vector<AuditEvent> out;
  while (s.step()) {
    AuditEvent e;
    e.id = s.i64(0);
    e.at = s.i64(1);
    e.actor_id = s.i64(2);
    e.action = s.text(3);
    e.target_id = s.i64(4);
    e.ip = s.text(5);
    e.detail = s.text(6);
    out.push_back(std::move(e));
  }
  return out;
}

std::int64_t SqlStore::delete_audit_events_before(std::int64_t before_ms, int limit) {
  auto s = prepare(
      "DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE at < ?1 "
      "ORDER BY id LIMIT ?2) RETURNING id");
  return s.bind(1, before_ms).bind(2, std::int64_t{limit}).count_rows();
}

// Conversations and members.

void SqlStore::insert_conversation(const Conversation& c) {
  auto s = prepare(
      "INSERT INTO conversations (id, kind, title, created_by, created_at, updated_at, last_seq, "
      "activity_at, direct_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  s.bind(1, c.id).bind(2, c.kind).bind(3, c.title).bind(4, c.created_by).bind(5, c.created_at);
  s.bind(6, c.updated_at).bind(7, c.last_seq).bind(8, c.activity_at);
  if (c.direct_key.empty()) {
    s.bind_null(9);
  } else {
    s.bind(9, c.direct_key);
  }
  s.run();
}

std::optional<Conversation> SqlStore::conversation(Id id) {
  auto s = prepare(kSqlConvById.c_str());
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read_conversation(s);
}

std::optional<Conversation> SqlStore::conversation_by_direct_key(std::string_view key) {
  auto s = prepare(kSqlConvByDirectKey.c_str());
  s.bind(1, key);
  if (!s.step()) return std::nullopt;
  return read_conversation(s);
}

void SqlStore::set_conversation_title(Id id, std::string_view title, std::int64_t now) {
  prepare("UPDATE conversations SET title = ?2, updated_at = ?3 WHERE id = ?1")
      .bind(1, id)
      .bind(2, title)
      .bind(3, now)
      .run();
}

void SqlStore::insert_member(const Member& m) {
  prepare(
      "INSERT INTO members (conversation_id, user_id, role, joined_at, last_read_seq) "
      "VALUES (?1, ?2, ?3, ?4, ?5)")
      .bind(1, m.conversation_id)
      .bind(2, m.user_id)
      .bind(3, m.role)
      .bind(4, m.joined_at)
      .bind(5, m.last_read_seq)
      .run();
}

std::optional<Member> SqlStore::member(Id conversation_id, Id user_id) {
  auto s = prepare(
      "SELECT conversation_id, user_id, role, joined_at, last_read_seq, notify, delivered_seq, "
      "muted_until, last_sent_at FROM "
      "members "
      "WHERE conversation_id = ?1 AND user_id = ?2");
  s.bind(1, conversation_id).bind(2, user_id);
  if (!s.step()) return std::nullopt;
  return read_member(s);
}

std::vector<Member> SqlStore::members(Id conversation_id) {
  auto s = prepare(
      "SELECT conversation_id, user_id, role, joined_at, last_read_seq, notify, delivered_seq, "
      "muted_until, last_sent_at FROM "
      "members "
      "WHERE conversation_id = ?1 ORDER BY joined_at, user_id");
  s.bind(1, conversation_id);
  std::vector<Member> out;
  while (s.step()) out.push_back(read_member(s));
  return out;
}

std::int64_t SqlStore::member_count(Id conversation_id) {
  auto s = prepare("SELECT COUNT(*) FROM members WHERE conversation_id = ?1");
  s.bind(1, conversation_id);
  return s.step() ? s.i64(0) : 0;
}

std::vector<Id> SqlStore::conversation_ids_for_user(Id user_id) {
  auto s = prepare("SELECT conversation_id FROM members WHERE user_id = ?1");
  s.bind(1, user_id);
  std::vector<Id> out;
  while (s.step()) out.push_back(s.i64(0));
  return out;
}

void SqlStore::delete_member(Id conversation_id, Id user_id) {
  prepare("DELETE FROM members WHERE conversation_id = ?1 AND user_id = ?2")
      .bind(1, conversation_id)
      .bind(2, user_id)
      .run();
  prepare("DELETE FROM mentions WHERE conversation_id = ?1 AND user_id = ?2")
      .bind(1, conversation_id)
      .bind(2, user_id)
      .run();
}

void SqlStore::set_member_role(Id conversation_id, Id user_id, std::string_view role) {
  prepare("UPDATE members SET role = ?3 WHERE conversation_id = ?1 AND user_id = ?2")
      .bind(1, conversation_id)
      .bind(2, user_id)
      .bind(3, role)
      .run();
}

std::vector<ConversationSummary> SqlStore::conversations_for_user(
    Id user_id, const std::optional<ConversationCursor>& after, int limit) {
  auto s = prepare(kSqlConvsForUser.c_str());
  s.bind(1, user_id);
  s.bind(2, std::int64_t{after.has_value()});
  s.bind(3, after ? after->activity_at : 0);
  s.bind(4, after ? after->id : 0);
  s.bind(5, std::int64_t{limit});
  std::vector<ConversationSummary> out;
  while (s.step()) {
    ConversationSummary sum;
    sum.conversation = read_conversation(s, 0);
    // Columns: the conversation's 11, the member's 9, then the counts.
    sum.me = read_member(s, 11);
    sum.unread = s.i64(20);
    sum.unread_mentions = s.i64(21);
    sum.member_count = s.i64(22);
    if (!s.is_null(23)) sum.last_message = read_message(s, 23);
    out.push_back(std::move(sum));
  }
  return out;
}

// Messages.

std::int64_t SqlStore::next_seq(Id conversation_id, std::int64_t now) {
  auto s = prepare(
      "UPDATE conversations SET last_seq = last_seq + 1, "
      "activity_at = CASE WHEN activity_at > ?2 THEN activity_at ELSE ?2 END "
      "WHERE id = ?1 RETURNING last_seq");
  s.bind(1, conversation_id).bind(2, now);
  if (!s.step()) fail(Errc::not_found, "conversation not found");
  std::int64_t seq = s.i64(0);
  s.run();
  return seq;
}

namespace {

const MultiRowInsert& search_queue_rows() {
  static const MultiRowInsert rows("INSERT OR IGNORE INTO search_queue (id) VALUES ", 1);
  return rows;
}

const MultiRowInsert& message_rows() {
  static const MultiRowInsert rows(
      "INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, body, created_at, "
      "reply_to, broadcast) VALUES ",
      9);
  return rows;
}

}  // namespace

MultiRowInsert::MultiRowInsert(std::string_view head, std::size_t columns) {
  for (std::size_t k = 0; k < texts_.size(); ++k) {
    std::size_t n = std::size_t{1} << k;
    std::string sql(head);
    for (std::size_t r = 0; r < n; ++r) {
      sql += r ? ", (" : "(";
      for (std::size_t c = 1; c <= columns; ++c) {
        sql += "?" + std::to_string(r * columns + c) + (c < columns ? ", " : ")");
      }
    }
    texts_[k] = std::move(sql);
  }
}

const char* MultiRowInsert::sql(std::size_t rows) const {
  return texts_[static_cast<std::size_t>(std::countr_zero(rows))].c_str();
}

std::size_t MultiRowInsert::chunk(std::size_t left) {
  return std::min(kMaxRows, std::bit_floor(left));
}

void SqlStore::mark_first_uses(std::span<Message* const> in, std::span<std::int64_t> ok) {
  std::vector<std::size_t> order(in.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  auto key = [&](std::size_t i) { return std::tie(in[i]->sender_id, in[i]->client_id); };
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
  for (std::size_t k = 0; k < order.size(); ++k) {
    ok[order[k]] = (k == 0 || key(order[k - 1]) != key(order[k])) ? 1 : 0;
  }
}

void SqlStore::append_messages(std::span<Message* const> in, std::span<std::int64_t> out) {
  // out[i] is 1 while in[i] may still go, then its seq.
  mark_first_uses(in, out);
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (!out[i]) continue;
    auto s = prepare("SELECT 1 FROM messages WHERE sender_id = ?1 AND client_id = ?2");
    s.bind(1, in[i]->sender_id).bind(2, in[i]->client_id);
    if (s.step()) out[i] = 0;  // a retry
  }

  // Membership once per (conversation, sender); then, per conversation in id
  // order (the order PostgreSQL writers lock rows in), one seq update.
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (out[i]) order.push_back(i);
  }
  auto pair = [&](std::size_t i) { return std::pair(in[i]->conversation_id, in[i]->sender_id); };
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return pair(a) < pair(b); });
  for (std::size_t k = 0; k < order.size();) {
    std::size_t end = k + 1;
    while (end < order.size() && pair(order[end]) == pair(order[k])) ++end;
    // A muted sender or a conversation in slow mode takes the step-by-step
    // path, which enforces them.
    auto s = prepare(
        "SELECT m.muted_until, c.slow_mode_s FROM members m JOIN conversations c "
        "ON c.id = m.conversation_id WHERE m.conversation_id = ?1 AND m.user_id = ?2");
    s.bind(1, in[order[k]]->conversation_id).bind(2, in[order[k]]->sender_id);
    bool ok = s.step() && s.i64(1) == 0;
    for (std::size_t j = k; j < end; ++j) {
      if (!ok || s.i64(0) > in[order[j]]->created_at) out[order[j]] = 0;
    }
    k = end;
  }
  // A message with mentions takes the step-by-step path (the caller checks
  // them and calls insert_message).
  for (std::size_t i : order) {
    if (!in[i]->mentions.empty() || !in[i]->poll.empty()) out[i] = 0;
  }
  // A reply joins the thread of the message it answers; one to a seq not
  // (yet) stored goes the step-by-step way, which says so.
  for (std::size_t i : order) {
    if (!in[i]->reply_to) continue;
    auto s = prepare("SELECT reply_to FROM messages WHERE conversation_id = ?1 AND seq = ?2");
    s.bind(1, in[i]->conversation_id).bind(2, in[i]->reply_to);
    if (!s.step()) {
      out[i] = 0;
    } else if (std::int64_t root = s.i64(0)) {
      in[i]->reply_to = root;
    }
  }
  std::erase_if(order, [&](std::size_t i) { return out[i] == 0; });

  struct Next {
    Id conversation_id;
    std::int64_t seq;  // the next one to hand out
  };
  std::vector<Next> next;
  for (std::size_t k = 0; k < order.size();) {
    Id conv = in[order[k]]->conversation_id;
    std::size_t end = k;
    std::int64_t now = 0;
    for (; end < order.size() && in[order[end]]->conversation_id == conv; ++end) {
      now = std::max(now, in[order[end]]->created_at);
    }
    auto count = static_cast<std::int64_t>(end - k);
    auto s = prepare(
        "UPDATE conversations SET last_seq = last_seq + ?3, "
        "activity_at = CASE WHEN activity_at > ?2 THEN activity_at ELSE ?2 END "
        "WHERE id = ?1 RETURNING last_seq");
    s.bind(1, conv).bind(2, now).bind(3, count);
    if (s.step()) {
      next.push_back({conv, s.i64(0) - count + 1});
    } else {
      for (std::size_t j = k; j < end; ++j) out[order[j]] = 0;  // no such conversation
    }
    s.run();
    k = end;
  }

  // Seqs in the order of `in`; rows in chunks.
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (!out[i]) continue;
    auto it = std::lower_bound(next.begin(), next.end(), in[i]->conversation_id,
                               [](const Next& n, Id c) { return n.conversation_id < c; });
    out[i] = it->seq++;
    rows.push_back(i);
  }
  for (std::size_t k = 0; k < rows.size();) {
    std::size_t n = MultiRowInsert::chunk(rows.size() - k);
    auto s = prepare(message_rows().sql(n));
    for (std::size_t r = 0; r < n; ++r) {
      const Message& m = *in[rows[k + r]];
      int p = static_cast<int>(r * 9);
      s.bind(p + 1, m.id).bind(p + 2, m.conversation_id).bind(p + 3, out[rows[k + r]]);
      s.bind(p + 4, m.sender_id).bind(p + 5, m.client_id).bind(p + 6, m.body);
      s.bind(p + 7, m.created_at).bind(p + 8, m.reply_to).bind(p + 9, std::int64_t{m.broadcast});
    }
    s.run();
    if (!postgres_dialect()) {  // for the search indexer (sql_search.cpp)
      auto q = prepare(search_queue_rows().sql(n));
      for (std::size_t r = 0; r < n; ++r) q.bind(static_cast<int>(r + 1), in[rows[k + r]]->id);
      q.run();
    }
    k += n;
  }

  // One's own messages are read: the last seq of each sender, once.
  for (std::size_t k = 0; k < order.size();) {
    std::size_t end = k;
    std::int64_t last = 0;
    for (; end < order.size() && pair(order[end]) == pair(order[k]); ++end) {
      last = std::max(last, out[order[end]]);
    }
    set_last_read(in[order[k]]->conversation_id, in[order[k]]->sender_id, last);
    k = end;
  }
}

void SqlStore::insert_message(const Message& m) {
  prepare(
      "INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, body, created_at, "
      "reply_to, broadcast, mentions, poll) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")
      .bind(1, m.id)
      .bind(2, m.conversation_id)
      .bind(3, m.seq)
      .bind(4, m.sender_id)
      .bind(5, m.client_id)
      .bind(6, m.body)
      .bind(7, m.created_at)
      .bind(8, m.reply_to)
      .bind(9, std::int64_t{m.broadcast})
      .bind(10, encode_mentions(m.mentions))
      .bind(11, m.poll)
      .run();
  if (!postgres_dialect()) {
    prepare("INSERT OR IGNORE INTO search_queue (id) VALUES (?1)").bind(1, m.id).run();
  }
  // One row per mentioned member, one (user 0) for all or here.
  for (Id u : m.mentions.user_ids) {
    prepare(kInsertMention).bind(1, m.conversation_id).bind(2, u).bind(3, m.seq).run();
  }
  if (m.mentions.all || m.mentions.here) {
    prepare(kInsertMention).bind(1, m.conversation_id).bind(2, Id{0}).bind(3, m.seq).run();
  }
}

std::optional<Message> SqlStore::message_by_client_id(Id sender_id, std::string_view client_id) {
  auto s = prepare(kSqlMsgByClientId.c_str());
  s.bind(1, sender_id).bind(2, client_id);
  if (!s.step()) return std::nullopt;
  return read_message(s);
}

std::optional<Message> SqlStore::message(Id conversation_id, std::int64_t seq) {
  auto s = prepare(kSqlMsgBySeq.c_str());
  s.bind(1, conversation_id).bind(2, seq);
  if (!s.step()) return std::nullopt;
  return read_message(s);
}

std::vector<Message> SqlStore::messages_after(Id conversation_id, std::int64_t after_seq,
                                              int limit) {
  auto s = prepare(kSqlMsgsAfter.c_str());
  s.bind(1, conversation_id).bind(2, after_seq).bind(3, std::int64_t{limit});
  std::vector<Message> out;
  while (s.step()) out.push_back(read_message(s));
  return out;
}

std::vector<Message> SqlStore::messages_before(Id conversation_id, std::int64_t before_seq,
                                               int limit) {
  auto s = prepare(kSqlMsgsBefore.c_str());
  s.bind(1, conversation_id).bind(2, before_seq).bind(3, std::int64_t{limit});
  std::vector<Message> out;
  while (s.step()) out.push_back(read_message(s));
  return out;
}

void SqlStore::update_message_body(Id conversation_id, std::int64_t seq, std::string_view body,
                                   std::int64_t now) {
  unindex_where("SELECT id, body FROM messages WHERE conversation_id = ?1 AND seq = ?2",
                conversation_id, seq, true);
  prepare("UPDATE messages SET body = ?3, edited_at = ?4 WHERE conversation_id = ?1 AND seq = ?2")
      .bind(1, conversation_id)
      .bind(2, seq)
      .bind(3, body)
      .bind(4, now)
      .run();
}

void SqlStore::tombstone_message(Id conversation_id, std::int64_t seq, std::int64_t now) {
  unindex_where(
      "SELECT id, body FROM messages WHERE conversation_id = ?1 AND seq = ?2 AND deleted_at = 0",
      conversation_id, seq, false);
  prepare(
      "UPDATE messages SET body = '', poll = '', deleted_at = ?3 WHERE conversation_id = ?1 AND "
      "seq = ?2 "
      "AND deleted_at = 0")
      .bind(1, conversation_id)
      .bind(2, seq)
      .bind(3, now)
      .run();
  delete_message_extras(conversation_id, seq);
}

std::vector<Message> SqlStore::messages_by_sender(Id sender_id, Id after_id, int limit) {
  static const std::string kSql = std::string("SELECT ") + kMsgCols +
                                  " FROM messages WHERE sender_id = ?1 AND id > ?2 ORDER BY id "
                                  "LIMIT ?3";
  auto s = prepare(kSql.c_str());
  s.bind(1, sender_id).bind(2, after_id).bind(3, std::int64_t{limit});
  std::vector<Message> out;
  while (s.step()) out.push_back(read_message(s));
  return out;
}

std::vector<Message> SqlStore::tombstone_sender_messages(Id sender_id, std::int64_t now,
                                                         int limit) {
  static const std::string kSql =
      std::string(
          "UPDATE messages SET body = '', poll = '', deleted_at = ?2 WHERE id IN (SELECT id FROM "
          "messages "
          "WHERE sender_id = ?1 AND deleted_at = 0 ORDER BY id LIMIT ?3) RETURNING ") +
      kMsgCols;
  std::vector<Message> out;
  unindex_where(
      "SELECT id, body FROM messages WHERE sender_id = ?1 AND deleted_at = 0 ORDER BY id LIMIT ?2",
      sender_id, limit, false);
  {
    auto s = prepare(kSql.c_str());
    s.bind(1, sender_id).bind(2, now).bind(3, std::int64_t{limit});
    while (s.step()) out.push_back(read_message(s));
  }
  for (const auto& m : out) {
    delete_message_extras(m.conversation_id, m.seq);
  }
  return out;
}

std::int64_t SqlStore::tombstone_messages_before(Id before_id, std::int64_t now, int limit) {
  std::vector<std::pair<Id, std::int64_t>> gone;
  unindex_where(
      "SELECT id, body FROM messages WHERE id < ?1 AND deleted_at = 0 ORDER BY id LIMIT ?2",
      before_id, limit, false);
  {
    auto s = prepare(
        "UPDATE messages SET body = '', poll = '', deleted_at = ?2 WHERE id IN (SELECT id FROM "
        "messages "
        "WHERE id < ?1 AND deleted_at = 0 ORDER BY id LIMIT ?3) RETURNING conversation_id, seq");
    s.bind(1, before_id).bind(2, now).bind(3, std::int64_t{limit});
    while (s.step()) gone.emplace_back(s.i64(0), s.i64(1));
  }
  for (const auto& [conv, seq] : gone) {
    delete_message_extras(conv, seq);
  }
  return static_cast<std::int64_t>(gone.size());
}

void SqlStore::set_last_read(Id conversation_id, Id user_id, std::int64_t seq) {
  prepare(
      "UPDATE members SET last_read_seq = ?3, "
      "delivered_seq = CASE WHEN delivered_seq < ?3 THEN ?3 ELSE delivered_seq END "
      "WHERE conversation_id = ?1 AND user_id = ?2 AND last_read_seq < ?3")
      .bind(1, conversation_id)
      .bind(2, user_id)
      .bind(3, seq)
      .run();
}

std::int64_t SqlStore::unread_mention_count(Id conversation_id, Id user_id,
                                            std::int64_t after_seq) {
  auto s = prepare(
      "SELECT COUNT(*) FROM mentions WHERE conversation_id = ?1 AND user_id IN (?2, 0) "
      "AND seq > ?3");
  s.bind(1, conversation_id).bind(2, user_id).bind(3, after_seq);
  return s.step() ? s.i64(0) : 0;
}

bool SqlStore::set_delivered(Id conversation_id, Id user_id, std::int64_t seq) {
  return prepare(
             "UPDATE members SET delivered_seq = ?3 WHERE conversation_id = ?1 AND user_id = ?2 "
             "AND delivered_seq < ?3 RETURNING 1")
             .bind(1, conversation_id)
             .bind(2, user_id)
             .bind(3, seq)
             .count_rows() == 1;
}

void SqlStore::set_member_notify(Id conversation_id, Id user_id, std::string_view level) {
  prepare("UPDATE members SET notify = ?3 WHERE conversation_id = ?1 AND user_id = ?2")
      .bind(1, conversation_id)
      .bind(2, user_id)
      .bind(3, level)
      .run();
}

std::int64_t SqlStore::unread_count(Id conversation_id, Id user_id, std::int64_t after_seq) {
  auto s = prepare(
      "SELECT COUNT(*) FROM messages WHERE conversation_id = ?1 AND seq > ?3 AND sender_id <> ?2 "
      "AND deleted_at = 0");
  s.bind(1, conversation_id).bind(2, user_id).bind(3, after_seq);
  return s.step() ? s.i64(0) : 0;
}

std::vector<ThreadSummary> SqlStore::thread_summaries(Id conversation_id,
                                                      std::span<const std::int64_t> seqs,
                                                      int max_participants) {
  std::vector<ThreadSummary> out;
  if (seqs.empty()) return out;
  // One range scan of the thread index over the page's roots: per (root,
  // sender) its replies, first and last; folded per root here.
  auto [lo, hi] = std::minmax_element(seqs.begin(), seqs.end());
  auto s = prepare(
      "SELECT reply_to, sender_id, COUNT(*), MIN(seq), MAX(seq), MAX(created_at) FROM messages "
      "WHERE conversation_id = ?1 AND reply_to > 0 AND reply_to >= ?2 AND reply_to <= ?3 "
      "AND deleted_at = 0 GROUP BY reply_to, sender_id ORDER BY reply_to, MIN(seq)");
  s.bind(1, conversation_id).bind(2, *lo).bind(3, *hi);
  while (s.step()) {
    std::int64_t root = s.i64(0);
    if (std::find(seqs.begin(), seqs.end(), root) == seqs.end()) continue;
    if (out.empty() || out.back().root_seq != root) out.push_back(ThreadSummary{root});
    ThreadSummary& t = out.back();
    t.reply_count += s.i64(2);
    if (static_cast<int>(t.participants.size()) < max_participants) {
      t.participants.push_back(s.i64(1));
    }
    if (s.i64(4) > t.last_reply_seq) {
      t.last_reply_seq = s.i64(4);
      t.last_reply_at = s.i64(5);
    }
  }
  return out;
}

std::vector<Message> SqlStore::thread_replies(Id conversation_id, std::int64_t root_seq,
                                              std::int64_t after_seq, int limit) {
  static const std::string kSql = std::string("SELECT ") + kMsgCols +
                                  " FROM messages WHERE conversation_id = ?1 AND reply_to > 0 "
                                  "AND reply_to = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4";
  auto s = prepare(kSql.c_str());
  s.bind(1, conversation_id).bind(2, root_seq).bind(3, after_seq).bind(4, std::int64_t{limit});
  std::vector<Message> out;
  while (s.step()) out.push_back(read_message(s));
  return out;
}

void SqlStore::delete_message_extras(Id conversation_id, std::int64_t seq) {
  for (const char* sql : kDeleteMessageExtras) {
    prepare(sql).bind(1, conversation_id).bind(2, seq).run();
  }
}

// Pins.

bool SqlStore::set_pin(Id conversation_id, std::int64_t seq, Id user_id, std::int64_t now,
                       bool pinned) {
  if (!pinned) {
    return prepare("DELETE FROM pins WHERE conversation_id = ?1 AND seq = ?2 RETURNING 1")
               .bind(1, conversation_id)
               .bind(2, seq)
               .count_rows() == 1;
  }
  return prepare(
             "INSERT INTO pins (conversation_id, seq, pinned_by, pinned_at) VALUES (?1, ?2, ?3, "
             "?4) "
             "ON CONFLICT DO NOTHING RETURNING 1")
             .bind(1, conversation_id)
             .bind(2, seq)
             .bind(3, user_id)
             .bind(4, now)
             .count_rows() == 1;
}

std::vector<Pin> SqlStore::pins(Id conversation_id, std::int64_t lo_seq, std::int64_t hi_seq,
                                int limit) {
  auto s = prepare(
      "SELECT seq, pinned_by, pinned_at FROM pins WHERE conversation_id = ?1 AND seq >= ?2 "
      "AND seq <= ?3 ORDER BY seq DESC LIMIT ?4");
  s.bind(1, conversation_id).bind(2, lo_seq).bind(3, hi_seq).bind(4, std::int64_t{limit});
  std::vector<Pin> out;
  while (s.step()) out.push_back({s.i64(0), s.i64(1), s.i64(2)});
  return out;
}

void SqlStore::set_conversation_pin_role(Id id, std::string_view role, std::int64_t now) {
  prepare("UPDATE conversations SET pin_role = ?2, updated_at = ?3 WHERE id = ?1")
      .bind(1, id)
      .bind(2, role)
      .bind(3, now)
      .run();
}

}  // namespace parley::store
