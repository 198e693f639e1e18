// Collaboration documents as REST sees them (/api/collab/...): create, list,
// metadata and access, the current state as a Yjs update, server-side
// updates (bots, imports), versions and deletion. Live effects (an update
// reaching connected editors, connections closed when access ends) go
// through the CollabService.
//
// Roles: "owner" (the creator; for a conversation's document also the
// conversation's owners and admins) manages access, versions and deletion;
// "editor" edits; "viewer" reads. Someone with no role gets not_found, so a
// document's existence does not leak.
//
// Threading: blocking (store reads and writes); handler threads only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ids.hpp"
#include "store/types.hpp"

namespace parley::store {
class Database;
class Store;
}  // namespace parley::store

namespace parley::collab {

class CollabService;

// The user's role in the document: "owner", "editor", "viewer", or "" (none).
std::string role_in(store::Store& s, const store::CollabDocument& doc, Id user);

struct DocumentView {
  store::CollabDocument doc;
  std::string role;  // the caller's
};

class Documents {
 public:
  Documents(store::Database& db, CollabService& live, IdGenerator& ids,
            std::size_t max_document_bytes);

  // name empty: "doc-<id>". conversation 0: standalone.
  DocumentView create(Id user, std::string_view name, std::string_view title, Id conversation);
  std::vector<DocumentView> list(Id user, Id after, int limit);
  DocumentView get(Id user, Id doc_id);
  // Owner only.
  std::vector<std::pair<Id, std::string>> access(Id user, Id doc_id);
  // Owner only. role "editor", "viewer", or "" to remove; the target's open
  // connections to it reconnect (or stop, when removed) with the new role.
  void set_role(Id user, Id doc_id, Id target, std::string_view role);
  void remove(Id user, Id doc_id);

  // The document's committed state as one Yjs update (v1).
  std::string state(Id user, Id doc_id);
  // Editors: applies a Yjs update as if a client sent it; returns the bytes
  // that were new (0: the document had all of it).
  std::int64_t apply(Id user, Id doc_id, std::string update);

  store::CollabVersion create_version(Id user, Id doc_id, std::string_view name);
  std::vector<store::CollabVersion> versions(Id user, Id doc_id, int limit);
  store::CollabVersion version(Id user, Id doc_id, Id version_id);  // with its state
  // A new standalone document (owned by user) holding the version's state.
  DocumentView copy_version(Id user, Id doc_id, Id version_id, std::string_view name,
                            std::string_view title);

 private:
  DocumentView require(Id user, Id doc_id, std::string_view needs);

  store::Database& db_;
  CollabService& live_;
  IdGenerator& ids_;
  std::size_t max_document_bytes_;
};

}  // namespace parley::collab
