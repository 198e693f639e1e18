// SqlStore's message search (schema: migrations/*/0011_search.sql).
//
// SQLite: terms of three or more characters match through the trigram index
// (substrings in any script, including Chinese, Japanese and Korean), short
// words through the word index (as prefixes), short terms of other scripts
// with LIKE on what the other conditions left; newest first, or by bm25 on
// request (sort=relevance: every match is ranked, slower on common words). PostgreSQL:
// every term is an ILIKE that pg_trgm's GIN index serves; newest first.
// Either way the user's conversations are a join in the statement, so
// nothing outside them is ever read into a result.
#include <cctype>
#include <map>
#include <memory>
#include <mutex>

#include "store/sql_store.hpp"

namespace parley::store {

namespace {

// Statement texts must outlive the statement cache, which keys on their
// address: each distinct shape is kept once (the shapes are few: they vary
// only in which filters are present and how many terms there are).
const char* interned(std::string sql) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<std::string>> texts;
  std::lock_guard lock(mu);
  auto& slot = texts[sql];
  if (!slot) slot = std::make_unique<std::string>(std::move(sql));
  return slot->c_str();
}

// Code points in s (UTF-8).
std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Letters and digits of the scripts unicode61 splits into words: ASCII,
// Latin, Greek, Cyrillic (lead bytes below U+0530); not CJK.
bool wordlike(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80 && (c & 0xC0) != 0x80 && c >= 0xD5) return false;
    if (c < 0x80 && !std::isalnum(c)) return false;
  }
  return true;
}

std::string fts_phrase(std::string_view term) {
  std::string out = "\"";
  for (char c : term) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

constexpr const char* kMsgColsM =
    "m.id, m.conversation_id, m.seq, m.sender_id, m.client_id, m.body, m.created_at, "
    "m.edited_at, m.deleted_at, m.reply_to, m.broadcast, m.mentions, m.poll";

}  // namespace

void SqlStore::unindex_message(Id id, std::string_view old_body, bool requeue) {
  auto q = prepare("SELECT 1 FROM search_queue WHERE id = ?1");
  q.bind(1, id);
  if (q.step()) return;  // not indexed yet: the indexer reads the row as it is then
  q.run();
  prepare("INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', ?1, ?2)")
      .bind(1, id)
      .bind(2, old_body)
      .run();
  prepare("INSERT INTO messages_tri (messages_tri, rowid, body) VALUES ('delete', ?1, ?2)")
      .bind(1, id)
      .bind(2, old_body)
      .run();
  if (requeue) prepare("INSERT OR IGNORE INTO search_queue (id) VALUES (?1)").bind(1, id).run();
}

void SqlStore::unindex_where(const char* sql, std::int64_t p1, std::int64_t p2, bool requeue) {
  std::vector<std::pair<Id, std::string>> rows;
  {
    auto s = prepare(sql);
    s.bind(1, p1).bind(2, p2);
    while (s.step()) rows.emplace_back(s.i64(0), s.text(1));
  }
  for (const auto& [id, body] : rows) unindex_message(id, body, requeue);
}

std::int64_t SqlStore::search_backlog() {
  auto s = prepare("SELECT COUNT(*) FROM search_queue");
  return s.step() ? s.i64(0) : 0;
}

std::int64_t SqlStore::index_pending(int limit) {
  std::int64_t upto = 0;
  {
    auto s = prepare("SELECT MAX(id) FROM (SELECT id FROM search_queue ORDER BY id LIMIT ?1)");
    s.bind(1, std::int64_t{limit});
    if (!s.step() || s.is_null(0)) return 0;
    upto = s.i64(0);
  }
  for (const char* sql :
       {"INSERT INTO messages_fts (rowid, body) SELECT m.id, m.body FROM search_queue q "
        "JOIN messages m ON m.id = q.id WHERE q.id <= ?1 AND m.deleted_at = 0",
        "INSERT INTO messages_tri (rowid, body) SELECT m.id, m.body FROM search_queue q "
        "JOIN messages m ON m.id = q.id WHERE q.id <= ?1 AND m.deleted_at = 0"}) {
    prepare(sql).bind(1, upto).run();
  }
  return prepare("DELETE FROM search_queue WHERE id <= ?1 RETURNING 1").bind(1, upto).count_rows();
}

