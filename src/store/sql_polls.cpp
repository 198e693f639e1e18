// SqlStore's polls (schema: migrations/*/0008_polls.sql).
#include "store/sql_store.hpp"

namespace parley::store {

void SqlStore::insert_poll(const Poll& p) {
  prepare(
      "INSERT INTO polls (conversation_id, seq, question, max_votes, anonymous, open_options, "
      "closes_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
      .bind(1, p.conversation_id)
      .bind(2, p.seq)
      .bind(3, p.question)
      .bind(4, p.max_votes)
      .bind(5, std::int64_t{p.anonymous})
      .bind(6, std::int64_t{p.open_options})
      .bind(7, p.closes_at)
      .bind(8, p.created_by)
      .run();
  for (const auto& o : p.options) {
    prepare(
        "INSERT INTO poll_options (conversation_id, seq, option_id, text, added_by) "
        "VALUES (?1, ?2, ?3, ?4, ?5)")
        .bind(1, p.conversation_id)
        .bind(2, p.seq)
        .bind(3, o.id)
        .bind(4, o.text)
        .bind(5, o.added_by ? o.added_by : p.created_by)
        .run();
  }
}

std::optional<Poll> SqlStore::poll(Id conversation_id, std::int64_t seq, Id viewer,
                                   int max_voters) {
  Poll p;
  {
    auto s = prepare(
        "SELECT question, max_votes, anonymous, open_options, closes_at, closed_at, created_by "
        "FROM polls WHERE conversation_id = ?1 AND seq = ?2");
    s.bind(1, conversation_id).bind(2, seq);
    if (!s.step()) return std::nullopt;
    p.conversation_id = conversation_id;
    p.seq = seq;
    p.question = s.text(0);
    p.max_votes = s.i64(1);
    p.anonymous = s.i64(2) != 0;
    p.open_options = s.i64(3) != 0;
    p.closes_at = s.i64(4);
    p.closed_at = s.i64(5);
    p.created_by = s.i64(6);
  }
  {
    auto s = prepare(
        "SELECT o.option_id, o.text, o.added_by, "
        "(SELECT COUNT(*) FROM poll_votes v WHERE v.conversation_id = o.conversation_id "
        " AND v.seq = o.seq AND v.option_id = o.option_id), "
        "CASE WHEN EXISTS (SELECT 1 FROM poll_votes v WHERE v.conversation_id = o.conversation_id "
        " AND v.seq = o.seq AND v.option_id = o.option_id AND v.user_id = ?3) THEN 1 ELSE 0 END "
        "FROM poll_options o WHERE o.conversation_id = ?1 AND o.seq = ?2 ORDER BY o.option_id");
    s.bind(1, conversation_id).bind(2, seq).bind(3, viewer);
    while (s.step()) {
      PollOption o;
      o.id = s.i64(0);
      o.text = s.text(1);
      o.added_by = s.i64(2);
      o.votes = s.i64(3);
      o.me = s.i64(4) != 0;
      p.options.push_back(std::move(o));
    }
  }
  {
    auto s = prepare(
        "SELECT COUNT(DISTINCT user_id) FROM poll_votes WHERE conversation_id = ?1 AND seq = ?2");
    s.bind(1, conversation_id).bind(2, seq);
    p.voters = s.step() ? s.i64(0) : 0;
  }
  if (!p.anonymous && max_voters > 0) {
    for (auto& o : p.options) {
      auto s = prepare(
          "SELECT user_id FROM poll_votes WHERE conversation_id = ?1 AND seq = ?2 "
          "AND option_id = ?3 ORDER BY voted_at, user_id LIMIT ?4");
      s.bind(1, conversation_id).bind(2, seq).bind(3, o.id).bind(4, std::int64_t{max_voters});
      while (s.step()) o.voters.push_back(s.i64(0));
    }
  }
  return p;
}

void SqlStore::set_poll_votes(Id conversation_id, std::int64_t seq, Id user_id,
                              std::span<const std::int64_t> option_ids, std::int64_t now) {
  prepare("DELETE FROM poll_votes WHERE conversation_id = ?1 AND seq = ?2 AND user_id = ?3")
      .bind(1, conversation_id)
      .bind(2, seq)
      .bind(3, user_id)
      .run();
  for (std::int64_t option : option_ids) {
    prepare(
        "INSERT INTO poll_votes (conversation_id, seq, user_id, option_id, voted_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING")
        .bind(1, conversation_id)
        .bind(2, seq)
        .bind(3, user_id)
        .bind(4, option)
        .bind(5, now)
        .run();
  }
}

std::int64_t SqlStore::add_poll_option(Id conversation_id, std::int64_t seq, std::string_view text,
                                       Id user_id) {
  auto s = prepare(
      "INSERT INTO poll_options (conversation_id, seq, option_id, text, added_by) "
      "SELECT CAST(?1 AS BIGINT), CAST(?2 AS BIGINT), COALESCE(MAX(option_id), 0) + 1, "
      "CAST(?3 AS TEXT), CAST(?4 AS BIGINT) FROM poll_options "
      "WHERE conversation_id = ?1 AND seq = ?2 RETURNING option_id");
  s.bind(1, conversation_id).bind(2, seq).bind(3, text).bind(4, user_id);
  std::int64_t id = s.step() ? s.i64(0) : 0;
  s.run();
  return id;
}

void SqlStore::close_poll(Id conversation_id, std::int64_t seq, std::int64_t now) {
  prepare(
      "UPDATE polls SET closed_at = ?3 WHERE conversation_id = ?1 AND seq = ?2 AND closed_at = 0")
      .bind(1, conversation_id)
      .bind(2, seq)
      .bind(3, now)
      .run();
}

}  // namespace parley::store
