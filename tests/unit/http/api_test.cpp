// The request pipeline end to end, without the network: errors become
// problem+json with every middleware header, whatever the handler throws.
#include "http/api.hpp"

#include <gtest/gtest.h>

#include "../test_util.hpp"
#include "app/config.hpp"
#include "auth/auth_service.hpp"
#include "chat/chat_service.hpp"
#include "core/ids.hpp"
#include "core/metrics.hpp"
#include "http/context.hpp"
#include "store/database.hpp"

namespace parley::http {
namespace {

class ApiTest : public ::testing::Test {
 protected:
  ApiTest()
      : db_(options(dir_), metrics_),
        ids_(0),
        auth_(cfg_, db_, ids_, metrics_),
        chat_(cfg_, db_, ids_, metrics_),
        api_(Services{cfg_, auth_, chat_, db_, metrics_, state_}) {
    db_.migrate();
    db_.start();
    state_.serving = true;
  }

  static store::DatabaseOptions options(const testing::TempDir& dir) {
    store::DatabaseOptions o;
    o.sqlite_path = dir.file("api.db");
    return o;
  }

  Response get(const std::string& target, Headers headers = {}) {
    Request req;
    req.method = "GET";
    req.target = target;
    req.headers = std::move(headers);
    req.remote_addr = "127.0.0.1";
    split_target(req);
    return api_.handle(req);
  }

  testing::TempDir dir_;
  Config cfg_;
  metrics::Registry metrics_;
  store::Database db_;
  IdGenerator ids_;
  auth::AuthService auth_;
  chat::ChatService chat_;
  ServerState state_;
  Api api_;
};

TEST_F(ApiTest, UnexpectedExceptionsBecome500ProblemsWithAllHeaders) {
  api_.mutable_router().add("GET", "/boom", [](Context&) -> Response {
    throw std::runtime_error("secret internal detail");
  });
  Response r = get("/boom", {{"x-request-id", "req-500"}});
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.get("Content-Type"), "application/problem+json");
  EXPECT_EQ(r.get("X-Frame-Options"), "DENY");
  EXPECT_EQ(r.get("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(r.get("X-Request-Id"), "req-500");
  EXPECT_NE(r.body.find("req-500"), std::string::npos);
  EXPECT_EQ(r.body.find("secret internal detail"), std::string::npos);
}

TEST_F(ApiTest, DomainErrorsKeepTheirStatusAndRetryAfter) {
  api_.mutable_router().add("GET", "/slow-down", [](Context&) -> Response {
    throw Error(Errc::too_many_requests, "wait", 7);
  });
  Response r = get("/slow-down");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.get("Retry-After"), "7");
}

TEST_F(ApiTest, ReadyIsFalseWhileDraining) {
  EXPECT_EQ(get("/api/ready").status, 200);
  state_.draining = true;
  Response r = get("/api/ready");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("draining"), std::string::npos);
  EXPECT_EQ(get("/api/health").status, 200);  // healthy, just leaving
  EXPECT_NE(get("/api/health").body.find("\"draining\""), std::string::npos);
}

TEST_F(ApiTest, ReadyIsFalseWhenMigrationsArePending) {
  db_.write([](store::Store& s) { s.exec_script("DELETE FROM schema_migrations"); });
  Response r = get("/api/ready");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("migrations pending"), std::string::npos);
  EXPECT_EQ(get("/api/health").status, 503);
}

TEST_F(ApiTest, UnknownMethodsShareOneMetricsLabel) {
  Request req;
  req.method = "BREW";
  req.target = "/api/live";
  split_target(req);
  EXPECT_EQ(api_.handle(req).status, 405);
  std::string text = metrics_.render();
  EXPECT_NE(text.find("method=\"OTHER\",route=\"/api/live\",status=\"405\""), std::string::npos);
  EXPECT_EQ(text.find("BREW"), std::string::npos);
}

}  // namespace
}  // namespace parley::http
