// SqlStore's reactions (schema: migrations/*/0004_reactions.sql).
#include <algorithm>

#include "store/sql_store.hpp"

namespace parley::store {

bool SqlStore::add_reaction(Id conversation_id, std::int64_t seq, Id user_id,
                            std::string_view reaction, std::int64_t now) {
  return prepare(
             "INSERT INTO reactions (conversation_id, seq, reaction, user_id, created_at) "
             "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING RETURNING 1")
             .bind(1, conversation_id)
             .bind(2, seq)
             .bind(3, reaction)
             .bind(4, user_id)
             .bind(5, now)
             .count_rows() == 1;
}

bool SqlStore::remove_reaction(Id conversation_id, std::int64_t seq, Id user_id,
                               std::string_view reaction) {
  return prepare(
             "DELETE FROM reactions WHERE conversation_id = ?1 AND seq = ?2 AND reaction = ?3 "
             "AND user_id = ?4 RETURNING 1")
             .bind(1, conversation_id)
             .bind(2, seq)
             .bind(3, reaction)
             .bind(4, user_id)
             .count_rows() == 1;
}

std::int64_t SqlStore::reactions_by_user(Id conversation_id, std::int64_t seq, Id user_id) {
  auto s = prepare(
      "SELECT COUNT(*) FROM reactions WHERE user_id = ?3 AND conversation_id = ?1 AND seq = ?2");
  s.bind(1, conversation_id).bind(2, seq).bind(3, user_id);
  return s.step() ? s.i64(0) : 0;
}

std::vector<ReactionCount> SqlStore::reaction_counts(Id conversation_id,
                                                     std::span<const std::int64_t> seqs,
                                                     Id viewer) {
  std::vector<ReactionCount> out;
  if (seqs.empty()) return out;
  // One range scan over the page's seqs (a page is a run of them), the
  // ones outside `seqs` dropped here.
  auto [lo, hi] = std::minmax_element(seqs.begin(), seqs.end());
  auto s = prepare(
      "SELECT seq, reaction, COUNT(*), MAX(CASE WHEN user_id = ?4 THEN 1 ELSE 0 END), "
      "MIN(created_at) AS first_at FROM reactions "
      "WHERE conversation_id = ?1 AND seq >= ?2 AND seq <= ?3 "
      "GROUP BY seq, reaction ORDER BY seq, first_at, reaction");
  s.bind(1, conversation_id).bind(2, *lo).bind(3, *hi).bind(4, viewer);
  while (s.step()) {
    std::int64_t seq = s.i64(0);
    if (std::find(seqs.begin(), seqs.end(), seq) == seqs.end()) continue;
    out.push_back({seq, s.text(1), s.i64(2), s.i64(3) != 0});
  }
  return out;
}

std::vector<Id> SqlStore::reaction_users(Id conversation_id, std::int64_t seq,
                                         std::string_view reaction, Id after_user, int limit) {
  auto s = prepare(
      "SELECT user_id FROM reactions WHERE conversation_id = ?1 AND seq = ?2 AND reaction = ?3 "
      "AND user_id > ?4 ORDER BY user_id LIMIT ?5");
  s.bind(1, conversation_id).bind(2, seq).bind(3, reaction).bind(4, after_user);
  s.bind(5, std::int64_t{limit});
  std::vector<Id> out;
  while (s.step()) out.push_back(s.i64(0));
  return out;
}

std::vector<UserReaction> SqlStore::reactions_of_user(Id user_id, const UserReaction& after,
                                                      int limit) {
  // Row-value comparison is in both engines (SQLite 3.15+).
  auto s = prepare(
      "SELECT conversation_id, seq, reaction, created_at FROM reactions WHERE user_id = ?1 "
      "AND (conversation_id, seq, reaction) > (?2, ?3, ?4) "
      "ORDER BY conversation_id, seq, reaction LIMIT ?5");
  s.bind(1, user_id).bind(2, after.conversation_id).bind(3, after.seq).bind(4, after.reaction);
  s.bind(5, std::int64_t{limit});
  std::vector<UserReaction> out;
  while (s.step()) out.push_back({s.i64(0), s.i64(1), s.text(2), s.i64(3)});
  return out;
}

}  // namespace parley::store
