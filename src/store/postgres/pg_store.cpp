#include "store/postgres/pg_store.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <numeric>
#include <vector>

#include "core/error.hpp"
#include "core/log.hpp"

namespace parley::store {

namespace {

// Any application-wide constant: the advisory lock migrations take.
constexpr long long kSchemaLockKey = 0x7061726c6579LL;  // "parley"

bool is_write_tag(std::string_view tag) {
  return tag.starts_with("INSERT") || tag.starts_with("UPDATE") || tag.starts_with("DELETE");
}

std::int64_t tag_rows(const char* tuples) {
  std::int64_t n = 0;
  std::from_chars(tuples, tuples + std::strlen(tuples), n);
  return n;
}

std::string first_line(const char* msg) {
  std::string s = msg ? msg : "";
  auto nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  return s;
}

}  // namespace

// One named prepared statement of this connection. Parameters are kept as
// text until step() runs it; the result stays until reset().
class PgStore::PgCursor final : public Cursor {
 public:
  PgCursor(PgStore& owner, const char* sql, std::string name)
      : owner_(owner), name_(std::move(name)) {
    int params = 0;
    sql_ = dialect_sql(sql, &params);
    values_.resize(static_cast<std::size_t>(params));
    set_.assign(values_.size(), false);
  }
  ~PgCursor() override { PQclear(result_); }
  PgCursor(const PgCursor&) = delete;
  PgCursor& operator=(const PgCursor&) = delete;

