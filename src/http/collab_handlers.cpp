// /api/collab/documents: collaboration documents over REST (collab/documents.hpp).
#include <boost/json/array.hpp>

#include "app/config.hpp"
#include "collab/documents.hpp"
#include "core/json.hpp"
#include "http/handler_util.hpp"

namespace parley::http {

namespace bj = boost::json;

namespace {

bj::object document_json(const collab::DocumentView& v) {
  const auto& d = v.doc;
  bj::object o{{"id", id_to_string(d.id)},
               {"name", d.name},
               {"path", "/collab/" + d.name},
               {"title", d.title},
               {"owner_id", id_to_string(d.owner_id)},
               {"created_at", d.created_at},
               {"updated_at", d.updated_at},
               {"seq", d.last_seq},
               {"stored_bytes", d.log_bytes},
               {"role", v.role}};
  o["conversation_id"] = d.conversation_id ? bj::value(id_to_string(d.conversation_id)) : nullptr;
  return o;
}

bj::object version_json(const store::CollabVersion& v) {
  return bj::object{{"id", id_to_string(v.id)},
                    {"name", v.name},
                    {"seq", v.seq},
                    {"bytes", v.state_bytes},
                    {"created_by", v.created_by ? bj::value(id_to_string(v.created_by)) : nullptr},
                    {"created_at", v.created_at}};
}

Response yjs_reply(std::string update) {
  Response res;
  res.body = std::move(update);
  res.set("Content-Type", "application/octet-stream");
  res.set("Cache-Control", "no-store");
  return res;
}

collab::Documents& documents(Services& s) {
  if (!s.collab) fail(Errc::not_found, "collaboration is disabled (collab.enabled)");
  return *s.collab;
}

}  // namespace

void register_collab_routes(Router& r, Services& s) {
  const auto title_max = [&s] { return static_cast<std::size_t>(s.cfg.limits.max_title_bytes); };

  r.add("POST", "/api/collab/documents", [&s, title_max](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    auto body = body_object(ctx, s);
    auto name = json::optional_string(body, "name", 128).value_or("");
    auto title = json::optional_string(body, "title", title_max()).value_or("");
    Id conv = body.contains("conversation_id") && !body.at("conversation_id").is_null()
                  ? json_id(body, "conversation_id")
                  : 0;
    auto view = documents(s).create(me, name, title, conv);
    Response res = json_reply(201, document_json(view));
    res.set("Location", "/api/collab/documents/" + id_to_string(view.doc.id));
    return res;
  });

  r.add("GET", "/api/collab/documents", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    int limit = page_limit(ctx, s, 50);
    Id after = 0;
    if (auto a = ctx.req.query_param("after"); a && !a->empty()) {
      auto id = parse_id(*a);
      if (!id) fail(Errc::bad_request, "query parameter 'after' must be a document id");
      after = *id;
    }
    auto page = documents(s).list(me, after, limit);
    bj::array items;
    for (const auto& v : page) items.push_back(document_json(v));
    bj::object o{{"documents", std::move(items)}};
    o["next_after"] = static_cast<int>(page.size()) == limit
                          ? bj::value(id_to_string(page.back().doc.id))
                          : nullptr;
    return json_reply(200, o);
  });

  r.add("GET", "/api/collab/documents/{id}", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    Id doc = path_id(ctx, "id", "document");
    auto& d = documents(s);
    auto view = d.get(me, doc);
    auto o = document_json(view);
    if (view.role == "owner") {
      bj::array access;
      for (const auto& [user, role] : d.access(me, doc)) {
        access.push_back(bj::object{{"user_id", id_to_string(user)}, {"role", role}});
      }
      o["access"] = std::move(access);
    }
    return json_reply(200, o);
  });

  r.add("DELETE", "/api/collab/documents/{id}", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    documents(s).remove(me, path_id(ctx, "id", "document"));
    return Response::no_content();
  });

  r.add("PUT", "/api/collab/documents/{id}/access/{user_id}", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    auto body = body_object(ctx, s);
    auto role = json::require_string(body, "role", 16);
    if (role.empty()) fail(Errc::bad_request, "role: editor or viewer");
    Id doc = path_id(ctx, "id", "document");
    Id user = path_id(ctx, "user_id", "user");
    documents(s).set_role(me, doc, user, role);
    return json_reply(200, bj::object{{"user_id", id_to_string(user)}, {"role", role}});
  });

  r.add("DELETE", "/api/collab/documents/{id}/access/{user_id}", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    documents(s).set_role(me, path_id(ctx, "id", "document"), path_id(ctx, "user_id", "user"), "");
    return Response::no_content();
  });

  r.add("GET", "/api/collab/documents/{id}/state", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    return yjs_reply(documents(s).state(me, path_id(ctx, "id", "document")));
  });

  r.add("POST", "/api/collab/documents/{id}/updates", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    auto type = ctx.req.header("content-type");
    if (type.substr(0, type.find(';')) != "application/octet-stream") {
      fail(Errc::unsupported_media, "the body is a Yjs update: application/octet-stream");
    }
    auto applied = documents(s).apply(me, path_id(ctx, "id", "document"), ctx.req.body);
    return json_reply(200, bj::object{{"applied_bytes", applied}});
  });

  r.add("GET", "/api/collab/documents/{id}/versions", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    bj::array items;
    for (const auto& v :
         documents(s).versions(me, path_id(ctx, "id", "document"), page_limit(ctx, s, 50))) {
      items.push_back(version_json(v));
    }
    return json_reply(200, bj::object{{"versions", std::move(items)}});
  });

  r.add("POST", "/api/collab/documents/{id}/versions", [&s, title_max](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    std::string name;
    if (!ctx.req.body.empty()) {
      auto body = body_object(ctx, s);
      name = json::optional_string(body, "name", title_max()).value_or("");
    }
    auto v = documents(s).create_version(me, path_id(ctx, "id", "document"), name);
    return json_reply(201, version_json(v));
  });

  r.add("GET", "/api/collab/documents/{id}/versions/{version_id}", [&s](Context& ctx) {
    Id me = require_auth(ctx, s).user_id;
    auto v = documents(s).version(me, path_id(ctx, "id", "document"),
                                  path_id(ctx, "version_id", "version"));
    return yjs_reply(std::move(v.state));
  });

  r.add("POST", "/api/collab/documents/{id}/versions/{version_id}/copy",
        [&s, title_max](Context& ctx) {
          Id me = require_auth(ctx, s).user_id;
          auto body = body_object(ctx, s);
          auto name = json::optional_string(body, "name", 128).value_or("");
          auto title = json::optional_string(body, "title", title_max()).value_or("");
          auto view = documents(s).copy_version(me, path_id(ctx, "id", "document"),
                                                path_id(ctx, "version_id", "version"), name, title);
          Response res = json_reply(201, document_json(view));
          res.set("Location", "/api/collab/documents/" + id_to_string(view.doc.id));
          return res;
        });
}

}  // namespace parley::http
