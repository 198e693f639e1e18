#include "collab/service.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <chrono>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "auth/auth_service.hpp"
#include "cluster/broker.hpp"
#include "collab/document.hpp"
#include "collab/documents.hpp"
#include "collab/sync.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/rate_limiter.hpp"
#include "http/message.hpp"
#include "net/ws_frame.hpp"
#include "store/database.hpp"

namespace parley::collab {

namespace asio = boost::asio;
namespace ws_close = ::parley::ws::close_code;
using Clock = std::chrono::steady_clock;

bool valid_document_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '~' || c == ':' || c == '-';
  });
}

Id conversation_of_name(std::string_view name) {
  constexpr std::string_view kPrefix = "conversation.";
  if (name.substr(0, kPrefix.size()) != kPrefix) return 0;
  auto rest = name.substr(kPrefix.size());
  auto dot = rest.find('.');
  auto digits = rest.substr(0, dot);
  if (dot != std::string_view::npos && dot + 1 == rest.size()) return 0;  // "conversation.5."
  Id id = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (ec != std::errc() || end != digits.data() + digits.size() || id <= 0) return 0;
  return id;
}

namespace {

// What the handshake granted: a document and what the user may do in it.
struct Grant {
  store::CollabDocument doc;
  Id user = 0;
  Id family = 0;
  bool writer = false;
};

// A refusal: the close code and the reason the client is told.
struct Refusal {
  std::uint16_t code = close_code::kForbidden;
  std::string reason;
};

// A connection as its document's home sees it.
struct Member {
  std::uint64_t key = 0;
  std::size_t worker = 0;
  std::weak_ptr<net::WsConnection> conn;
  // Awareness clients this connection announced, with their last clock.
  std::map<std::uint64_t, std::uint64_t> clients;
};

struct AwarenessState {
  std::uint64_t clock = 0;
  std::string state;
  std::uint64_t member = 0;
};

// A loaded document, on its home worker only.
struct Room {
  store::CollabDocument meta;
  YDocument doc;
  bool ready = false;
  bool broken = false;  // a write failed: closing, then unloaded
  std::vector<Member> members;
  // Until loaded: what arrived, in order.
  std::vector<std::function<void(const std::shared_ptr<Room>&)>> waiting;
  std::map<std::uint64_t, AwarenessState> awareness;
  // Every update with seq <= contiguous is in doc (own commits, other
  // nodes' through the broker, or read from the store); those above it
  // that are in as well wait in `ahead` for the gap below them.
  std::int64_t contiguous = 0;
  std::set<std::int64_t> ahead;
  std::unique_ptr<asio::steady_timer> gap_timer;  // cluster: a gap is filled after reorder_wait
  bool filling = false;
  std::int64_t log_rows = 0;
  std::int64_t log_bytes = 0;
  int writes_in_flight = 0;
  bool compacting = false;
  std::list<std::string>::iterator idle;  // in the shard's idle list when no members
  bool in_idle = false;
};

class CollabSocket;

// What one worker holds: the documents at home here and the connections
// living here. Touched only on that worker.
// An update kept by a document, waiting for the store.
struct PendingAppend {
  std::shared_ptr<Room> room;
  std::string part;
  net::Frame frame;          // part as a sync update message
  std::uint64_t sender = 0;  // the member it came from (0: REST)
  Id author = 0;
  std::function<void(std::int64_t, std::exception_ptr)> reply;
  std::int64_t seq = 0;      // set by the writer
  std::exception_ptr error;  // this append's own failure (a deleted document)
};

struct Shard {
  asio::io_context* ctx = nullptr;
  // Appends of this worker's documents go to the store as one job, one job
  // at a time: what arrives while one commits waits for the next (group
  // commit per worker: the writer runs one savepoint for many updates).
  std::vector<PendingAppend> appends;
  bool appending = false;
  std::unordered_map<std::string, std::shared_ptr<Room>> rooms;
  std::list<std::string> idle;  // rooms without members, least recently used first
  std::unordered_set<CollabSocket*> sockets;
};

}  // namespace

struct CollabService::Impl {
  Impl(CollabOptions o, store::Database& d, auth::AuthService& a, realtime::TicketStore& t,
       IdGenerator& i, metrics::Registry& m)
      : opts(o),
        db(d),
        auth(a),
        tickets(t),
        ids(i),
        refusals(o.refused_per_minute / 60.0, o.refused_per_minute, 10000),
        documents_loaded(
            m.gauge("parley_collab_documents_loaded", "Collaboration documents held in memory")),
        connections(m.gauge("parley_collab_connections", "Open collaboration connections")),
        awareness_entries(m.gauge("parley_collab_awareness_entries",
                                  "Awareness states held for connected clients")),
        updates_applied(m.counter("parley_collab_updates_total",
                                  "Updates received, by what became of them",
                                  {{"result", "applied"}})),
        updates_duplicate(m.counter("parley_collab_updates_total",
                                    "Updates received, by what became of them",
                                    {{"result", "duplicate"}})),
        updates_readonly(m.counter("parley_collab_updates_total",
                                   "Updates received, by what became of them",
                                   {{"result", "read_only"}})),
        updates_refused(m.counter("parley_collab_updates_total",
                                  "Updates received, by what became of them",
                                  {{"result", "refused"}})),
        bytes_in(m.counter("parley_collab_received_bytes_total",
                           "Bytes of collaboration messages received")),
        stored_bytes(m.counter("parley_collab_stored_bytes_total",
                               "Bytes appended to document logs (what was new)")),
        messages_out(m.counter("parley_collab_messages_sent_total",
                               "Collaboration messages sent, one per connection")),
        refused(m.counter("parley_collab_refused_total",
                          "Collaboration handshakes refused (auth message and 44xx close)")),
        throttled(m.counter("parley_collab_throttled_total",
                            "Handshakes answered 429 after repeated refusals")),
        rate_limited(m.counter("parley_collab_rate_limited_total",
                               "Connections closed for sending too fast")),
        at_capacity(m.counter("parley_collab_limit_closes_total",
                              "Connections closed at a limit (1013, 4429)",
                              {{"limit", "max_documents"}})),
        document_full(m.counter("parley_collab_limit_closes_total",
                                "Connections closed at a limit (1013, 4429)",
                                {{"limit", "max_connections_per_document"}})),
        store_failures(m.counter("parley_collab_store_failures_total",
                                 "Document writes that failed (the document was reloaded)")),
        compactions(m.counter("parley_collab_compactions_total", "Document logs compacted")),
        gap_fills(m.counter("parley_collab_gap_fills_total",
                            "Cluster: reads of a document's log for updates another node's "
                            "broadcast did not bring")),
        compaction_seconds(m.histogram("parley_collab_compaction_seconds",
                                       "Time to merge and write a compacted log")),
        load_seconds(m.histogram("parley_collab_load_seconds",
                                 "Time to read a document's log and merge it")) {}

