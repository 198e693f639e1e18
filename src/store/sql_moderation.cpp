// SqlStore's moderation: mutes, slow mode, bans, reports (schema:
// migrations/*/0010_moderation.sql).
#include "store/sql_store.hpp"

namespace parley::store {

namespace {

constexpr const char* kReportCols =
    "id, conversation_id, seq, reporter_id, reason, created_at, COALESCE(resolved_by, 0), "
    "resolved_at, resolution";

template <class S>
Report read_report(const S& s) {
  return {s.i64(0), s.i64(1), s.i64(2), s.i64(3), s.text(4),
          s.i64(5), s.i64(6), s.i64(7), s.text(8)};
}

template <class S>
Ban read_ban(const S& s) {
  return {s.i64(0), s.i64(1), s.i64(2), s.i64(3), s.text(4)};
}

const std::string kSqlReport = std::string("SELECT ") + kReportCols + " FROM reports WHERE id = ?1";
const std::string kSqlReports = std::string("SELECT ") + kReportCols +
                                " FROM reports WHERE (?1 = 0 OR resolved_at = 0) AND id < ?2 "
                                "ORDER BY id DESC LIMIT ?3";

}  // namespace

void SqlStore::set_muted_until(Id conversation_id, Id user_id, std::int64_t until) {
  prepare("UPDATE members SET muted_until = ?3 WHERE conversation_id = ?1 AND user_id = ?2")
      .bind(1, conversation_id)
      .bind(2, user_id)
      .bind(3, until)
      .run();
}

void SqlStore::set_last_sent(Id conversation_id, Id user_id, std::int64_t at) {
  prepare("UPDATE members SET last_sent_at = ?3 WHERE conversation_id = ?1 AND user_id = ?2")
      .bind(1, conversation_id)
      .bind(2, user_id)
      .bind(3, at)
      .run();
}

void SqlStore::set_slow_mode(Id conversation_id, std::int64_t seconds, std::int64_t now) {
  prepare("UPDATE conversations SET slow_mode_s = ?2, updated_at = ?3 WHERE id = ?1")
      .bind(1, conversation_id)
      .bind(2, seconds)
      .bind(3, now)
      .run();
}

void SqlStore::insert_ban(const Ban& b) {
  prepare(
      "INSERT INTO bans (conversation_id, user_id, banned_by, banned_at, reason) "
      "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (conversation_id, user_id) DO UPDATE SET "
      "banned_by = excluded.banned_by, banned_at = excluded.banned_at, reason = excluded.reason")
      .bind(1, b.conversation_id)
      .bind(2, b.user_id)
      .bind(3, b.banned_by)
      .bind(4, b.banned_at)
      .bind(5, b.reason)
      .run();
}

bool SqlStore::delete_ban(Id conversation_id, Id user_id) {
  return prepare("DELETE FROM bans WHERE conversation_id = ?1 AND user_id = ?2 RETURNING 1")
             .bind(1, conversation_id)
             .bind(2, user_id)
             .count_rows() == 1;
}

std::optional<Ban> SqlStore::ban(Id conversation_id, Id user_id) {
  auto s = prepare(
      "SELECT conversation_id, user_id, banned_by, banned_at, reason FROM bans "
      "WHERE conversation_id = ?1 AND user_id = ?2");
  s.bind(1, conversation_id).bind(2, user_id);
  if (!s.step()) return std::nullopt;
  return read_ban(s);
}

std::vector<Ban> SqlStore::bans(Id conversation_id, Id after_user, int limit) {
  auto s = prepare(
      "SELECT conversation_id, user_id, banned_by, banned_at, reason FROM bans "
      "WHERE conversation_id = ?1 AND user_id > ?2 ORDER BY user_id LIMIT ?3");
  s.bind(1, conversation_id).bind(2, after_user).bind(3, std::int64_t{limit});
  std::vector<Ban> out;
  while (s.step()) out.push_back(read_ban(s));
  return out;
}

bool SqlStore::insert_report(const Report& r) {
  return prepare(
             "INSERT INTO reports (id, conversation_id, seq, reporter_id, reason, created_at) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING RETURNING 1")
             .bind(1, r.id)
             .bind(2, r.conversation_id)
             .bind(3, r.seq)
             .bind(4, r.reporter_id)
             .bind(5, r.reason)
             .bind(6, r.created_at)
             .count_rows() == 1;
}

std::optional<Report> SqlStore::report(Id id) {
  auto s = prepare(kSqlReport.c_str());
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read_report(s);
}

std::vector<Report> SqlStore::reports(bool open_only, Id before_id, int limit) {
  auto s = prepare(kSqlReports.c_str());
  s.bind(1, std::int64_t{open_only}).bind(2, before_id).bind(3, std::int64_t{limit});
  std::vector<Report> out;
  while (s.step()) out.push_back(read_report(s));
  return out;
}

void SqlStore::resolve_report(Id id, Id by, std::int64_t at, std::string_view resolution) {
  prepare(
      "UPDATE reports SET resolved_by = ?2, resolved_at = ?3, resolution = ?4 "
      "WHERE id = ?1 AND resolved_at = 0")
      .bind(1, id)
      .bind(2, by)
      .bind(3, at)
      .bind(4, resolution)
      .run();
}

}  // namespace parley::store