  void bind(int i, std::int64_t v) override {
    char buf[24];
    auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
    slot(i).assign(buf, end);
  }
  void bind(int i, std::string_view v) override {
    // libpq takes text parameters NUL-terminated; PostgreSQL text has no NUL.
    if (v.find('\0') != std::string_view::npos) {
      fail(Errc::bad_request, "text must not contain NUL characters");
    }
    slot(i).assign(v);
  }
  void bind_blob(int i, std::string_view v) override {
    // bytea's hex input form: the parameters stay text.
    static constexpr char kHex[] = "0123456789abcdef";
    auto& out = slot(i);
    out.assign("\\x");
    out.reserve(2 + 2 * v.size());
    for (unsigned char c : v) {
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  void bind_null(int i) override {
    slot(i).clear();
    set_[static_cast<std::size_t>(i - 1)] = false;
  }

  bool step() override {
    if (!result_) run();
    return ++row_ < rows_;
  }
  std::int64_t i64(int col) const override {
    const char* v = PQgetvalue(result_, row_, col);
    std::int64_t n = 0;
    std::from_chars(v, v + PQgetlength(result_, row_, col), n);
    return n;
  }
  std::string text(int col) const override {
    return {PQgetvalue(result_, row_, col),
            static_cast<std::size_t>(PQgetlength(result_, row_, col))};
  }
  std::string blob(int col) const override {
    // bytea as text: hex ("\\x0a1b..."), the server's default output form.
    const char* v = PQgetvalue(result_, row_, col);
    auto n = static_cast<std::size_t>(PQgetlength(result_, row_, col));
    if (n < 2 || v[0] != '\\' || v[1] != 'x' || n % 2 != 0) {
      fail(Errc::internal, "store: bytea not in hex form (bytea_output)");
    }
    auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
    std::string out((n - 2) / 2, '\0');
    for (std::size_t k = 0; k < out.size(); ++k) {
      out[k] = static_cast<char>(nibble(v[2 + 2 * k]) << 4 | nibble(v[3 + 2 * k]));
    }
    return out;
  }
  bool is_null(int col) const override { return PQgetisnull(result_, row_, col) != 0; }
  void reset() override {
    PQclear(result_);
    result_ = nullptr;
    row_ = -1;
    rows_ = 0;
    std::fill(set_.begin(), set_.end(), false);
  }

 private:
  std::string& slot(int i) {
    auto k = static_cast<std::size_t>(i - 1);
    if (i < 1 || k >= values_.size()) fail(Errc::internal, "store: parameter out of range");
    set_[k] = true;
    return values_[k];
  }

  void run() {
    owner_.check_usable();
    PGconn* conn = owner_.conn_;
    if (!prepared_) {
      PGresult* r =
          PQprepare(conn, name_.c_str(), sql_.c_str(), static_cast<int>(values_.size()), nullptr);
      if (PQresultStatus(r) != PGRES_COMMAND_OK) owner_.raise(r, sql_.c_str());
      PQclear(r);
      prepared_ = true;
    }
    std::vector<const char*> ptrs(values_.size());
    for (std::size_t k = 0; k < values_.size(); ++k) {
      ptrs[k] = set_[k] ? values_[k].c_str() : nullptr;
    }
    PGresult* r = PQexecPrepared(conn, name_.c_str(), static_cast<int>(ptrs.size()), ptrs.data(),
                                 nullptr, nullptr, 0);
    auto status = PQresultStatus(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) owner_.raise(r, sql_.c_str());
    if (is_write_tag(PQcmdStatus(r))) owner_.changes_ += tag_rows(PQcmdTuples(r));
    result_ = r;
    row_ = -1;
    rows_ = PQntuples(r);
  }

  PgStore& owner_;
  std::string name_;
  std::string sql_;
  bool prepared_ = false;
  std::vector<std::string> values_;
  std::vector<bool> set_;
  PGresult* result_ = nullptr;
  int row_ = -1;
  int rows_ = 0;
};

std::string PgStore::dialect_sql(std::string_view sql, int* params) {
  std::string out;
  out.reserve(sql.size() + 8);
  int highest = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (c == '\'') quoted = !quoted;  // '' inside a literal toggles twice
    if (c == '?' && !quoted && i + 1 < sql.size() && sql[i + 1] >= '0' && sql[i + 1] <= '9') {
      int n = 0;
      std::size_t j = i + 1;
      while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9') n = n * 10 + (sql[j++] - '0');
      highest = std::max(highest, n);
      out += '$';
      out.append(sql.substr(i + 1, j - i - 1));
      i = j - 1;
      continue;
    }
    out += c;
  }
  if (params) *params = highest;
  return out;
}

PgStore::PgStore(PostgresOptions options) : options_(std::move(options)) { connect(); }

PgStore::~PgStore() {
  cache_.clear();
  if (conn_) PQfinish(conn_);
}

void PgStore::connect() {
  cache_.clear();  // prepared statements belong to the old session
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
  std::string timeout = std::to_string(std::max(1, (options_.connect_timeout_ms + 999) / 1000));
  // A server that stops answering (paused, network gone) is noticed by the
  // kernel within about half a minute rather than never.
  std::string user_timeout = std::to_string(std::max(options_.statement_timeout_ms, 10000) + 5000);
  // Later keywords override what the URL says.
  const char* keys[] = {"dbname",           "connect_timeout",  "application_name",
                        "keepalives",       "keepalives_idle",  "keepalives_interval",
                        "keepalives_count", "tcp_user_timeout", nullptr};
  const char* values[] = {options_.url.c_str(), timeout.c_str(), "parley", "1", "10", "5", "3",
                          user_timeout.c_str(), nullptr};
  PGconn* c = PQconnectdbParams(keys, values, 1);
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = first_line(PQerrorMessage(c));
    PQfinish(c);
    log::warn("store_connect_failed", {{"error", msg}});
    fail(Errc::unavailable, "database is unavailable: " + msg);
  }
  conn_ = c;
  // Server notices (NOTICE, WARNING) go to the debug log, not to stderr.
  PQsetNoticeProcessor(
      conn_,
      [](void*, const char* msg) {
        log::debug("store_notice", {{"message", first_line(msg)}});
      },
      nullptr);
  exec(options_.synchronous_commit ? "SET synchronous_commit = on"
                                   : "SET synchronous_commit = off");
  if (!options_.schema.empty()) {
    char* ident = PQescapeIdentifier(conn_, options_.schema.c_str(), options_.schema.size());
    std::string set = std::string("SET search_path TO ") + (ident ? ident : "public");
    PQfreemem(ident);
    exec(set.c_str());
  }
  if (options_.read_only) exec("SET default_transaction_read_only = on");
  std::string statement_timeout =
      "SET statement_timeout = " + std::to_string(std::max(0, options_.statement_timeout_ms));
  exec(statement_timeout.c_str());
}

bool PgStore::connected() const { return conn_ && PQstatus(conn_) == CONNECTION_OK; }

void PgStore::check_usable() {
  if (!connected()) fail(Errc::unavailable, "database is unavailable: connection lost");
}

void PgStore::exec_first(const char* sql) {
  if (!connected()) connect();
  try {
    exec(sql);
  } catch (const Error&) {
    // libpq learns that the server went away (a restart) only on the next
    // call: nothing has happened on this connection since, so reconnect once.
    if (connected()) throw;
    connect();
    exec(sql);
  }
}

void PgStore::raise(PGresult* r, const char* what) {
  const char* state_p = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string state = state_p ? state_p : "";
  std::string msg =
      first_line(r && *PQresultErrorMessage(r) ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
  PQclear(r);
  // A failed statement leaves the transaction unusable: the writer must undo.
  if (conn_ && PQtransactionStatus(conn_) == PQTRANS_INERROR) ++changes_;
  if (state == "23505") fail(Errc::conflict, "already exists (" + msg + ")");
  if (state == "40001" || state == "40P01" || state == "55P03") {
    fail(Errc::unavailable, "database is busy; try again");
  }
  if (state == "53100") fail(Errc::unavailable, "database disk is full");
  if (state == "57014") fail(Errc::unavailable, "database statement timed out");
  bool down = state.empty() || state.starts_with("08") || state.starts_with("53") ||
              state.starts_with("57P") || state.starts_with("58") || state == "25006" ||
              !connected();
  if (down) {
    log::error("store_io_error", {{"sqlstate", state}, {"message", msg}});
    fail(Errc::unavailable, "database is unavailable");
  }
  log::error("store_error", {{"sqlstate", state}, {"message", msg}, {"sql", what ? what : ""}});
  fail(Errc::internal, "store error");
}

std::string PgStore::exec(const char* sql) {
  check_usable();
  PGresult* r = PQexec(conn_, sql);
  auto status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) raise(r, sql);
  std::string tag = PQcmdStatus(r);
  if (is_write_tag(tag)) changes_ += tag_rows(PQcmdTuples(r));
  PQclear(r);
  return tag;
}

SqlStore::Cursor& PgStore::cursor(const char* sql) {
  check_usable();
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    auto c = std::make_unique<PgCursor>(*this, sql, "p" + std::to_string(++next_statement_));
    it = cache_.emplace(sql, std::move(c)).first;
  }
  return *it->second;
}