  Shard& shard(std::size_t w) { return shards[w]; }
  std::size_t home_of(std::string_view name) const {
    return std::hash<std::string_view>{}(name) % shards.size();
  }
  std::size_t shard_capacity() const {
    return std::max<std::size_t>(1, (opts.max_documents + shards.size() - 1) / shards.size());
  }

  void accept(const net::WsUpgrade& up, std::string name, std::function<void(net::WsAccept)> done);
  // On the handler pool: the user's access to the named document.
  std::variant<Grant, Refusal> resolve(Id user, Id family, const std::string& name);
  bool try_count_user(Id user);
  void uncount_user(Id user);

  // Home side (on the document's home worker).
  // The loaded (or loading) room of a document; null when this worker holds
  // as many as it may and none is idle.
  std::shared_ptr<Room> room_for(const store::CollabDocument& meta);
  void when_ready(const std::shared_ptr<Room>& room,
                  std::function<void(const std::shared_ptr<Room>&)> fn);
  void join(const store::CollabDocument& meta, Member m);
  void leave(const std::string& name, std::uint64_t key);
  void receive(const std::string& name, std::uint64_t key, std::string frame, Id author);
  void load(const std::string& name, std::shared_ptr<Room> room);
  void handle(const std::shared_ptr<Room>& room, std::uint64_t key, const ProtocolMessage& msg,
              Id author);
  // From a connection (from) or from REST (from null, reply set): reply
  // gets the bytes that were new once committed, or the error.
  using Reply = std::function<void(std::int64_t, std::exception_ptr)>;
  void apply_update(const std::shared_ptr<Room>& room, Member* from, std::string_view update,
                    Id author, Reply reply = {});
  // The store's answer: the sender's echo (everyone's with relay_on_commit),
  // the other nodes, compaction; or, on error, the room is broken.
  void committed(const PendingAppend& a, std::exception_ptr error);
  // Sends the shard's waiting appends to the store as one job.
  void flush_appends(Shard& sh);
  void maybe_compact(const std::shared_ptr<Room>& room);
  // Cluster: seq is in the document now; false when it already was.
  bool mark(Room& room, std::int64_t seq);
  void remote_update(const std::string& name, std::int64_t seq, std::string update);
  // Reads what the store has past `contiguous`, after reorder_wait.
  void schedule_fill(const std::shared_ptr<Room>& room);
  void fill(const std::shared_ptr<Room>& room);
  void break_room(const std::shared_ptr<Room>& room, const char* why);
  // Closes the room's connections with code and unloads it.
  void drop(std::shared_ptr<Room> room, std::uint16_t code, const char* why);
  void maybe_idle(const std::shared_ptr<Room>& room);
  void unload_idle(Shard& s, std::size_t keep);
  Member* member(Room& room, std::uint64_t key);

  // To connections, on their own workers.
  // The shard whose thread this is; shards.size() on none.
  std::size_t current_worker() const;
  void send(const Member& m, const net::Frame& f);
  // To every member but the one whose key is skip (0: none).
  void broadcast(const Room& room, const net::Frame& f, std::uint64_t skip = 0);
  void close(const Member& m, std::uint16_t code, std::string reason);
  std::string awareness_of(const Room& room) const;

  // From the store writer's thread: posts fn to the home worker of room,
  // unless stop() was called (the workers may be gone).
  void from_writer(const Room& room, std::function<void()> fn) {
    std::lock_guard lock(stop_mu);
    if (!stopped) asio::post(*shard(home_of(room.meta.name)).ctx, std::move(fn));
  }

  // REST's effects on this node, and the message that makes the other nodes
  // do the same (cluster mode).
  void close_user_here(Id doc_id, Id user_id, bool removed);
  void drop_here(const std::string& name) {
    std::lock_guard lock(stop_mu);
    if (stopped) return;
    asio::post(*shard(home_of(name)).ctx, [this, name] {
      auto& s = shard(home_of(name));
      auto it = s.rooms.find(name);
      if (it != s.rooms.end()) drop(it->second, close_code::kNotFound, "document deleted");
    });
  }
  void publish_access(Id doc_id, const std::string& name, Id user_id, bool removed) {
    if (!broker) return;
    cluster::ClusterEvent e;
    e.kind = cluster::ClusterEvent::Kind::collab_access;
    e.origin = node_id;
    e.conv = doc_id;
    e.user = user_id;
    e.family = removed ? 1 : 0;
    e.json = name;
    broker->publish(e);
  }

  // Connection side.
  void for_each_socket(std::function<void(CollabSocket&)> fn);

  const CollabOptions opts;
  store::Database& db;
  auth::AuthService& auth;
  realtime::TicketStore& tickets;
  IdGenerator& ids;
  asio::thread_pool* pool_ = nullptr;  // set by attach()
  asio::thread_pool& pool() { return *pool_; }
  std::vector<Shard> shards;
  std::atomic<std::uint64_t> next_key{1};
  RateLimiter refusals;
  cluster::Broker* broker = nullptr;  // cluster mode
  std::uint32_t node_id = 0;
  std::chrono::milliseconds reorder_wait{200};
  std::mutex stop_mu;
  bool stopped = false;
  std::mutex users_mu;
  std::unordered_map<Id, std::int64_t> per_user;

  metrics::Gauge& documents_loaded;
  metrics::Gauge& connections;
  metrics::Gauge& awareness_entries;
  metrics::Counter& updates_applied;
  metrics::Counter& updates_duplicate;
  metrics::Counter& updates_readonly;
  metrics::Counter& updates_refused;
  metrics::Counter& bytes_in;
  metrics::Counter& stored_bytes;
  metrics::Counter& messages_out;
  metrics::Counter& refused;
  metrics::Counter& throttled;
  metrics::Counter& rate_limited;
  metrics::Counter& at_capacity;
  metrics::Counter& document_full;
  metrics::Counter& store_failures;
  metrics::Counter& compactions;
  metrics::Counter& gap_fills;
  metrics::Histogram& compaction_seconds;
  metrics::Histogram& load_seconds;
};

