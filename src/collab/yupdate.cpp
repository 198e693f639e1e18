#include "collab/yupdate.hpp"

#include <algorithm>
#include <map>

#include "collab/lib0.hpp"
#include "core/error.hpp"

namespace parley::collab {

namespace {

constexpr std::uint8_t kBitOrigin = 0x80;
constexpr std::uint8_t kBitRightOrigin = 0x40;
constexpr std::uint8_t kBitParentSub = 0x20;
constexpr std::uint8_t kInfoSkip = 10;
// Type refs: YArray, YMap, YText, YXmlElement, YXmlFragment, YXmlHook, YXmlText.
constexpr std::uint64_t kTypeXmlElement = 3;
constexpr std::uint64_t kTypeXmlHook = 5;
constexpr std::uint64_t kTypeLast = 6;

[[noreturn]] void bad(const char* what) {
  fail(Errc::bad_request, std::string("yjs update: ") + what);
}

YId read_id(Lib0Reader& r) {
  YId id;
  id.client = r.var_uint();
  id.clock = r.var_uint();
  return id;
}

// Reads an item's content and returns its length.
std::uint64_t read_content(Lib0Reader& r, ContentRef ref) {
  switch (ref) {
    case ContentRef::deleted:
      return r.var_uint();
    case ContentRef::json: {
      std::uint64_t n = r.var_uint();
      for (std::uint64_t i = 0; i < n; ++i) r.var_string();
      return n;
    }
    case ContentRef::binary:
      r.var_bytes();
      return 1;
    case ContentRef::string:
      return utf16_length(r.var_string());
    case ContentRef::embed:
      r.var_string();
      return 1;
    case ContentRef::format:
      r.var_string();
      r.var_string();
      return 1;
    case ContentRef::type: {
      std::uint64_t type = r.var_uint();
      if (type > kTypeLast) bad("unknown type");
      if (type == kTypeXmlElement || type == kTypeXmlHook) r.var_string();
      return 1;
    }
    case ContentRef::any: {
      std::uint64_t n = r.var_uint();
      for (std::uint64_t i = 0; i < n; ++i) r.skip_any();
      return n;
    }
    case ContentRef::doc:
      r.var_string();
      r.skip_any();
      return 1;
  }
  bad("unknown content");
}

YStruct read_struct(Lib0Reader& r, std::uint64_t clock) {
  YStruct s;
  s.clock = clock;
  std::uint8_t info = r.byte();
  if (info == kInfoSkip) {
    s.kind = YStruct::Kind::skip;
    s.length = r.var_uint();
  } else if ((info & 0x1f) == 0) {
    s.kind = YStruct::Kind::gc;
    s.length = r.var_uint();
  } else {
    s.kind = YStruct::Kind::item;
    std::uint8_t ref = info & 0x1f;
    if (ref > static_cast<std::uint8_t>(ContentRef::doc)) bad("unknown content");
    s.content_ref = static_cast<ContentRef>(ref);
    if (info & kBitOrigin) s.origin = read_id(r);
    if (info & kBitRightOrigin) s.right_origin = read_id(r);
    if (!s.origin && !s.right_origin) {
      s.parent_is_key = r.var_uint() == 1;
      if (s.parent_is_key) {
        s.parent_key = r.var_string();
      } else {
        s.parent_id = read_id(r);
      }
      if (info & kBitParentSub) s.parent_sub = r.var_string();
    }
    std::size_t from = r.pos();
    s.length = read_content(r, s.content_ref);
    s.content = r.since(from);
  }
  if (s.length == 0) bad("a struct of length 0");
  if (s.length > kMaxSafeInteger - clock) bad("clock past 2^53");
  return s;
}

void write_id(Lib0Writer& w, const YId& id) {
  w.var_uint(id.client);
  w.var_uint(id.clock);
}

// Content from `offset` on. Only content longer than one can be cut.
void write_content(Lib0Writer& w, const YStruct& s, std::uint64_t offset) {
  offset += s.cut;
  if (offset == 0) {
    w.raw(s.content);
    return;
  }
  Lib0Reader r(s.content);
  switch (s.content_ref) {
    case ContentRef::deleted:
      w.var_uint(r.var_uint() - offset);
      return;
    case ContentRef::json:
    case ContentRef::any: {
      std::uint64_t n = r.var_uint();
      for (std::uint64_t i = 0; i < offset; ++i) {
        if (s.content_ref == ContentRef::json) {
          r.var_string();
        } else {
          r.skip_any();
        }
      }
      w.var_uint(n - offset);
      w.raw(s.content.substr(r.pos()));
      return;
    }
    case ContentRef::string:
      w.var_string(utf16_slice_from(r.var_string(), offset));
      return;
    default:
      bad("content of length 1 cut");
  }
}

// Clients with higher ids first, each client's ranges in the order given;
// with `join`, sorted and joined as Yjs's sortAndMergeDeleteSet does (a
// merge joins them, a diff passes them on as they came).
void write_delete_set(Lib0Writer& w, const std::vector<ClientDeletes>& deletes, bool join = true) {
  std::map<std::uint64_t, std::vector<DeleteRange>, std::greater<>> by_client;
  for (const auto& c : deletes) {
    if (c.ranges.empty()) continue;
    auto& ranges = by_client[c.client];
    ranges.insert(ranges.end(), c.ranges.begin(), c.ranges.end());
  }
  w.var_uint(by_client.size());
  for (auto& [client, ranges] : by_client) {
    if (join) ranges = join_ranges(std::move(ranges));
    w.var_uint(client);
    w.var_uint(ranges.size());
    for (const auto& d : ranges) {
      w.var_uint(d.clock);
      w.var_uint(d.length);
    }
  }
}

// Yjs's LazyStructWriter: structs in runs of one client, each run headed by
// the client and its first clock; a new client closes the run.
class RunWriter {
 public:
  void write(std::uint64_t client, const YStruct& s, std::uint64_t offset) {
    if (written_ > 0 && client != client_) flush();
    if (written_ == 0) {
      client_ = client;
      Lib0Writer head;
      head.var_uint(client);
      head.var_uint(s.clock + offset);
      run_ = head.take();
    }
    write_struct(run_, client, s, offset);
    ++written_;
  }