void PgStore::begin(bool write) {
  // Reads see one snapshot; writes use READ COMMITTED, where the row lock
  // taken by next_seq makes other writers of the conversation wait for COMMIT.
  exec_first(write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}

void PgStore::commit() {
  // COMMIT of a failed transaction answers "ROLLBACK": nothing was kept.
  if (exec("COMMIT") != "COMMIT") fail(Errc::internal, "transaction was rolled back");
}

void PgStore::rollback() {
  if (connected() && PQtransactionStatus(conn_) != PQTRANS_IDLE) {
    exec("ROLLBACK");
  }
}

void PgStore::savepoint() { exec("SAVEPOINT job"); }
void PgStore::release() { exec("RELEASE SAVEPOINT job"); }
void PgStore::rollback_to() { exec("ROLLBACK TO SAVEPOINT job"); }

bool PgStore::in_transaction() {
  if (!connected()) return false;
  auto s = PQtransactionStatus(conn_);
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR;
}

void PgStore::ping() { exec_first("SELECT 1"); }

void PgStore::exec_script(std::string_view sql) { exec(std::string(sql).c_str()); }

std::int64_t PgStore::schema_version() {
  auto exists = prepare("SELECT to_regclass('schema_migrations') IS NOT NULL");
  bool present = exists.step() && exists.text(0) == "t";
  if (!present) {
    if (options_.read_only) return 0;
    exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT "
        "NULL, applied_at BIGINT NOT NULL)");
    return 0;
  }
  return recorded_version();
}

void PgStore::lock_schema() {
  std::string sql = "SELECT pg_advisory_xact_lock(" + std::to_string(kSchemaLockKey) + ")";
  exec(sql.c_str());
}