namespace {

// One y-websocket connection. A refused one only says why and closes.
class CollabSocket final : public net::WsHandler {
 public:
  CollabSocket(CollabService::Impl& s, Grant g, bool counted)
      : s_(s), grant_(std::move(g)), counted_(counted), tokens_(s.opts.rate_burst) {}
  CollabSocket(CollabService::Impl& s, Refusal r) : s_(s), refusal_(std::move(r)), tokens_(0) {}

  ~CollabSocket() override {
    if (joined_) {
      s_.shard(worker_).sockets.erase(this);
      s_.connections.add(-1);
      auto& home = *s_.shard(home_).ctx;
      asio::post(home,
                 [impl = &s_, name = grant_.doc.name, key = key_] { impl->leave(name, key); });
    }
    if (counted_) s_.uncount_user(grant_.user);
  }

  void on_open(net::WsConnection& c) override {
    conn_ = &c;
    worker_ = c.worker();
    if (refusal_) {
      c.send_binary(auth_denied(refusal_->reason));
      c.close(refusal_->code, refusal_->reason);
      return;
    }
    c.set_max_message(s_.opts.max_message_bytes);
    key_ = s_.next_key.fetch_add(1);
    home_ = s_.home_of(grant_.doc.name);
    joined_ = true;
    s_.shard(worker_).sockets.insert(this);
    s_.connections.add(1);
    refilled_ = Clock::now();
    Member m;
    m.key = key_;
    m.worker = worker_;
    m.conn = c.shared();
    asio::post(*s_.shard(home_).ctx, [impl = &s_, meta = grant_.doc, m = std::move(m)]() mutable {
      impl->join(meta, std::move(m));
    });
  }

  void on_message(net::WsConnection& c, std::string&& payload, bool binary) override {
    if (!joined_) return;
    if (!binary) {
      c.close(ws_close::kUnsupported, "y-websocket speaks binary frames");
      return;
    }
    if (!take_token()) {
      s_.rate_limited.inc();
      c.close(close_code::kRateLimited, "too many messages: slow down");
      return;
    }
    s_.bytes_in.inc(payload.size());
    // Checked here, on the connection's own worker, so the home reads only
    // well-formed frames; a read-only connection's edits stop here.
    std::vector<ProtocolMessage> msgs;
    try {
      msgs = read_messages(payload);
    } catch (const Error& e) {
      c.close(ws_close::kInvalidPayload, std::string(e.detail()));
      return;
    }
    if (!grant_.writer) {
      bool edits = false, other = false;
      for (const auto& m : msgs) {
        bool edit = m.type == MessageType::sync && m.step != SyncStep::step1;
        edits |= edit;
        other |= !edit;
      }
      if (edits) s_.updates_readonly.inc();
      if (!other) return;
      if (edits) {
        // Forward the rest without the edits.
        std::string kept;
        for (const auto& m : msgs) {
          if (m.type == MessageType::sync && m.step != SyncStep::step1) continue;
          kept += reencode(m);
        }
        payload = std::move(kept);
      }
    }
    asio::post(*s_.shard(home_).ctx,
               [impl = &s_, name = grant_.doc.name, key = key_, frame = std::move(payload),
                author = grant_.writer ? grant_.user : 0]() mutable {
                 impl->receive(name, key, std::move(frame), author);
               });
  }

  void on_too_big(net::WsConnection& c) override {
    c.close(ws_close::kTooBig, "message too big (collab.max_message_bytes)");
  }

  Id user() const { return grant_.user; }
  Id family() const { return grant_.family; }
  Id conversation() const { return grant_.doc.conversation_id; }
  Id document() const { return grant_.doc.id; }
  void close(std::uint16_t code, const char* reason) {
    if (conn_) conn_->close(code, reason);
  }

 private:
  static std::string reencode(const ProtocolMessage& m) {
    switch (m.type) {
      case MessageType::sync:
        return sync_step1(m.body);
      case MessageType::awareness:
        return awareness_message(m.body);
      case MessageType::query_awareness:
        return std::string(1, static_cast<char>(MessageType::query_awareness));
      case MessageType::auth:
        break;
    }
    return {};
  }

