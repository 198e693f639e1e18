#include "collab/documents.hpp"

#include <chrono>
#include <future>
#include <memory>

#include "collab/service.hpp"
#include "collab/yupdate.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "store/database.hpp"

namespace parley::collab {

namespace {

constexpr int kPage = 512;

int rank(std::string_view role) {
  if (role == "owner") return 3;
  if (role == "editor") return 2;
  if (role == "viewer") return 1;
  return 0;
}

// The committed state: the log merged, read in pages in one snapshot.
std::pair<std::string, std::int64_t> committed_state(store::Store& s, Id doc_id) {
  std::vector<std::string> rows;
  std::int64_t seq = 0;
  for (;;) {
    auto page = s.collab_updates_after(doc_id, seq, kPage);
    for (auto& u : page) {
      seq = u.seq;
      rows.push_back(std::move(u.data));
    }
    if (page.size() < static_cast<std::size_t>(kPage)) break;
  }
  if (rows.empty()) return {std::string("\0\0", 2), 0};
  std::vector<std::string_view> views(rows.begin(), rows.end());
  return {merge_updates(views), seq};
}

}  // namespace

std::string role_in(store::Store& s, const store::CollabDocument& doc, Id user) {
  std::string granted = s.collab_role(doc.id, user);
  if (doc.conversation_id) {
    auto m = s.member(doc.conversation_id, user);
    if (!m) return "";
    if (doc.owner_id == user || m->role == "owner" || m->role == "admin") return "owner";
    return granted == "viewer" ? "viewer" : "editor";
  }
  if (doc.owner_id == user) return "owner";
  return granted;
}

Documents::Documents(store::Database& db, CollabService& live, IdGenerator& ids,
                     std::size_t max_document_bytes)
    : db_(db), live_(live), ids_(ids), max_document_bytes_(max_document_bytes) {}

DocumentView Documents::require(Id user, Id doc_id, std::string_view needs) {
  auto view = db_.read([&](store::Store& s) -> std::optional<DocumentView> {
    auto d = s.collab_document(doc_id);
    if (!d) return std::nullopt;
    return DocumentView{*d, role_in(s, *d, user)};
  });
  if (!view || view->role.empty()) fail(Errc::not_found, "document not found");
  if (rank(view->role) < rank(needs)) {
    fail(Errc::forbidden, "this needs the " + std::string(needs) + " role on the document");
  }
  return *view;
}

DocumentView Documents::create(Id user, std::string_view name, std::string_view title,
                               Id conversation) {
  store::CollabDocument d;
  d.id = ids_.next();
  d.name = name.empty() ? "doc-" + id_to_string(d.id) : std::string(name);
  if (!valid_document_name(d.name)) {
    fail(Errc::bad_request, "name: 1 to 128 of A-Z a-z 0-9 . _ ~ : -");
  }
  Id named = conversation_of_name(d.name);
  if (named && conversation && named != conversation) {
    fail(Errc::bad_request, "name: names the conversation " + id_to_string(named));
  }
  if (!conversation && d.name.starts_with("conversation.")) {
    if (!named) fail(Errc::bad_request, "name: conversation.<id>[.<label>] is reserved");
    conversation = named;
  }
  if (conversation && !named) {
    fail(Errc::bad_request, "name: a conversation's document is named conversation." +
                                id_to_string(conversation) + "[.<label>]");
  }
  d.conversation_id = conversation;
  d.owner_id = user;
  d.title = std::string(title);
  d.created_at = d.updated_at = now_ms();
  db_.write([&](store::Store& s) {
    if (conversation && !s.member(conversation, user)) {
      fail(Errc::not_found, "conversation not found");
    }
    s.insert_collab_document(d);  // conflict when the name is taken
  });
  return {d, "owner"};
}

std::vector<DocumentView> Documents::list(Id user, Id after, int limit) {
  return db_.read([&](store::Store& s) {
    std::vector<DocumentView> out;
    for (auto& d : s.collab_documents_for_user(user, after, limit)) {
      auto role = role_in(s, d, user);
      out.push_back({std::move(d), std::move(role)});
    }
    return out;
  });
}

DocumentView Documents::get(Id user, Id doc_id) { return require(user, doc_id, "viewer"); }

std::vector<std::pair<Id, std::string>> Documents::access(Id user, Id doc_id) {
  require(user, doc_id, "owner");
  return db_.read([&](store::Store& s) { return s.collab_roles(doc_id); });
}

void Documents::set_role(Id user, Id doc_id, Id target, std::string_view role) {
  if (!role.empty() && role != "editor" && role != "viewer") {
    fail(Errc::bad_request, "role: editor or viewer");
  }
  auto view = require(user, doc_id, "owner");
  if (target == view.doc.owner_id) fail(Errc::bad_request, "the owner's role cannot change");
  db_.write([&](store::Store& s) {
    if (!s.user_by_id(target)) fail(Errc::not_found, "user not found");
    s.set_collab_role(doc_id, target, role);
  });
  live_.access_changed(view.doc.id, target, role.empty() && !view.doc.conversation_id);
}

void Documents::remove(Id user, Id doc_id) {
  auto view = require(user, doc_id, "owner");
  db_.write([&](store::Store& s) { s.delete_collab_document(doc_id); });
  live_.deleted(view.doc);
}

std::string Documents::state(Id user, Id doc_id) {
  require(user, doc_id, "viewer");
  return db_.read([&](store::Store& s) { return committed_state(s, doc_id).first; });
}

std::int64_t Documents::apply(Id user, Id doc_id, std::string update) {
  auto view = require(user, doc_id, "editor");
  decode_update(update);  // bad_request before it reaches the document
  // Shared: if the document is dropped meanwhile (deleted, a failed write)
  // or the server stops, no answer comes and this gives up on its own.
  auto promise = std::make_shared<std::promise<std::int64_t>>();
  auto result = promise->get_future();
  live_.apply(view.doc, std::move(update), user,
              [promise](std::int64_t applied, std::exception_ptr e) {
                e ? promise->set_exception(e) : promise->set_value(applied);
              });
  if (result.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    fail(Errc::unavailable, "the document did not answer: try again");
  }
  return result.get();
}

store::CollabVersion Documents::create_version(Id user, Id doc_id, std::string_view name) {
  require(user, doc_id, "editor");
  store::CollabVersion v;
  v.id = ids_.next();
  v.document_id = doc_id;
  v.name = std::string(name);
  v.created_by = user;
  v.created_at = now_ms();
  db_.write([&](store::Store& s) {
    auto [state, seq] = committed_state(s, doc_id);
    v.state = std::move(state);
    v.seq = seq;
    v.state_bytes = static_cast<std::int64_t>(v.state.size());
    s.insert_collab_version(v);
  });
  v.state.clear();
  return v;
}

std::vector<store::CollabVersion> Documents::versions(Id user, Id doc_id, int limit) {
  require(user, doc_id, "viewer");
  return db_.read([&](store::Store& s) { return s.collab_versions(doc_id, limit); });
}

store::CollabVersion Documents::version(Id user, Id doc_id, Id version_id) {
  require(user, doc_id, "viewer");
  auto v = db_.read([&](store::Store& s) { return s.collab_version(doc_id, version_id); });
  if (!v) fail(Errc::not_found, "version not found");
  return *v;
}

DocumentView Documents::copy_version(Id user, Id doc_id, Id version_id, std::string_view name,
                                     std::string_view title) {
  auto v = version(user, doc_id, version_id);
  if (v.state.size() > max_document_bytes_) {
    fail(Errc::payload_too_large, "version larger than collab.max_document_bytes");
  }
  auto created = create(user, name, title, 0);
  db_.write(
      [&](store::Store& s) { s.append_collab_update(created.doc.id, v.state, user, now_ms()); });
  return created;
}

}  // namespace parley::collab