namespace {

// PostgreSQL array literals, for unnest() parameters.
void array_item(std::string& out, std::int64_t v) {
  out += out.size() > 1 ? "," : "";
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

void array_item(std::string& out, std::string_view v) {
  out += out.size() > 1 ? ",\"" : "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

// A bytea element in hex form: "\\x0a1b".
void array_bytes(std::string& out, std::string_view v) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += out.size() > 1 ? ",\"\\\\x" : "\"\\\\x";
  for (unsigned char c : v) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  out += '"';
}

}  // namespace

void PgStore::append_collab_updates(std::span<const CollabAppend> in, std::int64_t now,
                                    std::span<std::int64_t> out) {
  std::string docs = "{", data = "{", authors = "{", ord = "{";
  for (std::size_t i = 0; i < in.size(); ++i) {
    array_item(docs, in[i].document_id);
    array_bytes(data, in[i].data);
    array_item(authors, in[i].author_id);
    array_item(ord, static_cast<std::int64_t>(i));
    out[i] = 0;
  }
  if (in.empty()) return;
  for (auto* a : {&docs, &data, &authors, &ord}) *a += '}';
  // As append_messages: document rows locked in id order, seqs from bump's
  // output, a document's rows numbered in the order of `in`.
  auto s = prepare(
      "WITH req AS ("
      " SELECT * FROM unnest(CAST(?1 AS BIGINT[]), CAST(?2 AS BYTEA[]), CAST(?3 AS BIGINT[]),"
      "  CAST(?4 AS BIGINT[])) AS r(document_id, data, author_id, ord)),"
      " counts AS ("
      " SELECT document_id, COUNT(*) AS k, SUM(LENGTH(data)) AS b FROM req GROUP BY document_id),"
      " locked AS ("
      " SELECT d.id FROM collab_documents d WHERE d.id IN (SELECT document_id FROM counts)"
      "  ORDER BY d.id FOR UPDATE),"
      " bump AS ("
      " UPDATE collab_documents d SET last_seq = d.last_seq + counts.k, updated_at = CAST(?5 AS "
      "BIGINT),"
      "  log_bytes = d.log_bytes + counts.b, log_rows = d.log_rows + counts.k"
      " FROM counts WHERE d.id = counts.document_id AND d.id IN (SELECT id FROM locked)"
      " RETURNING d.id, d.last_seq, counts.k),"
      " numbered AS ("
      " SELECT req.*, bump.last_seq - bump.k"
      "  + ROW_NUMBER() OVER (PARTITION BY req.document_id ORDER BY req.ord) AS seq"
      " FROM req JOIN bump ON bump.id = req.document_id)"
      " INSERT INTO collab_updates (document_id, seq, data, author_id, at)"
      " SELECT document_id, seq, data, NULLIF(author_id, 0), CAST(?5 AS BIGINT) FROM numbered"
      " RETURNING document_id, seq");
  s.bind(1, std::string_view(docs)).bind(2, std::string_view(data));
  s.bind(3, std::string_view(authors)).bind(4, std::string_view(ord)).bind(5, now);
  std::vector<std::pair<Id, std::int64_t>> seqs;
  while (s.step()) seqs.emplace_back(s.i64(0), s.i64(1));
  // A document's seqs ascending go to its entries of `in` in order.
  std::sort(seqs.begin(), seqs.end());
  auto next = seqs.begin();
  std::vector<std::size_t> order(in.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return in[a].document_id < in[b].document_id;
  });
  for (std::size_t i : order) {
    while (next != seqs.end() && next->first < in[i].document_id) ++next;
    if (next != seqs.end() && next->first == in[i].document_id) out[i] = (next++)->second;
  }
}