  bool take_token() {
    auto now = Clock::now();
    double dt = std::chrono::duration<double>(now - refilled_).count();
    refilled_ = now;
    tokens_ = std::min(s_.opts.rate_burst, tokens_ + dt * s_.opts.rate_per_s);
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

  CollabService::Impl& s_;
  Grant grant_;
  std::optional<Refusal> refusal_;
  bool counted_ = false;
  bool joined_ = false;
  net::WsConnection* conn_ = nullptr;
  std::size_t worker_ = 0;
  std::size_t home_ = 0;
  std::uint64_t key_ = 0;
  double tokens_;
  Clock::time_point refilled_{};
};

}  // namespace

// ---- Handshake -------------------------------------------------------------

bool CollabService::Impl::try_count_user(Id user) {
  std::lock_guard lock(users_mu);
  auto& n = per_user[user];
  if (n >= opts.max_connections_per_user) return false;
  ++n;
  return true;
}

void CollabService::Impl::uncount_user(Id user) {
  std::lock_guard lock(users_mu);
  auto it = per_user.find(user);
  if (it != per_user.end() && --it->second <= 0) per_user.erase(it);
}

std::variant<Grant, Refusal> CollabService::Impl::resolve(Id user_id, Id family,
                                                          const std::string& name) {
  Grant g;
  g.user = user_id;
  g.family = family;
  Id conv = conversation_of_name(name);
  auto found = db.read([&](store::Store& s) {
    std::optional<std::pair<store::CollabDocument, std::string>> out;
    auto d = s.collab_document_by_name(name);
    if (d) out.emplace(*d, role_in(s, *d, user_id));
    return out;
  });
  if (!found) {
    if (conv) {
      bool member = db.read([&](store::Store& s) { return s.member(conv, user_id).has_value(); });
      if (!member) return Refusal{close_code::kForbidden, "not a member of that conversation"};
    } else if (!opts.create_on_connect) {
      return Refusal{close_code::kNotFound, "no such document"};
    }
    store::CollabDocument d;
    d.id = ids.next();
    d.name = name;
    d.conversation_id = conv;
    d.owner_id = user_id;
    d.created_at = d.updated_at = now_ms();
    try {
      db.write([&](store::Store& s) { s.insert_collab_document(d); });
      g.doc = d;
      g.writer = true;
      return g;
    } catch (const Error& e) {
      if (e.code() != Errc::conflict) throw;
      // Made by someone else meanwhile: decide as for an existing one.
      return resolve(user_id, family, name);
    }
  }
  g.doc = found->first;
  const std::string& role = found->second;
  if (role.empty()) {
    return Refusal{close_code::kForbidden, g.doc.conversation_id
                                               ? "not a member of that conversation"
                                               : "no access to this document"};
  }
  g.writer = role != "viewer";
  return g;
}

void CollabService::Impl::accept(const net::WsUpgrade& up, std::string name,
                                 std::function<void(net::WsAccept)> done) {
  auto token = up.request.query_param("token");
  auto ticket = up.request.query_param("ticket");
  // Repeated refusals of one address and credential: HTTP 429 (nothing opens,
  // so even y-websocket 3.0 backs off).
  std::string key = up.remote;
  key += '|';
  key += std::to_string(std::hash<std::string>{}(token ? *token : ticket ? *ticket : ""));
  double now_s = static_cast<double>(now_ms()) / 1000.0;
  if (refusals.peek(key, now_s) > 0) {
    throttled.inc();
    done(net::WsAccept{nullptr, Errc::too_many_requests, "refused too often: wait"});
    return;
  }
  auto refuse = [this, key, now_s, done](Refusal r) {
    refusals.acquire(key, now_s);
    refused.inc();
    done(net::WsAccept{std::make_unique<CollabSocket>(*this, std::move(r))});
  };
  if (!valid_document_name(name)) {
    refuse({close_code::kNotFound, "invalid document name"});
    return;
  }
  // Resolves the document for an authenticated user, off the worker.
  auto grant = [this, name, refuse, done](Id user, Id family, std::optional<auth::Claims> claims) {
    asio::post(pool(), [this, name, refuse, done, user, family, claims] {
      try {
        if (claims) auth.current_user(*claims);  // disabled or erased since it was issued
        auto r = resolve(user, family, name);
        if (auto* refusal = std::get_if<Refusal>(&r)) return refuse(std::move(*refusal));
        if (!try_count_user(user)) {
          return refuse({close_code::kTooManyConnections, "too many connections for this user"});
        }
        done(net::WsAccept{
            std::make_unique<CollabSocket>(*this, std::get<Grant>(std::move(r)), true)});
      } catch (const Error& e) {
        if (e.code() == Errc::unauthorized)
          return refuse({close_code::kUnauthenticated, std::string(e.detail())});
        if (e.code() == Errc::unavailable) {
          return done(net::WsAccept{nullptr, Errc::unavailable, "store unavailable: try again"});
        }
        log::error("collab_accept_failed", {{"error", e.what()}});
        done(net::WsAccept{nullptr, Errc::internal, "internal error"});
      } catch (const std::exception& e) {
        log::error("collab_accept_failed", {{"error", e.what()}});
        done(net::WsAccept{nullptr, Errc::internal, "internal error"});
      }
    });
  };
  if (token) {
    try {
      auto claims = auth.authenticate(*token);  // HMAC only: fine on the worker
      grant(claims.user_id, claims.session_id, claims);
    } catch (const Error& e) {
      refuse({close_code::kUnauthenticated, std::string(e.detail())});
    }
    return;
  }
  if (!ticket) {
    refuse({close_code::kUnauthenticated, "authentication required: ?token= or ?ticket="});
    return;
  }
  auto redeemed = [grant, refuse](std::optional<realtime::TicketStore::Holder> h) {
    if (!h) return refuse({close_code::kUnauthenticated, "invalid or expired ticket"});
    grant(h->user_id, h->family, std::nullopt);
  };
  auto holder = tickets.redeem(*ticket, now_ms());
  if (!holder && tickets.shared()) {
    tickets.redeem_shared(*ticket, std::move(redeemed));
    return;
  }
  redeemed(holder);
}

// ---- Home worker -------------------------------------------------------------

Member* CollabService::Impl::member(Room& room, std::uint64_t key) {
  for (auto& m : room.members) {
    if (m.key == key) return &m;
  }
  return nullptr;
}

std::size_t CollabService::Impl::current_worker() const {
  for (std::size_t w = 0; w < shards.size(); ++w) {
    if (shards[w].ctx->get_executor().running_in_this_thread()) return w;
  }
  return shards.size();
}

// A connection of the worker we run on is sent to at once (sends only
// queue, so this cannot reenter); others get a post.
void CollabService::Impl::send(const Member& m, const net::Frame& f) {
  messages_out.inc();
  if (m.worker == current_worker()) {
    if (auto conn = m.conn.lock(); conn && conn->open()) conn->send(f, false);
    return;
  }
  asio::post(*shards[m.worker].ctx, [c = m.conn, f] {
    if (auto conn = c.lock(); conn && conn->open()) conn->send(f, false);
  });
}

void CollabService::Impl::broadcast(const Room& room, const net::Frame& f, std::uint64_t skip) {
  // Members elsewhere: one post per worker, carrying all of its members.
  std::size_t here = current_worker();
  std::vector<std::vector<std::weak_ptr<net::WsConnection>>> by_worker;
  std::size_t sent = 0;
  for (const auto& m : room.members) {
    if (m.key == skip && skip != 0) continue;
    ++sent;
    if (m.worker == here) {
      if (auto conn = m.conn.lock(); conn && conn->open()) conn->send(f, true);
      continue;
    }
    if (by_worker.empty()) by_worker.resize(shards.size());
    by_worker[m.worker].push_back(m.conn);
  }
  messages_out.inc(sent);
  for (std::size_t w = 0; w < by_worker.size(); ++w) {
    if (by_worker[w].empty()) continue;
    asio::post(*shards[w].ctx, [conns = std::move(by_worker[w]), f] {
      for (const auto& c : conns) {
        if (auto conn = c.lock(); conn && conn->open()) conn->send(f, true);
      }
    });
  }
}

void CollabService::Impl::close(const Member& m, std::uint16_t code, std::string reason) {
  asio::post(*shards[m.worker].ctx, [c = m.conn, code, reason = std::move(reason)] {
    if (auto conn = c.lock()) conn->close(code, reason);
  });
}

std::string CollabService::Impl::awareness_of(const Room& room) const {
  std::vector<AwarenessEntry> entries;
  entries.reserve(room.awareness.size());
  for (const auto& [client, a] : room.awareness) entries.push_back({client, a.clock, a.state});
  return awareness_message(encode_awareness(entries));
}

std::shared_ptr<Room> CollabService::Impl::room_for(const store::CollabDocument& meta) {
  auto& s = shard(home_of(meta.name));
  auto it = s.rooms.find(meta.name);
  if (it == s.rooms.end()) {
    if (s.rooms.size() >= shard_capacity()) unload_idle(s, shard_capacity() - 1);
    if (s.rooms.size() >= shard_capacity()) return nullptr;
    auto room = std::make_shared<Room>();
    room->meta = meta;
    it = s.rooms.emplace(meta.name, room).first;
    documents_loaded.add(1);
    load(meta.name, room);
  }
  auto room = it->second;
  if (room->in_idle) {
    s.idle.erase(room->idle);
    room->in_idle = false;
  }
  return room;
}

void CollabService::Impl::when_ready(const std::shared_ptr<Room>& room,
                                     std::function<void(const std::shared_ptr<Room>&)> fn) {
  if (room->ready) {
    fn(room);
  } else {
    room->waiting.push_back(std::move(fn));
  }
}

void CollabService::Impl::join(const store::CollabDocument& meta, Member m) {
  auto room = room_for(meta);
  if (!room) {
    at_capacity.inc();
    close(m, close_code::kTryAgain, "too many documents open (collab.max_documents)");
    return;
  }
  if (room->members.size() >= opts.max_connections_per_document) {
    document_full.inc();
    close(m, close_code::kTooManyConnections,
          "too many connections to this document (collab.max_connections_per_document)");
    maybe_idle(room);
    return;
  }
  auto key = m.key;
  room->members.push_back(std::move(m));
  when_ready(room, [this, key](const std::shared_ptr<Room>& r) {
    // The server's own step 1, so edits the client made offline come back
    // in its step 2; then who is there.
    if (auto* mm = member(*r, key)) {
      send(*mm, net::binary_frame(sync_step1(r->doc.state_vector())));
      if (!r->awareness.empty()) send(*mm, net::binary_frame(awareness_of(*r)));
    }
  });
}

void CollabService::Impl::leave(const std::string& name, std::uint64_t key) {
  auto& s = shard(home_of(name));
  auto it = s.rooms.find(name);
  if (it == s.rooms.end()) return;
  auto room = it->second;
  auto pos = std::find_if(room->members.begin(), room->members.end(),
                          [key](const Member& m) { return m.key == key; });
  if (pos == room->members.end()) return;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> gone;
  for (const auto& [client, clock] : pos->clients) {
    auto a = room->awareness.find(client);
    if (a != room->awareness.end() && a->second.member == key) {
      gone.emplace_back(client, a->second.clock);
      room->awareness.erase(a);
      awareness_entries.add(-1);
    }
  }
  room->members.erase(pos);
  if (!gone.empty() && room->ready) {
    broadcast(*room, net::binary_frame(awareness_message(awareness_removal(gone))));
  }
  maybe_idle(room);
}

void CollabService::Impl::receive(const std::string& name, std::uint64_t key, std::string frame,
                                  Id author) {
  auto& s = shard(home_of(name));
  auto it = s.rooms.find(name);
  if (it == s.rooms.end()) return;
  auto room = it->second;  // a copy: handling it may erase the map's
  when_ready(room, [this, key, frame = std::move(frame), author](const std::shared_ptr<Room>& r) {
    for (const auto& msg : read_messages(frame)) {
      if (r->broken) return;
      handle(r, key, msg, author);
    }
  });
}

void CollabService::Impl::handle(const std::shared_ptr<Room>& self, std::uint64_t key,
                                 const ProtocolMessage& msg, Id author) {
  Room& room = *self;
  Member* from = member(room, key);
  if (!from) return;
  switch (msg.type) {
    case MessageType::sync:
      if (msg.step == SyncStep::step1) {
        try {
          send(*from, net::binary_frame(sync_step2(room.doc.missing_for(msg.body))));
        } catch (const Error& e) {
          close(*from, ws_close::kInvalidPayload, std::string(e.detail()));
        }
      } else {
        apply_update(self, from, msg.body, author);
      }
      return;
    case MessageType::awareness: {
      std::vector<AwarenessEntry> entries;
      try {
        entries = read_awareness(msg.body);
      } catch (const Error& e) {
        close(*from, ws_close::kInvalidPayload, std::string(e.detail()));
        return;
      }
      for (const auto& e : entries) {
        auto a = room.awareness.find(e.client);
        if (a != room.awareness.end() && a->second.member != key) {
          // Another connection's client (the same browser tab reconnected
          // elsewhere): the newer clock wins, as in y-protocols.
          if (e.clock <= a->second.clock) continue;
          if (auto* other = member(room, a->second.member)) other->clients.erase(e.client);
        }
        if (e.state == "null") {
          if (a != room.awareness.end()) {
            room.awareness.erase(a);
            awareness_entries.add(-1);
          }
          from->clients.erase(e.client);
        } else {
          if (a == room.awareness.end()) awareness_entries.add(1);
          room.awareness[e.client] = {e.clock, std::string(e.state), key};
          from->clients[e.client] = e.clock;
        }
      }
      broadcast(room, net::binary_frame(awareness_message(msg.body)));
      return;
    }
    case MessageType::query_awareness:
      send(*from, net::binary_frame(awareness_of(room)));
      return;
    case MessageType::auth:
      return;  // only the server sends these
  }
}

void CollabService::Impl::apply_update(const std::shared_ptr<Room>& self, Member* from,
                                       std::string_view update, Id author, Reply reply) {
  Room& room = *self;
  auto refuse = [&](std::uint16_t code, Errc errc, std::string why) {
    updates_refused.inc();
    if (from) close(*from, code, why);
    if (reply) reply(0, std::make_exception_ptr(Error(errc, std::move(why))));
  };
  if (room.doc.bytes() + update.size() > opts.max_document_bytes) {
    refuse(close_code::kDocumentTooLarge, Errc::payload_too_large,
           "document too large (collab.max_document_bytes)");
    return;
  }
  std::string part;
  try {
    part = room.doc.apply(update);
  } catch (const Error& e) {
    refuse(ws_close::kInvalidPayload, Errc::bad_request, std::string(e.detail()));
    return;
  }
  if (part.empty()) {
    updates_duplicate.inc();
    if (reply) reply(0, nullptr);
    return;
  }
  updates_applied.inc();
  stored_bytes.inc(part.size());
  ++room.writes_in_flight;
  auto frame = net::binary_frame(sync_update(part));
  std::uint64_t sender = from ? from->key : 0;
  // The others may have it now: a crash before the commit loses nothing a
  // client holds (each sends its whole state again on reconnect).
  if (!opts.relay_on_commit) broadcast(room, frame, sender);
  auto& sh = shard(home_of(room.meta.name));
  sh.appends.push_back(
      PendingAppend{self, std::move(part), std::move(frame), sender, author, std::move(reply)});
  if (!sh.appending) flush_appends(sh);
}

void CollabService::Impl::flush_appends(Shard& sh) {
  if (sh.appends.empty()) return;
  auto batch = std::make_shared<std::vector<PendingAppend>>(std::move(sh.appends));
  sh.appends.clear();
  sh.appending = true;
  try {
    db.submit(
        [batch](store::Store& st) {
          // A store failure throws: the whole job's. A missing document is
          // one entry's (it was deleted meanwhile).
          std::vector<store::CollabAppend> in;
          in.reserve(batch->size());
          for (const auto& a : *batch) in.push_back({a.room->meta.id, a.part, a.author});
          std::vector<std::int64_t> seqs(in.size());
          st.append_collab_updates(in, now_ms(), seqs);
          for (std::size_t i = 0; i < seqs.size(); ++i) {
            auto& a = (*batch)[i];
            a.seq = seqs[i];
            if (!a.seq)
              a.error = std::make_exception_ptr(Error(Errc::not_found, "no such document"));
          }
        },
        [this, batch, &sh](std::exception_ptr e) {
          std::lock_guard lock(stop_mu);
          if (stopped) return;
          asio::post(*sh.ctx, [this, batch, &sh, e] {
            sh.appending = false;
            for (auto& a : *batch) committed(a, e ? e : a.error);
            flush_appends(sh);
          });
        });
  } catch (const Error&) {
    // The store's queue is full: each document is read afresh (its clients
    // still have these updates and send them again).
    sh.appending = false;
    for (auto& a : *batch) committed(a, std::current_exception());
  }
}

void CollabService::Impl::committed(const PendingAppend& a, std::exception_ptr error) {
  const auto& room = a.room;
  const auto& part = a.part;
  std::int64_t seq = a.seq;
  --room->writes_in_flight;
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      log::error("collab_write_failed", {{"document", room->meta.name}, {"error", e.what()}});
    }
    if (a.reply) a.reply(0, error);
    break_room(room, "store write failed");
    return;
  }
  if (a.reply) a.reply(static_cast<std::int64_t>(part.size()), nullptr);
  if (room->broken) {
    maybe_idle(room);
    return;
  }
  mark(*room, seq);
  ++room->log_rows;
  room->log_bytes += static_cast<std::int64_t>(part.size());
  if (opts.relay_on_commit) {
    broadcast(*room, a.frame);
  } else if (auto* m = a.sender ? member(*room, a.sender) : nullptr) {
    send(*m, a.frame);  // the sender's echo: stored
  }
  if (broker) {
    cluster::ClusterEvent e;
    e.kind = cluster::ClusterEvent::Kind::collab;
    e.origin = node_id;
    e.conv = room->meta.id;
    e.seq = seq;
    e.json.reserve(room->meta.name.size() + 1 + part.size());
    e.json += room->meta.name;
    e.json += '\n';
    e.json += part;
    broker->publish(e);
    if (!room->ahead.empty()) schedule_fill(room);
  }
  maybe_compact(room);
  maybe_idle(room);
}