  std::string finish() {
    flush();
    Lib0Writer w;
    w.var_uint(runs_.size());
    for (const auto& [n, bytes] : runs_) {
      w.var_uint(n);
      w.raw(bytes);
    }
    return w.take();
  }

 private:
  void flush() {
    if (written_ == 0) return;
    runs_.emplace_back(written_, std::move(run_));
    run_.clear();
    written_ = 0;
  }

  std::vector<std::pair<std::uint64_t, std::string>> runs_;
  std::string run_;
  std::uint64_t written_ = 0;
  std::uint64_t client_ = 0;
};

struct ClientStruct {
  std::uint64_t client;
  const YStruct* s;
};

std::vector<ClientStruct> flatten(const YUpdate& u, bool skips) {
  std::vector<ClientStruct> out;
  for (const auto& cs : u.clients) {
    for (const auto& s : cs.structs) {
      if (skips || s.kind != YStruct::Kind::skip) out.push_back({cs.client, &s});
    }
  }
  return out;
}

// The struct from `diff` clocks on (Yjs's sliceStruct).
YStruct slice(std::uint64_t client, const YStruct& s, std::uint64_t diff) {
  YStruct out = s;
  out.clock += diff;
  out.length -= diff;
  if (s.kind == YStruct::Kind::item) {
    out.origin = YId{client, s.clock + diff - 1};
    out.cut += diff;
  }
  return out;
}

}  // namespace

std::string merge_updates(std::span<const std::string_view> updates) {
  if (updates.size() == 1) return std::string(updates.front());
  std::vector<YUpdate> decoded;
  decoded.reserve(updates.size());
  for (auto u : updates) decoded.push_back(decode_update(u));

  // One cursor per update over its structs, Skips left out (Yjs's
  // LazyStructReader with filterSkips).
  struct Cursor {
    std::vector<ClientStruct> structs;
    std::size_t at = 0;
    bool has() const { return at < structs.size(); }
    const ClientStruct& curr() const { return structs[at]; }
  };
  std::vector<Cursor> cursors(decoded.size());
  std::size_t total = 0;
  for (std::size_t i = 0; i < decoded.size(); ++i) {
    cursors[i].structs = flatten(decoded[i], false);
    total += cursors[i].structs.size();
  }
  std::vector<Cursor*> live;
  for (auto& c : cursors) live.push_back(&c);

  RunWriter out;
  std::optional<ClientStruct> pending_at;  // the struct waiting to be written
  YStruct pending;
  auto end_of = [](const YStruct& s) { return s.clock + s.length; };
  auto write_pending = [&] { out.write(pending_at->client, pending, 0); };

  // Every turn moves a cursor or changes the pending struct so that the
  // next turn moves one; the bound only guards against a mistake here.
  for (std::size_t turns = 0;; ++turns) {
    if (turns > 4 * total + 16) fail(Errc::internal, "yjs merge did not finish");
    std::erase_if(live, [](const Cursor* c) { return !c->has(); });
    // Higher clients first, then lower clocks.
    std::stable_sort(live.begin(), live.end(), [](const Cursor* a, const Cursor* b) {
      const auto& x = a->curr();
      const auto& y = b->curr();
      if (x.client != y.client) return x.client > y.client;
      return x.s->clock < y.s->clock;
    });
    if (live.empty()) break;
    Cursor& cd = *live.front();
    std::uint64_t first_client = cd.curr().client;
    if (pending_at) {
      bool iterated = false;
      // Skip what has been written already.
      while (cd.has() && end_of(*cd.curr().s) <= end_of(pending) &&
             cd.curr().client >= pending_at->client) {
        ++cd.at;
        iterated = true;
      }
      if (!cd.has() || cd.curr().client != first_client ||
          (iterated && cd.curr().s->clock > end_of(pending))) {
        continue;
      }
      const ClientStruct curr = cd.curr();
      if (first_client != pending_at->client) {
        write_pending();
        pending_at = curr;
        pending = *curr.s;
        ++cd.at;
      } else if (end_of(pending) < curr.s->clock) {
        // A gap: a Skip stands for it.
        if (pending.kind == YStruct::Kind::skip) {
          pending.length = end_of(*curr.s) - pending.clock;
        } else {
          write_pending();
          YStruct gap;
          gap.kind = YStruct::Kind::skip;
          gap.clock = end_of(pending);
          gap.length = curr.s->clock - gap.clock;
          pending = gap;
        }
      } else {
        std::uint64_t diff = end_of(pending) - curr.s->clock;
        YStruct next = *curr.s;
        if (diff > 0) {
          if (pending.kind == YStruct::Kind::skip) {
            pending.length -= diff;
          } else {
            next = slice(first_client, next, diff);
          }
        }
        // GCs join GCs and Skips join Skips; items are never joined.
        if (pending.kind != YStruct::Kind::item && pending.kind == next.kind) {
          pending.length += next.length;
        } else {
          write_pending();
          pending_at = curr;
          pending = next;
          ++cd.at;
        }
      }
    } else {
      pending_at = cd.curr();
      pending = *cd.curr().s;
      ++cd.at;
    }
    // The rest of this client's consecutive run goes out as it is.
    while (cd.has() && cd.curr().client == first_client && cd.curr().s->clock == end_of(pending) &&
           cd.curr().s->kind != YStruct::Kind::skip) {
      write_pending();
      pending_at = cd.curr();
      pending = *cd.curr().s;
      ++cd.at;
    }
  }
  if (pending_at) write_pending();

  Lib0Writer w;
  w.raw(out.finish());
  std::vector<ClientDeletes> deletes;
  for (const auto& u : decoded) deletes.insert(deletes.end(), u.deletes.begin(), u.deletes.end());
  write_delete_set(w, deletes);
  return w.take();
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> decode_state_vector(std::string_view bytes) {
  Lib0Reader r(bytes);
  std::uint64_t n = r.var_uint();
  if (n > r.remaining() / 2) bad("more state-vector entries than bytes");
  std::map<std::uint64_t, std::uint64_t> last;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::uint64_t client = r.var_uint();
    last[client] = r.var_uint();
  }
  if (!r.done()) bad("bytes after the state vector");
  return {last.begin(), last.end()};
}

std::string diff_update(std::string_view update, std::string_view state_vector) {
  auto sv = decode_state_vector(state_vector);
  auto known = [&](std::uint64_t client) -> std::uint64_t {
    auto it = std::lower_bound(sv.begin(), sv.end(), std::pair(client, std::uint64_t{0}));
    return it != sv.end() && it->first == client ? it->second : 0;
  };
  YUpdate u = decode_update(update);
  auto structs = flatten(u, true);
  RunWriter out;
  for (std::size_t i = 0; i < structs.size();) {
    auto [client, s] = structs[i];
    std::uint64_t have = known(client);
    if (s->kind == YStruct::Kind::skip) {
      ++i;  // a run does not begin with a Skip
      continue;
    }
    if (s->clock + s->length > have) {
      out.write(client, *s, have > s->clock ? have - s->clock : 0);
      for (++i; i < structs.size() && structs[i].client == client; ++i) {
        out.write(client, *structs[i].s, 0);
      }
    } else {
      while (i < structs.size() && structs[i].client == client &&
             structs[i].s->clock + structs[i].s->length <= have) {
        ++i;
      }
    }
  }
  Lib0Writer w;
  w.raw(out.finish());
  write_delete_set(w, u.deletes, false);
  return w.take();
}

bool ranges_cover(const std::vector<DeleteRange>& ranges, std::uint64_t clock,
                  std::uint64_t length) {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), clock,
                             [](std::uint64_t c, const DeleteRange& r) { return c < r.clock; });
  if (it == ranges.begin()) return false;
  --it;
  return clock + length <= it->clock + it->length;
}