void PgStore::append_messages(std::span<Message* const> in, std::span<std::int64_t> out) {
  // Later uses of a client_id in the run go the step-by-step way: the
  // statement's NOT EXISTS sees only what was there when it began.
  mark_first_uses(in, out);
  std::string ids = "{", convs = "{", senders = "{", clients = "{", bodies = "{", ats = "{",
              replies = "{", casts = "{", ord = "{";
  std::vector<bool> sent(in.size(), false);
  std::size_t n = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    // The step-by-step path checks mentions and writes polls.
    if (!in[i]->mentions.empty() || !in[i]->poll.empty()) out[i] = 0;
    if (!out[i]) continue;
    sent[i] = true;
    const Message& m = *in[i];
    if (m.client_id.find('\0') != std::string::npos || m.body.find('\0') != std::string::npos) {
      fail(Errc::bad_request, "text must not contain NUL characters");
    }
    array_item(ids, m.id);
    array_item(convs, m.conversation_id);
    array_item(senders, m.sender_id);
    array_item(clients, m.client_id);
    array_item(bodies, m.body);
    array_item(ats, m.created_at);
    array_item(replies, m.reply_to);
    array_item(casts, std::int64_t{m.broadcast});
    array_item(ord, static_cast<std::int64_t>(i));
    out[i] = 0;
    ++n;
  }
  if (n == 0) return;
  for (auto* a : {&ids, &convs, &senders, &clients, &bodies, &ats, &replies, &casts, &ord}) {
    *a += '}';
  }

  // Data-modifying CTEs run once and to completion, all on the snapshot the
  // statement began with, so seqs come from bump's output. The conversation
  // rows are locked in id order (FOR UPDATE ... ORDER BY), as SqlStore's
  // loop does, so two nodes appending to the same conversations do not
  // deadlock on them within one run.
  // A reply takes its thread's root from the message it answers (p); one
  // to a seq not stored is left out.
  // The command tag is INSERT's, so total_changes() moves when it wrote.
  auto s = prepare(
      "WITH req AS ("
      " SELECT * FROM unnest(CAST(?1 AS BIGINT[]), CAST(?2 AS BIGINT[]), CAST(?3 AS BIGINT[]),"
      "  CAST(?4 AS TEXT[]), CAST(?5 AS TEXT[]), CAST(?6 AS BIGINT[]), CAST(?7 AS BIGINT[]),"
      "  CAST(?8 AS BIGINT[]), CAST(?9 AS BIGINT[]))"
      "  AS r(id, conversation_id, sender_id, client_id, body, created_at, reply_to, broadcast,"
      "  ord)),"
      " ok AS ("
      " SELECT r.id, r.conversation_id, r.sender_id, r.client_id, r.body, r.created_at,"
      "  CASE WHEN r.reply_to = 0 THEN 0 WHEN p.reply_to > 0 THEN p.reply_to ELSE r.reply_to END"
      "  AS reply_to, r.broadcast, r.ord"
      " FROM req r LEFT JOIN messages p ON r.reply_to > 0"
      "  AND p.conversation_id = r.conversation_id AND p.seq = r.reply_to"
      " WHERE EXISTS (SELECT 1 FROM members m JOIN conversations cs ON cs.id = m.conversation_id"
      "   WHERE m.conversation_id = r.conversation_id AND m.user_id = r.sender_id"
      "   AND m.muted_until <= r.created_at AND cs.slow_mode_s = 0)"
      "  AND NOT EXISTS (SELECT 1 FROM messages x WHERE x.sender_id = r.sender_id"
      "   AND x.client_id = r.client_id)"
      "  AND (r.reply_to = 0 OR p.seq IS NOT NULL)),"
      " counts AS ("
      " SELECT conversation_id, COUNT(*) AS k, MAX(created_at) AS t FROM ok GROUP BY "
      "conversation_id),"
      " locked AS ("
      " SELECT c.id FROM conversations c WHERE c.id IN (SELECT conversation_id FROM counts)"
      "  ORDER BY c.id FOR UPDATE),"
      " bump AS ("
      " UPDATE conversations c SET last_seq = c.last_seq + counts.k,"
      "  activity_at = GREATEST(c.activity_at, counts.t)"
      " FROM counts WHERE c.id = counts.conversation_id AND c.id IN (SELECT id FROM locked)"
      " RETURNING c.id, c.last_seq, counts.k),"
      " numbered AS ("
      " SELECT ok.*, bump.last_seq - bump.k"
      "  + ROW_NUMBER() OVER (PARTITION BY ok.conversation_id ORDER BY ok.ord) AS seq"
      " FROM ok JOIN bump ON bump.id = ok.conversation_id),"
      " marked AS ("
      " UPDATE members m SET last_read_seq = t.seq,"
      "  delivered_seq = GREATEST(m.delivered_seq, t.seq)"
      " FROM (SELECT conversation_id, sender_id, MAX(seq) AS seq FROM numbered"
      "  GROUP BY conversation_id, sender_id) t"
      " WHERE m.conversation_id = t.conversation_id AND m.user_id = t.sender_id"
      "  AND m.last_read_seq < t.seq)"
      " INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, body, created_at,"
      "  reply_to, broadcast)"
      " SELECT id, conversation_id, seq, sender_id, client_id, body, created_at, reply_to,"
      "  broadcast FROM numbered"
      " RETURNING id, seq, reply_to");
  s.bind(1, std::string_view(ids)).bind(2, std::string_view(convs));
  s.bind(3, std::string_view(senders)).bind(4, std::string_view(clients));
  s.bind(5, std::string_view(bodies)).bind(6, std::string_view(ats));
  s.bind(7, std::string_view(replies)).bind(8, std::string_view(casts));
  s.bind(9, std::string_view(ord));
  struct Row {
    Id id;
    std::int64_t seq, reply_to;
  };
  std::vector<Row> rows;
  while (s.step()) rows.push_back({s.i64(0), s.i64(1), s.i64(2)});
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.id < b.id; });
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (!sent[i]) continue;
    auto it = std::lower_bound(rows.begin(), rows.end(), in[i]->id,
                               [](const Row& r, Id id) { return r.id < id; });
    if (it != rows.end() && it->id == in[i]->id) {
      out[i] = it->seq;
      in[i]->reply_to = it->reply_to;
    }
  }
}

}  // namespace parley::store