bool CollabService::Impl::mark(Room& room, std::int64_t seq) {
  if (seq <= room.contiguous || room.ahead.count(seq)) return false;
  if (seq != room.contiguous + 1) {
    room.ahead.insert(seq);
    return true;
  }
  room.contiguous = seq;
  while (!room.ahead.empty() && *room.ahead.begin() == room.contiguous + 1) {
    room.contiguous = *room.ahead.begin();
    room.ahead.erase(room.ahead.begin());
  }
  return true;
}

void CollabService::Impl::remote_update(const std::string& name, std::int64_t seq,
                                        std::string update) {
  auto& s = shard(home_of(name));
  auto it = s.rooms.find(name);
  if (it == s.rooms.end()) return;  // not loaded here: the store has it for later
  auto room = it->second;           // a copy: handling it may erase the map's
  when_ready(room, [this, seq, update = std::move(update)](const std::shared_ptr<Room>& r) {
    if (r->broken || seq <= r->contiguous || r->ahead.count(seq)) return;
    std::string part;
    try {
      part = r->doc.apply(update);
    } catch (const Error& e) {
      log::error("collab_remote_update_refused", {{"document", r->meta.name}, {"error", e.what()}});
      return;
    }
    mark(*r, seq);
    ++r->log_rows;
    r->log_bytes += static_cast<std::int64_t>(update.size());
    if (!part.empty()) broadcast(*r, net::binary_frame(sync_update(part)));
    if (!r->ahead.empty()) schedule_fill(r);
  });
}

