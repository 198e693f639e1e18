// SqlStore's collaboration documents: the Yjs update log, access rows and
// versions (schema: migrations/*/0003_collab.sql).
#include "store/sql_store.hpp"

#include <algorithm>
#include <numeric>
#include <vector>

#include "core/error.hpp"

namespace parley::store {

namespace {

#define COLLAB_DOC_COLUMNS                                                             \
  "d.id, d.name, d.conversation_id, d.owner_id, d.title, d.created_at, d.updated_at, " \
  "d.last_seq, d.log_bytes, d.log_rows"

template <class S>
CollabDocument read_document(const S& s) {
  CollabDocument d;
  d.id = s.i64(0);
  d.name = s.text(1);
  d.conversation_id = s.is_null(2) ? 0 : s.i64(2);
  d.owner_id = s.i64(3);
  d.title = s.text(4);
  d.created_at = s.i64(5);
  d.updated_at = s.i64(6);
  d.last_seq = s.i64(7);
  d.log_bytes = s.i64(8);
  d.log_rows = s.i64(9);
  return d;
}

}  // namespace

void SqlStore::insert_collab_document(const CollabDocument& d) {
  auto s = prepare(
      "INSERT INTO collab_documents (id, name, conversation_id, owner_id, title, created_at, "
      "updated_at, last_seq, log_bytes, log_rows) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 0, 0)");
  s.bind(1, d.id).bind(2, d.name);
  if (d.conversation_id) {
    s.bind(3, d.conversation_id);
  } else {
    s.bind_null(3);
  }
  s.bind(4, d.owner_id).bind(5, d.title).bind(6, d.created_at).bind(7, d.updated_at);
  s.run();
}

std::optional<CollabDocument> SqlStore::collab_document(Id id) {
  auto s = prepare("SELECT " COLLAB_DOC_COLUMNS " FROM collab_documents d WHERE d.id = ?1");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read_document(s);
}

std::optional<CollabDocument> SqlStore::collab_document_by_name(std::string_view name) {
  auto s = prepare("SELECT " COLLAB_DOC_COLUMNS " FROM collab_documents d WHERE d.name = ?1");
  s.bind(1, name);
  if (!s.step()) return std::nullopt;
  return read_document(s);
}

std::vector<CollabDocument> SqlStore::collab_documents_for_user(Id user_id, Id after_id,
                                                                int limit) {
  auto s = prepare(
      "SELECT " COLLAB_DOC_COLUMNS
      " FROM collab_documents d WHERE d.id > ?2 AND (d.owner_id = ?1"
      " OR EXISTS (SELECT 1 FROM collab_access a WHERE a.document_id = d.id AND a.user_id = ?1)"
      " OR EXISTS (SELECT 1 FROM members m WHERE m.conversation_id = d.conversation_id"
      " AND m.user_id = ?1)) ORDER BY d.id LIMIT ?3");
  s.bind(1, user_id).bind(2, after_id).bind(3, static_cast<std::int64_t>(limit));
  std::vector<CollabDocument> out;
  while (s.step()) out.push_back(read_document(s));
  return out;
}

void SqlStore::delete_collab_document(Id id) {
  prepare("DELETE FROM collab_updates WHERE document_id = ?1").bind(1, id).run();
  prepare("DELETE FROM collab_access WHERE document_id = ?1").bind(1, id).run();
  prepare("DELETE FROM collab_versions WHERE document_id = ?1").bind(1, id).run();
  prepare("DELETE FROM collab_documents WHERE id = ?1").bind(1, id).run();
}

std::string SqlStore::collab_role(Id document_id, Id user_id) {
  auto s = prepare("SELECT role FROM collab_access WHERE document_id = ?1 AND user_id = ?2");
  s.bind(1, document_id).bind(2, user_id);
  return s.step() ? s.text(0) : std::string();
}

void SqlStore::set_collab_role(Id document_id, Id user_id, std::string_view role) {
  if (role.empty()) {
    prepare("DELETE FROM collab_access WHERE document_id = ?1 AND user_id = ?2")
        .bind(1, document_id)
        .bind(2, user_id)
        .run();
    return;
  }
  prepare(
      "INSERT INTO collab_access (document_id, user_id, role) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (document_id, user_id) DO UPDATE SET role = excluded.role")
      .bind(1, document_id)
      .bind(2, user_id)
      .bind(3, role)
      .run();
}

std::vector<std::pair<Id, std::string>> SqlStore::collab_roles(Id document_id) {
  auto s =
      prepare("SELECT user_id, role FROM collab_access WHERE document_id = ?1 ORDER BY user_id");
  s.bind(1, document_id);
  std::vector<std::pair<Id, std::string>> out;
  while (s.step()) out.emplace_back(s.i64(0), s.text(1));
  return out;
}

std::int64_t SqlStore::append_collab_update(Id document_id, std::string_view data, Id author_id,
                                            std::int64_t now) {
  CollabAppend a{document_id, data, author_id};
  std::int64_t seq = 0;
  append_collab_updates({&a, 1}, now, {&seq, 1});
  if (!seq) fail(Errc::not_found, "no such document");
  return seq;
}

void SqlStore::append_collab_updates(std::span<const CollabAppend> in, std::int64_t now,
                                     std::span<std::int64_t> out) {
  // Per document, in id order (the order PostgreSQL writers lock rows in),
  // one counter update for all its rows; then the rows in chunks.
  std::vector<std::size_t> order(in.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return in[a].document_id < in[b].document_id;
  });
  for (std::size_t k = 0; k < order.size();) {
    Id doc = in[order[k]].document_id;
    std::size_t end = k;
    std::int64_t bytes = 0;
    for (; end < order.size() && in[order[end]].document_id == doc; ++end) {
      bytes += static_cast<std::int64_t>(in[order[end]].data.size());
    }
    auto count = static_cast<std::int64_t>(end - k);
    auto s = prepare(
        "UPDATE collab_documents SET last_seq = last_seq + ?3, updated_at = ?2, "
        "log_bytes = log_bytes + ?4, log_rows = log_rows + ?3 WHERE id = ?1 RETURNING last_seq");
    s.bind(1, doc).bind(2, now).bind(3, count).bind(4, bytes);
    std::int64_t next = s.step() ? s.i64(0) - count + 1 : 0;
    s.run();
    for (std::size_t j = k; j < end; ++j) out[order[j]] = next ? next++ : 0;
    k = end;
  }