std::vector<Message> SqlStore::search_messages(const SearchQuery& q) {
  const bool fts = !postgres_dialect();
  std::vector<std::string> tri, words, likes;
  for (const auto& t : q.terms) {
    if (!fts) {
      likes.push_back(t);
    } else if (code_points(t) >= 3) {
      tri.push_back(t);
    } else if (wordlike(t)) {
      words.push_back(t);
    } else {
      likes.push_back(t);
    }
  }
  // Parameters in order: ?1 the user, then as the clauses come.
  std::vector<std::string> texts;
  std::vector<std::int64_t> ints;
  std::string where;
  int next = 2;
  std::vector<std::pair<bool, std::size_t>> params;  // (text?, index)
  auto text_param = [&](std::string v) {
    texts.push_back(std::move(v));
    params.emplace_back(true, texts.size() - 1);
    return "?" + std::to_string(next++);
  };
  auto int_param = [&](std::int64_t v) {
    ints.push_back(v);
    params.emplace_back(false, ints.size() - 1);
    return "?" + std::to_string(next++);
  };

  std::string from = "messages m";
  std::string rank = "0.0";
  if (!tri.empty()) {
    std::string expr;
    for (const auto& t : tri) expr += (expr.empty() ? "" : " AND ") + fts_phrase(t);
    from = "messages_tri t CROSS JOIN messages m ON m.id = t.rowid";
    rank = "bm25(messages_tri)";
    where += " AND messages_tri MATCH " + text_param(expr);
  }
  if (!words.empty()) {
    std::string expr;
    for (const auto& w : words) expr += (expr.empty() ? "" : " AND ") + fts_phrase(w) + "*";
    if (tri.empty()) {
      from = "messages_fts t CROSS JOIN messages m ON m.id = t.rowid";
      rank = "bm25(messages_fts)";
      where += " AND messages_fts MATCH " + text_param(expr);
    } else {
      where += " AND m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH " +
               text_param(expr) + ")";
    }
  }
  const char* like = fts ? " LIKE " : " ILIKE ";
  for (const auto& t : likes)
    where +=
        " AND m.body" + std::string(like) + text_param("%" + like_escaped(t) + "%") + " ESCAPE '!'";
  for (const auto& t : q.exclude) {
    where += " AND m.body NOT" + std::string(like) + text_param("%" + like_escaped(t) + "%") +
             " ESCAPE '!'";
  }
  auto in_list = [&](const std::vector<Id>& ids, const char* column) {
    if (ids.empty()) return;
    where += std::string(" AND ") + column + " IN (";
    for (std::size_t i = 0; i < ids.size(); ++i) where += (i ? ", " : "") + int_param(ids[i]);
    where += ")";
  };
  in_list(q.from, "m.sender_id");
  in_list(q.in, "m.conversation_id");
  if (q.has_link) where += " AND (m.body LIKE '%http://%' OR m.body LIKE '%https://%')";
  if (q.has_poll) where += " AND m.poll <> ''";
  if (q.has_file) where += " AND 1 = 0";  // no files yet (issue 18)
  if (q.is_pinned) {
    where +=
        " AND EXISTS (SELECT 1 FROM pins p WHERE p.conversation_id = m.conversation_id "
        "AND p.seq = m.seq)";
  }
  if (q.is_thread) {
    where +=
        " AND (m.reply_to > 0 OR EXISTS (SELECT 1 FROM messages r WHERE r.conversation_id "
        "= m.conversation_id AND r.reply_to > 0 AND r.reply_to = m.seq))";
  }
  if (q.is_mentioned) {
    where +=
        " AND EXISTS (SELECT 1 FROM mentions x WHERE x.conversation_id = m.conversation_id "
        "AND x.seq = m.seq AND x.user_id IN (?1, 0))";
  }
  if (q.after) where += " AND m.created_at >= " + int_param(q.after);
  if (q.before) where += " AND m.created_at < " + int_param(q.before);

  // Newest first unless relevance is asked for: the scan then walks the
  // index (or the messages' key) backwards and stops at the page's end;
  // CROSS JOIN keeps SQLite from starting at the user's memberships and
  // sorting everything they hold. bm25 ranks every match first.
  bool relevance = q.relevance && rank != "0.0";
  if (!fts) from = "messages m";
  std::string sql = std::string("SELECT ") + kMsgColsM + ", " + (relevance ? rank : "0.0") +
                    " AS rank FROM " + from + (fts ? " CROSS" : "") +
                    " JOIN members mb ON mb.conversation_id = m.conversation_id AND mb.user_id = ?1"
                    " WHERE m.deleted_at = 0" +
                    where +
                    // Without an index's rank, newest first: the scan walks the
                    // primary key backwards and stops at the page's end.
                    (relevance ? " ORDER BY rank, m.id DESC" : " ORDER BY m.id DESC") + " LIMIT " +
                    int_param(q.limit) + " OFFSET " + int_param(q.offset);
  auto s = prepare(interned(std::move(sql)));
  s.bind(1, q.user_id);
  int n = 2;
  for (const auto& [is_text, i] : params) {
    if (is_text) {
      s.bind(n++, std::string_view(texts[i]));
    } else {
      s.bind(n++, ints[i]);
    }
  }
  std::vector<Message> out;
  while (s.step()) out.push_back(message_row(s));
  return out;
}

}  // namespace parley::store