void CollabService::Impl::schedule_fill(const std::shared_ptr<Room>& room) {
  if (room->filling || room->gap_timer) return;
  room->gap_timer =
      std::make_unique<asio::steady_timer>(*shard(home_of(room->meta.name)).ctx, reorder_wait);
  room->gap_timer->async_wait([this, room](const boost::system::error_code&) {
    room->gap_timer.reset();
    if (!room->ahead.empty()) fill(room);  // still missing after the wait
  });
}

void CollabService::Impl::fill(const std::shared_ptr<Room>& room) {
  if (room->filling || room->broken || !room->ready) return;
  room->filling = true;
  gap_fills.inc();
  Id doc_id = room->meta.id;
  std::int64_t after = room->contiguous;
  std::size_t home = home_of(room->meta.name);
  asio::post(pool(), [this, room, doc_id, after, home] {
    std::vector<store::CollabUpdate> rows;
    bool ok = true;
    try {
      rows = db.read([&](store::Store& s) { return s.collab_updates_after(doc_id, after, 512); });
    } catch (const std::exception& e) {
      log::warn("collab_gap_fill_failed", {{"document_id", doc_id}, {"error", e.what()}});
      ok = false;
    }
    std::lock_guard lock(stop_mu);
    if (stopped) return;
    asio::post(*shards[home].ctx, [this, room, ok, rows = std::move(rows)]() mutable {
      room->filling = false;
      if (room->broken) return;
      for (auto& u : rows) {
        if (u.seq <= room->contiguous) continue;
        try {
          auto part = room->doc.apply(u.data);
          if (!part.empty()) broadcast(*room, net::binary_frame(sync_update(part)));
        } catch (const Error& e) {
          log::error("collab_stored_update_refused",
                     {{"document", room->meta.name}, {"error", e.what()}});
        }
        // Read in one snapshot in seq order: every update up to this row's
        // seq is in it or in a row before it (a compacted row holds all the
        // seqs it replaced).
        room->contiguous = u.seq;
        while (!room->ahead.empty() && *room->ahead.begin() <= room->contiguous + 1) {
          room->contiguous = std::max(room->contiguous, *room->ahead.begin());
          room->ahead.erase(room->ahead.begin());
        }
      }
      if (ok && rows.size() == 512) {
        fill(room);  // more than a page behind
      } else if (!room->ahead.empty()) {
        schedule_fill(room);
      }
    });
  });
}