  static const MultiRowInsert rows(
      "INSERT INTO collab_updates (document_id, seq, data, author_id, at) VALUES ", 5);
  std::vector<std::size_t> kept;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (out[i]) kept.push_back(i);
  }
  for (std::size_t k = 0; k < kept.size();) {
    std::size_t n = MultiRowInsert::chunk(kept.size() - k);
    auto s = prepare(rows.sql(n));
    for (std::size_t r = 0; r < n; ++r) {
      const CollabAppend& a = in[kept[k + r]];
      int p = static_cast<int>(r * 5);
      s.bind(p + 1, a.document_id).bind(p + 2, out[kept[k + r]]).bind_blob(p + 3, a.data);
      if (a.author_id) {
        s.bind(p + 4, a.author_id);
      } else {
        s.bind_null(p + 4);
      }
      s.bind(p + 5, now);
    }
    s.run();
    k += n;
  }
}

std::vector<CollabUpdate> SqlStore::collab_updates_after(Id document_id, std::int64_t after_seq,
                                                         int limit) {
  auto s = prepare(
      "SELECT seq, data, author_id, at FROM collab_updates WHERE document_id = ?1 AND seq > ?2 "
      "ORDER BY seq LIMIT ?3");
  s.bind(1, document_id).bind(2, after_seq).bind(3, static_cast<std::int64_t>(limit));
  std::vector<CollabUpdate> out;
  while (s.step()) {
    out.push_back({s.i64(0), s.blob(1), s.is_null(2) ? 0 : s.i64(2), s.i64(3)});
  }
  return out;
}

void SqlStore::compact_collab_updates(Id document_id, std::int64_t upto_seq,
                                      std::string_view merged, std::int64_t now) {
  prepare("DELETE FROM collab_updates WHERE document_id = ?1 AND seq <= ?2")
      .bind(1, document_id)
      .bind(2, upto_seq)
      .run();
  prepare(
      "INSERT INTO collab_updates (document_id, seq, data, author_id, at) "
      "VALUES (?1, ?2, ?3, NULL, ?4)")
      .bind(1, document_id)
      .bind(2, upto_seq)
      .bind_blob(3, merged)
      .bind(4, now)
      .run();
  prepare(
      "UPDATE collab_documents SET "
      "log_bytes = (SELECT COALESCE(SUM(LENGTH(data)), 0) FROM collab_updates "
      "WHERE document_id = ?1), "
      "log_rows = (SELECT COUNT(*) FROM collab_updates WHERE document_id = ?1) WHERE id = ?1")
      .bind(1, document_id)
      .run();
}

void SqlStore::insert_collab_version(const CollabVersion& v) {
  auto s = prepare(
      "INSERT INTO collab_versions (id, document_id, name, seq, state, created_by, created_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  s.bind(1, v.id).bind(2, v.document_id).bind(3, v.name).bind(4, v.seq).bind_blob(5, v.state);
  if (v.created_by) {
    s.bind(6, v.created_by);
  } else {
    s.bind_null(6);
  }
  s.bind(7, v.created_at).run();
}

std::vector<CollabVersion> SqlStore::collab_versions(Id document_id, int limit) {
  auto s = prepare(
      "SELECT id, name, seq, LENGTH(state), created_by, created_at FROM collab_versions "
      "WHERE document_id = ?1 ORDER BY id DESC LIMIT ?2");
  s.bind(1, document_id).bind(2, static_cast<std::int64_t>(limit));
  std::vector<CollabVersion> out;
  while (s.step()) {
    CollabVersion v;
    v.id = s.i64(0);
    v.document_id = document_id;
    v.name = s.text(1);
    v.seq = s.i64(2);
    v.state_bytes = s.i64(3);
    v.created_by = s.is_null(4) ? 0 : s.i64(4);
    v.created_at = s.i64(5);
    out.push_back(std::move(v));
  }
  return out;
}

std::optional<CollabVersion> SqlStore::collab_version(Id document_id, Id version_id) {
  auto s = prepare(
      "SELECT id, name, seq, state, created_by, created_at FROM collab_versions "
      "WHERE document_id = ?1 AND id = ?2");
  s.bind(1, document_id).bind(2, version_id);
  if (!s.step()) return std::nullopt;
  CollabVersion v;
  v.id = s.i64(0);
  v.document_id = document_id;
  v.name = s.text(1);
  v.seq = s.i64(2);
  v.state = s.blob(3);
  v.state_bytes = static_cast<std::int64_t>(v.state.size());
  v.created_by = s.is_null(4) ? 0 : s.i64(4);
  v.created_at = s.i64(5);
  return v;
}

}  // namespace parley::store
