// A Redis connection for the cluster: hiredis's asynchronous API driven by an
// Asio io_context, so no Redis call ever blocks a thread (the socket waits
// are Asio operations; hiredis only parses and formats).
//
// The connection connects, authenticates (AUTH [user] password), selects the
// database, and reports itself up. When the server goes away it reports
// itself down and reconnects with exponential backoff (100 ms doubling to
// 5 s, with jitter) until stop().
//
// Threading: every member function runs on the io_context's thread (post()
// there first); callbacks run on it too.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/redis_url.hpp"

struct redisAsyncContext;
struct redisReply;

namespace parley::cluster {

// An owned copy of a reply, for use after hiredis frees its own.
struct RedisValue {
  enum class Type { string, array, integer, nil, status, error };
  Type type = Type::nil;
  long long integer = 0;
  std::string str;  // string, status, error
  std::vector<RedisValue> elements;
};
RedisValue copy_reply(const redisReply* r);

class RedisConnection {
 public:
  // reply is null when the command could not complete (connection lost).
  using ReplyFn = std::function<void(const redisReply* reply)>;
  struct Hooks {
    std::function<void()> up;    // connected, authenticated, database selected
    std::function<void()> down;  // lost (or a connection attempt failed)
  };

  RedisConnection(boost::asio::io_context& io, RedisUrl url, std::string role, Hooks hooks);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  void start();
  void stop();
  bool up() const { return up_; }
  const std::string& last_error() const { return last_error_; }

  // Sends one command. Returns false, without calling cb, when not up.
  bool command(const std::vector<std::string>& argv, ReplyFn cb);
  // SUBSCRIBE channel; on_message(payload) for every message published to it.
  bool subscribe(const std::string& channel, std::function<void(std::string_view)> on_message);

 private:
  struct Watch;
  static void on_connect(const redisAsyncContext* ac, int status);
  static void on_disconnect(const redisAsyncContext* ac, int status);
  static void on_reply(redisAsyncContext* ac, void* reply, void* privdata);
  static void on_message(redisAsyncContext* ac, void* reply, void* privdata);

  void connect();
  void handshake();
  // A command before the connection is up; next() on success, disconnect on an error reply.
  void handshake_step(std::vector<std::string> argv, std::function<void()> next);
  void lost(std::string why);
  void retry_later();
  bool send(const std::vector<std::string>& argv, ReplyFn cb, bool before_up);

  boost::asio::io_context& io_;
  RedisUrl url_;
  std::string role_;
  Hooks hooks_;
  redisAsyncContext* ac_ = nullptr;
  std::shared_ptr<Watch> watch_;
  boost::asio::steady_timer retry_timer_;
  std::chrono::milliseconds backoff_{100};
  bool up_ = false;
  bool stopped_ = true;
  std::string last_error_;
  std::function<void(std::string_view)> on_message_;
};

}  // namespace parley::cluster