void CollabService::Impl::maybe_compact(const std::shared_ptr<Room>& room) {
  if (room->compacting || room->broken || room->log_rows < 2) return;
  std::int64_t state_bytes = static_cast<std::int64_t>(room->doc.bytes());
  if (room->log_rows <= opts.compact_rows &&
      room->log_bytes <= opts.compact_bytes + 2 * state_bytes) {
    return;
  }
  room->compacting = true;
  auto t0 = Clock::now();
  // Everything up to the newest committed seq is in the state (and maybe
  // more: updates still being written, which the later rows repeat).
  // Deleted content goes from the live state too, not only from what is stored.
  room->doc.collect_garbage();
  auto merged = std::make_shared<std::string>(room->doc.state());
  std::int64_t upto = room->contiguous;
  std::int64_t rows_before = room->log_rows;
  std::int64_t bytes_before = room->log_bytes;
  Id doc_id = room->meta.id;
  auto done = [this, room, merged, rows_before, bytes_before, t0](std::exception_ptr e) {
    from_writer(*room, [this, room, merged, rows_before, bytes_before, t0, e] {
      room->compacting = false;
      if (e) {
        log::warn("collab_compaction_failed", {{"document", room->meta.name}});
      } else {
        compactions.inc();
        compaction_seconds.observe(std::chrono::duration<double>(Clock::now() - t0).count());
        // Rows committed since the snapshot stay; those before became one.
        room->log_rows = room->log_rows - rows_before + 1;
        room->log_bytes =
            room->log_bytes - bytes_before + static_cast<std::int64_t>(merged->size());
      }
      maybe_idle(room);
    });
  };
  try {
    db.submit([doc_id, upto, merged](
                  store::Store& st) { st.compact_collab_updates(doc_id, upto, *merged, now_ms()); },
              done);
  } catch (const Error&) {
    room->compacting = false;
  }
}

void CollabService::Impl::break_room(const std::shared_ptr<Room>& room, const char* why) {
  store_failures.inc();
  // What the store lacks is still in the clients: they send it again in
  // their step 2 when they reconnect, to a document read afresh.
  drop(room, ws_close::kInternal, why);
}

void CollabService::Impl::drop(std::shared_ptr<Room> room, std::uint16_t code, const char* why) {
  // By value: `room` may be the map's own pointer, erased below.
  if (room->broken) return;
  room->broken = true;
  room->waiting.clear();
  for (const auto& m : room->members) close(m, code, why);
  auto& s = shard(home_of(room->meta.name));
  auto it = s.rooms.find(room->meta.name);
  if (it != s.rooms.end() && it->second == room) {
    if (room->in_idle) s.idle.erase(room->idle);
    room->in_idle = false;
    s.rooms.erase(it);
    documents_loaded.add(-1);
    awareness_entries.add(-static_cast<double>(room->awareness.size()));
  }
}

void CollabService::Impl::maybe_idle(const std::shared_ptr<Room>& room) {
  if (room->broken || !room->members.empty() || room->in_idle) return;
  auto& s = shard(home_of(room->meta.name));
  room->idle = s.idle.insert(s.idle.end(), room->meta.name);
  room->in_idle = true;
  unload_idle(s, shard_capacity());
}

void CollabService::Impl::unload_idle(Shard& s, std::size_t keep) {
  auto it = s.idle.begin();
  while (s.rooms.size() > keep && it != s.idle.end()) {
    auto r = s.rooms.find(*it);
    auto& room = r->second;
    if (room->writes_in_flight > 0 || room->compacting || !room->ready) {
      ++it;
      continue;
    }
    room->in_idle = false;
    it = s.idle.erase(it);
    s.rooms.erase(r);
    documents_loaded.add(-1);
  }
}