std::vector<DeleteRange> join_ranges(std::vector<DeleteRange> ranges) {
  std::stable_sort(ranges.begin(), ranges.end(),
                   [](const DeleteRange& a, const DeleteRange& b) { return a.clock < b.clock; });
  std::size_t kept = 0;
  for (const auto& r : ranges) {
    if (kept > 0 && ranges[kept - 1].clock + ranges[kept - 1].length >= r.clock) {
      DeleteRange& left = ranges[kept - 1];
      left.length = std::max(left.length, r.clock + r.length - left.clock);
    } else {
      ranges[kept++] = r;
    }
  }
  ranges.resize(kept);
  return ranges;
}

YUpdate decode_update(std::string_view bytes) {
  Lib0Reader r(bytes);
  YUpdate u;
  // Every struct and range takes at least two bytes, so counts past what is
  // left are refused before anything is reserved for them.
  std::uint64_t clients = r.var_uint();
  if (clients > r.remaining()) bad("more clients than bytes");
  u.clients.reserve(static_cast<std::size_t>(clients));
  for (std::uint64_t c = 0; c < clients; ++c) {
    std::uint64_t n = r.var_uint();
    if (n > r.remaining() / 2) bad("more structs than bytes");
    ClientStructs& cs = u.clients.emplace_back();
    cs.client = r.var_uint();
    std::uint64_t clock = r.var_uint();
    cs.structs.reserve(static_cast<std::size_t>(n));
    for (std::uint64_t i = 0; i < n; ++i) {
      cs.structs.push_back(read_struct(r, clock));
      clock += cs.structs.back().length;
    }
  }
  std::uint64_t delete_clients = r.var_uint();
  if (delete_clients > r.remaining()) bad("more delete-set clients than bytes");
  u.deletes.reserve(static_cast<std::size_t>(delete_clients));
  for (std::uint64_t c = 0; c < delete_clients; ++c) {
    ClientDeletes& cd = u.deletes.emplace_back();
    cd.client = r.var_uint();
    std::uint64_t n = r.var_uint();
    if (n > r.remaining() / 2) bad("more deleted ranges than bytes");
    cd.ranges.reserve(static_cast<std::size_t>(n));
    for (std::uint64_t i = 0; i < n; ++i) {
      DeleteRange d;
      d.clock = r.var_uint();
      d.length = r.var_uint();
      if (d.length > kMaxSafeInteger - d.clock) bad("deleted range past 2^53");
      cd.ranges.push_back(d);
    }
  }
  if (!r.done()) bad("bytes after the delete set");
  return u;
}

