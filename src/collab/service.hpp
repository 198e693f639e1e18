// Collaboration rooms: the y-websocket protocol (y-protocols sync, awareness
// and auth messages) at /collab/<document>, as a WebSocket protocol handler
// on the transport in net/websocket.hpp, with Parley's accounts as the
// access model and its store as the persistence.
//
// Each loaded document lives on one "home" worker (chosen by its name), which
// alone touches it: no lock. A connection on any worker posts what it reads
// to the home; the home applies updates, keeps only what is new, appends it
// to the document's log through the store writer and, once committed, posts
// one shared frame per worker to every connection of the document (the
// sender included: y-websocket 3.1 confirms its updates by that echo).
// Awareness is relayed at once and removed for the others when its
// connection goes.
//
// Access (resolved on the handler pool before the handshake completes): a
// document named "conversation.<id>" or "conversation.<id>.<label>" belongs
// to that conversation, whose members edit it unless collab_access makes them
// viewers; any other name stands alone, with an owner (whoever created it:
// by REST, or by connecting first when collab.create_on_connect is set) and
// the editors and viewers in collab_access. A refused client is accepted,
// sent the y-protocols auth message and closed with 44xx (y-websocket 3.1
// stops on those); one refused again and again from the same address with
// the same credential gets HTTP 429 instead, which y-websocket 3.0 backs off
// from.
//
// Threading: route() before the server starts; the AccessListener calls
// from any thread; everything else happens on the workers.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.hpp"
#include "net/websocket.hpp"
#include "realtime/gateway.hpp"

namespace parley {
namespace auth {
class AuthService;
}
namespace cluster {
class Broker;
struct ClusterEvent;
}  // namespace cluster
namespace metrics {
class Registry;
}
namespace store {
class Database;
struct CollabDocument;
}  // namespace store
}  // namespace parley

namespace parley::collab {

struct CollabOptions {
  std::size_t max_message_bytes = 8 << 20;    // one WebSocket message from a client
  std::size_t max_document_bytes = 64 << 20;  // a document's merged state
  std::size_t max_documents = 10000;          // loaded in memory, all workers
  std::size_t max_connections_per_document = 500;
  std::int64_t max_connections_per_user = 100;
  double rate_per_s = 200;  // messages one connection may send, sustained
  double rate_burst = 400;
  std::int64_t compact_rows = 500;       // log rows past which the log is merged into one
  std::int64_t compact_bytes = 4 << 20;  // or log bytes past this plus twice the state
  bool create_on_connect = true;         // a standalone document is made by its first visitor
  double refused_per_minute = 10;        // refusals per address and credential before 429
  // true: an update reaches anyone only once it is stored. false: the other
  // connections get it as soon as it is applied (as y-websocket does); the
  // sender's echo, and other nodes, still wait for the commit.
  bool relay_on_commit = false;
};

// Close codes (y-websocket 3.1 treats 4400-4499 as final and stops).
namespace close_code {
inline constexpr std::uint16_t kUnauthenticated = 4401;
inline constexpr std::uint16_t kForbidden = 4403;
inline constexpr std::uint16_t kNotFound = 4404;
inline constexpr std::uint16_t kDocumentTooLarge = 4413;
inline constexpr std::uint16_t kTooManyConnections = 4429;
inline constexpr std::uint16_t kRateLimited = 4008;  // not final: the client reconnects
inline constexpr std::uint16_t kTryAgain = 1013;
inline constexpr std::uint16_t kReconnect = 1012;  // "service restart": access changed
}  // namespace close_code

// Whether name can be a document's name: 1 to 128 of A-Z a-z 0-9 . _ ~ : -
bool valid_document_name(std::string_view name);
// The conversation of a "conversation.<id>[.<label>]" name; 0 for others.
Id conversation_of_name(std::string_view name);

class CollabService final : public realtime::Gateway::AccessListener {
 public:
  CollabService(CollabOptions opts, store::Database& db, auth::AuthService& auth,
                realtime::TicketStore& tickets, IdGenerator& ids, metrics::Registry& metrics);
  ~CollabService() override;
  CollabService(const CollabService&) = delete;
  CollabService& operator=(const CollabService&) = delete;

  // The server's workers, over which documents are spread, and its handler
  // pool for store reads (before serving).
  void attach(std::vector<boost::asio::io_context*> workers, boost::asio::thread_pool& pool);
  // The endpoint: every path under prefix ("/collab/") is a document.
  net::WsRoute route(std::string prefix);

  // Cluster mode (before serving): each committed update goes to the other
  // nodes; theirs arrive through on_cluster_event (broker thread), are put
  // in seq order, and a gap still open after reorder_wait is read from the
  // store. resync(): the broker may have dropped traffic: read from the
  // store what each loaded document lacks.
  void set_cluster(cluster::Broker* broker, std::uint32_t node_id,
                   std::chrono::milliseconds reorder_wait);
  void on_cluster_event(const cluster::ClusterEvent& e);
  void resync();

  // Before the server stops: store completions no longer reach the workers.
  void stop();

  // Live effects of REST (collab/documents.hpp), from handler threads.
  // Applies an update to the document as a connection's would be (relayed
  // to its editors once committed); done(bytes that were new, error) runs
  // on a worker.
  void apply(const store::CollabDocument& doc, std::string update, Id author,
             std::function<void(std::int64_t, std::exception_ptr)> done);
  // A user's role in a document changed: their connections to it close, to
  // reconnect with the new role (1012), or to stop when removed (4403).
  void access_changed(Id doc_id, Id user_id, bool removed);
  // The document was deleted: its connections close with 4404. Both calls
  // reach the other nodes too, in cluster mode.
  void deleted(const store::CollabDocument& doc);

  // AccessListener: closes the connections that lost their access.
  void revoked(Id user_id, Id family) override;
  void left(Id conversation_id, Id user_id) override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::collab