void CollabService::Impl::load(const std::string& name, std::shared_ptr<Room> room) {
  Id doc_id = room->meta.id;
  std::size_t home = home_of(name);
  asio::post(pool(), [this, room, doc_id, home] {
    auto t0 = Clock::now();
    std::optional<YDocument> doc;
    std::int64_t seq = 0, rows = 0, bytes = 0;
    bool ok = true;
    try {
      doc.emplace();
      // Read in pages so a long log is not one result in memory twice.
      for (;;) {
        auto page =
            db.read([&](store::Store& s) { return s.collab_updates_after(doc_id, seq, 256); });
        for (const auto& u : page) {
          doc->apply(u.data);
          seq = u.seq;
          ++rows;
          bytes += static_cast<std::int64_t>(u.data.size());
        }
        if (page.size() < 256) break;
      }
    } catch (const std::exception& e) {
      log::error("collab_load_failed", {{"document_id", doc_id}, {"error", e.what()}});
      ok = false;
    }
    load_seconds.observe(std::chrono::duration<double>(Clock::now() - t0).count());
    auto finish = [this, room, ok, seq, rows, bytes, doc = std::move(doc)]() mutable {
      if (!ok) {
        break_room(room, "document could not be read");
        return;
      }
      room->doc = std::move(*doc);
      room->contiguous = seq;
      room->log_rows = rows;
      room->log_bytes = bytes;
      room->ready = true;
      auto waiting = std::move(room->waiting);
      for (auto& fn : waiting) {
        if (room->broken) break;
        fn(room);
      }
      maybe_compact(room);
      maybe_idle(room);
    };
    asio::post(*shards[home].ctx, std::move(finish));
  });
}

// ---- Access lost ---------------------------------------------------------------

void CollabService::Impl::close_user_here(Id doc_id, Id user_id, bool removed) {
  for_each_socket([doc_id, user_id, removed](CollabSocket& s) {
    if (s.user() == user_id && s.document() == doc_id) {
      s.close(removed ? close_code::kForbidden : close_code::kReconnect,
              removed ? "access to the document was removed" : "access changed: reconnect");
    }
  });
}

void CollabService::Impl::for_each_socket(std::function<void(CollabSocket&)> fn) {
  std::lock_guard lock(stop_mu);
  if (stopped) return;
  for (auto& s : shards) {
    asio::post(*s.ctx, [&s, fn] {
      // Copied: closing may destroy a socket, which unregisters it.
      std::vector<CollabSocket*> all(s.sockets.begin(), s.sockets.end());
      for (auto* sock : all) {
        if (s.sockets.count(sock)) fn(*sock);
      }
    });
  }
}

CollabService::CollabService(CollabOptions opts, store::Database& db, auth::AuthService& auth,
                             realtime::TicketStore& tickets, IdGenerator& ids,
                             metrics::Registry& metrics)
    : impl_(std::make_unique<Impl>(opts, db, auth, tickets, ids, metrics)) {}

CollabService::~CollabService() = default;

void CollabService::attach(std::vector<boost::asio::io_context*> workers,
                           boost::asio::thread_pool& pool) {
  impl_->pool_ = &pool;
  impl_->shards.resize(workers.size());
  for (std::size_t i = 0; i < workers.size(); ++i) impl_->shards[i].ctx = workers[i];
}

net::WsRoute CollabService::route(std::string prefix) {
  net::WsRoute r;
  r.path = prefix;
  r.require_subprotocol = false;
  r.accept = [impl = impl_.get(), prefix](const net::WsUpgrade& up,
                                          std::function<void(net::WsAccept)> done) {
    impl->accept(up, up.request.path.substr(prefix.size()), std::move(done));
  };
  return r;
}

void CollabService::apply(const store::CollabDocument& doc, std::string update, Id author,
                          std::function<void(std::int64_t, std::exception_ptr)> done) {
  auto* impl = impl_.get();
  asio::post(*impl->shard(impl->home_of(doc.name)).ctx, [impl, doc, update = std::move(update),
                                                         author, done = std::move(done)]() mutable {
    auto room = impl->room_for(doc);
    if (!room) {
      done(0,
           std::make_exception_ptr(Error(Errc::unavailable, "too many documents open: try again")));
      return;
    }
    impl->when_ready(
        room, [impl, update = std::move(update), author, done](const std::shared_ptr<Room>& r) {
          impl->apply_update(r, nullptr, update, author, done);
          impl->maybe_idle(r);
        });
  });
}

void CollabService::access_changed(Id doc_id, Id user_id, bool removed) {
  impl_->close_user_here(doc_id, user_id, removed);
  impl_->publish_access(doc_id, "", user_id, removed);
}

void CollabService::deleted(const store::CollabDocument& doc) {
  impl_->drop_here(doc.name);
  impl_->publish_access(doc.id, doc.name, 0, true);
}

void CollabService::set_cluster(cluster::Broker* broker, std::uint32_t node_id,
                                std::chrono::milliseconds reorder_wait) {
  impl_->broker = broker;
  impl_->node_id = node_id;
  impl_->reorder_wait = reorder_wait;
}

void CollabService::on_cluster_event(const cluster::ClusterEvent& e) {
  if (e.origin == impl_->node_id) return;
  if (e.kind == cluster::ClusterEvent::Kind::collab_access) {
    if (e.user) {
      impl_->close_user_here(e.conv, e.user, e.family == 1);
    } else if (valid_document_name(e.json)) {
      impl_->drop_here(e.json);
    }
    return;
  }
  if (e.kind != cluster::ClusterEvent::Kind::collab) return;
  auto nl = e.json.find('\n');
  if (nl == std::string::npos) return;
  std::string name = e.json.substr(0, nl);
  if (!valid_document_name(name)) return;
  auto* impl = impl_.get();
  std::lock_guard lock(impl->stop_mu);
  if (impl->stopped) return;
  asio::post(*impl->shard(impl->home_of(name)).ctx,
             [impl, name, seq = e.seq, update = e.json.substr(nl + 1)]() mutable {
               impl->remote_update(name, seq, std::move(update));
             });
}

void CollabService::resync() {
  auto* impl = impl_.get();
  std::lock_guard lock(impl->stop_mu);
  if (impl->stopped) return;
  for (auto& s : impl->shards) {
    asio::post(*s.ctx, [impl, &s] {
      for (auto& [name, room] : s.rooms) impl->fill(room);
    });
  }
}

void CollabService::stop() {
  std::lock_guard lock(impl_->stop_mu);
  impl_->stopped = true;
}

void CollabService::revoked(Id user_id, Id family) {
  impl_->for_each_socket([user_id, family](CollabSocket& s) {
    if (s.user() == user_id && (family == 0 || s.family() == family)) {
      s.close(close_code::kUnauthenticated, "session revoked");
    }
  });
}

void CollabService::left(Id conversation_id, Id user_id) {
  impl_->for_each_socket([conversation_id, user_id](CollabSocket& s) {
    if (s.user() == user_id && s.conversation() == conversation_id) {
      s.close(close_code::kForbidden, "no longer a member of the conversation");
    }
  });
}

}  // namespace parley::collab