std::string encode_content(const YStruct& s, std::uint64_t offset) {
  Lib0Writer w;
  write_content(w, s, offset);
  return w.take();
}

void write_struct(std::string& out, std::uint64_t client, const YStruct& s, std::uint64_t offset) {
  Lib0Writer w;
  switch (s.kind) {
    case YStruct::Kind::gc:
      w.byte(0);
      w.var_uint(s.length - offset);
      break;
    case YStruct::Kind::skip:
      w.byte(kInfoSkip);
      w.var_uint(s.length - offset);
      break;
    case YStruct::Kind::item: {
      std::optional<YId> origin = s.origin;
      if (offset > 0) origin = YId{client, s.clock + offset - 1};
      // parent_sub is known only for an item with no origins (only then is
      // it written), so an item read with an origin loses its map-key bit,
      // as it does in Yjs's merge.
      std::uint8_t info = static_cast<std::uint8_t>(s.content_ref) | (origin ? kBitOrigin : 0) |
                          (s.right_origin ? kBitRightOrigin : 0) |
                          (s.parent_sub ? kBitParentSub : 0);
      w.byte(info);
      if (origin) write_id(w, *origin);
      if (s.right_origin) write_id(w, *s.right_origin);
      if (!origin && !s.right_origin) {
        w.var_uint(s.parent_is_key ? 1 : 0);
        if (s.parent_is_key) {
          w.var_string(s.parent_key);
        } else {
          write_id(w, s.parent_id);
        }
        if (s.parent_sub) w.var_string(*s.parent_sub);
      }
      write_content(w, s, offset);
      break;
    }
  }
  out += w.bytes();
}

