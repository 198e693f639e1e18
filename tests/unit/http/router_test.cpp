#include "http/router.hpp"

#include <gtest/gtest.h>

#include "http/context.hpp"

namespace parley::http {
namespace {

Router make() {
  Router r;
  r.add("GET", "/api/conversations", [](Context&) { return Response::json(200, "list"); });
  r.add("POST", "/api/conversations", [](Context&) { return Response::json(201, "create"); });
  r.add("GET", "/api/conversations/{id}", [](Context&) { return Response::json(200, "get"); });
  r.add("GET", "/api/conversations/{id}/messages/{seq}",
        [](Context&) { return Response::json(200, "msg"); });
  return r;
}

TEST(Router, MatchesLiteralAndPlaceholderSegments) {
  Router r = make();
  auto m = r.match("GET", "/api/conversations/123/messages/7");
  ASSERT_EQ(m.kind, Router::Match::found);
  EXPECT_EQ(m.pattern, "/api/conversations/{id}/messages/{seq}");
  ASSERT_EQ(m.params.size(), 2U);
  EXPECT_EQ(m.params[0], (std::pair<std::string, std::string>{"id", "123"}));
  EXPECT_EQ(m.params[1], (std::pair<std::string, std::string>{"seq", "7"}));
  Request req;
  Context ctx(req);
  EXPECT_EQ((*m.handler)(ctx).body, "msg");
}

TEST(Router, DistinguishesNotFoundFromMethodNotAllowed) {
  Router r = make();
  EXPECT_EQ(r.match("GET", "/api/nothing").kind, Router::Match::not_found);
  EXPECT_EQ(r.match("GET", "/api/conversations/").kind, Router::Match::not_found);
  EXPECT_EQ(r.match("GET", "/api/conversations/1/extra").kind, Router::Match::not_found);
  EXPECT_EQ(r.match("GET", "").kind, Router::Match::not_found);
  auto m = r.match("DELETE", "/api/conversations");
  EXPECT_EQ(m.kind, Router::Match::method_not_allowed);
  EXPECT_EQ(m.allowed, (std::vector<std::string>{"GET", "HEAD", "POST"}));
  // Regression: a 405 carried an empty pattern, so its metrics label was "".
  EXPECT_EQ(m.pattern, "/api/conversations");
}

TEST(Router, HeadMatchesGet) {
  Router r = make();
  auto m = r.match("HEAD", "/api/conversations/5");
  EXPECT_EQ(m.kind, Router::Match::found);
  EXPECT_EQ(m.pattern, "/api/conversations/{id}");
}

TEST(Router, ListsRoutes) { EXPECT_EQ(make().routes().size(), 4U); }

}  // namespace
}  // namespace parley::http