std::string encode_update(const YUpdate& u) {
  // Clients with higher ids first; one client's structs in clock order.
  std::map<std::uint64_t, std::vector<const YStruct*>, std::greater<>> by_client;
  for (const auto& cs : u.clients) {
    auto& list = by_client[cs.client];
    for (const auto& s : cs.structs) {
      if (s.kind != YStruct::Kind::skip) list.push_back(&s);
    }
  }
  Lib0Writer w;
  std::size_t runs = 0;
  std::string body;
  for (auto& [client, list] : by_client) {
    if (list.empty()) continue;
    std::stable_sort(list.begin(), list.end(),
                     [](const YStruct* a, const YStruct* b) { return a->clock < b->clock; });
    std::string structs;
    std::uint64_t written = 0;
    std::uint64_t end = list.front()->clock;
    for (const YStruct* s : list) {
      if (s->clock + s->length <= end) continue;  // already written
      if (s->clock > end) {
        YStruct gap;
        gap.kind = YStruct::Kind::skip;
        gap.clock = end;
        gap.length = s->clock - end;
        write_struct(structs, client, gap, 0);
        ++written;
        end = s->clock;
      }
      write_struct(structs, client, *s, end - s->clock);
      ++written;
      end = s->clock + s->length;
    }
    Lib0Writer head;
    head.var_uint(written);
    head.var_uint(client);
    head.var_uint(list.front()->clock);
    body += head.bytes();
    body += structs;
    ++runs;
  }
  w.var_uint(runs);
  w.raw(body);
  write_delete_set(w, u.deletes);
  return w.take();
}

std::string state_vector_of_update(std::string_view update) {
  YUpdate u = decode_update(update);
  // Yjs's reading, struct by struct in the update's order: a client's state
  // counts from clock 0 until its first Skip; a client whose first struct is
  // past 0 has none; a client with no state is left out.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> states;
  bool started = false;
  bool stop = false;
  std::uint64_t client = 0;
  std::uint64_t clock = 0;
  for (const auto& cs : u.clients) {
    for (const auto& s : cs.structs) {
      if (!started) {
        // The very first struct counts even if it is a Skip at clock 0.
        started = true;
        client = cs.client;
        stop = s.clock != 0;
        clock = stop ? 0 : s.clock + s.length;
      } else if (cs.client != client) {
        if (clock != 0) states.emplace_back(client, clock);
        client = cs.client;
        clock = 0;
        stop = s.clock != 0;
      }
      if (s.kind == YStruct::Kind::skip) stop = true;
      if (!stop) clock = s.clock + s.length;
    }
  }
  if (started && clock != 0) states.emplace_back(client, clock);
  Lib0Writer w;
  w.var_uint(states.size());
  for (const auto& [c, k] : states) {
    w.var_uint(c);
    w.var_uint(k);
  }
  return w.take();
}

}  // namespace parley::collab
