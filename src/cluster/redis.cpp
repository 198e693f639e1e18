#include "cluster/redis.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <random>

#include "core/log.hpp"

namespace parley::cluster {

namespace asio = boost::asio;

// The Asio side of one hiredis context: hiredis asks for read and write
// interest through the ev hooks; each is one async_wait on the socket,
// re-armed while the interest lasts. cleanup() runs when hiredis frees the
// context: the waits are cancelled and the descriptor handed back (hiredis
// closes it).
struct RedisConnection::Watch : std::enable_shared_from_this<Watch> {
  Watch(asio::io_context& io, int fd, redisAsyncContext* c) : sd(io, fd), ac(c) {}
  ~Watch() {
    if (sd.is_open()) sd.release();
  }

  asio::posix::stream_descriptor sd;
  redisAsyncContext* ac;
  bool want_read = false, want_write = false, reading = false, writing = false;

  void arm_read() {
    if (reading || !ac || !want_read) return;
    reading = true;
    sd.async_wait(asio::posix::stream_descriptor::wait_read,
                  [self = shared_from_this()](boost::system::error_code ec) {
                    self->reading = false;
                    if (ec || !self->ac) return;
                    if (self->want_read) redisAsyncHandleRead(self->ac);
                    self->arm_read();
                  });
  }
  void arm_write() {
    if (writing || !ac || !want_write) return;
    writing = true;
    sd.async_wait(asio::posix::stream_descriptor::wait_write,
                  [self = shared_from_this()](boost::system::error_code ec) {
                    self->writing = false;
                    if (ec || !self->ac) return;
                    if (self->want_write) redisAsyncHandleWrite(self->ac);
                    self->arm_write();
                  });
  }

  static Watch* of(void* p) { return static_cast<Watch*>(p); }
  static void add_read(void* p) {
    of(p)->want_read = true;
    of(p)->arm_read();
  }
  static void del_read(void* p) { of(p)->want_read = false; }
  static void add_write(void* p) {
    of(p)->want_write = true;
    of(p)->arm_write();
  }
  static void del_write(void* p) { of(p)->want_write = false; }
  static void cleanup(void* p) {
    Watch* w = of(p);
    w->ac = nullptr;
    w->want_read = w->want_write = false;
    boost::system::error_code ec;
    w->sd.cancel(ec);
    if (w->sd.is_open()) w->sd.release();
  }
};

RedisValue copy_reply(const redisReply* r) {
  RedisValue v;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      v.type = RedisValue::Type::string;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      v.type = RedisValue::Type::status;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      v.type = RedisValue::Type::error;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      v.type = RedisValue::Type::integer;
      v.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      v.type = RedisValue::Type::array;
      for (std::size_t i = 0; i < r->elements; ++i) v.elements.push_back(copy_reply(r->element[i]));
      break;
    default:
      break;
  }
  return v;
}

RedisConnection::RedisConnection(asio::io_context& io, RedisUrl url, std::string role, Hooks hooks)
    : io_(io),
      url_(std::move(url)),
      role_(std::move(role)),
      hooks_(std::move(hooks)),
      retry_timer_(io) {}

RedisConnection::~RedisConnection() { stop(); }

void RedisConnection::start() {
  stopped_ = false;
  connect();
}

void RedisConnection::stop() {
  stopped_ = true;
  retry_timer_.cancel();
  up_ = false;
  if (ac_) {
    redisAsyncContext* ac = ac_;
    ac_ = nullptr;
    redisAsyncFree(ac);  // pending callbacks get a null reply; cleanup() runs
  }
}

void RedisConnection::connect() {
  if (stopped_) return;
  redisAsyncContext* ac = redisAsyncConnect(url_.host.c_str(), url_.port);
  if (!ac) {
    lost("out of memory");
    return;
  }
  if (ac->err) {
    std::string why = ac->errstr;
    redisAsyncFree(ac);
    lost(why);
    return;
  }
  ac_ = ac;
  ac->data = this;
  watch_ = std::make_shared<Watch>(io_, ac->c.fd, ac);
  ac->ev.data = watch_.get();
  ac->ev.addRead = &Watch::add_read;
  ac->ev.delRead = &Watch::del_read;
  ac->ev.addWrite = &Watch::add_write;
  ac->ev.delWrite = &Watch::del_write;
  ac->ev.cleanup = &Watch::cleanup;
  redisAsyncSetConnectCallback(ac, &RedisConnection::on_connect);
  redisAsyncSetDisconnectCallback(ac, &RedisConnection::on_disconnect);
}

void RedisConnection::on_connect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisConnection*>(ac->data);
  if (status != REDIS_OK) {
    self->ac_ = nullptr;  // hiredis frees the context after this callback
    self->lost(ac->errstr);
    return;
  }
  self->handshake();
}

void RedisConnection::on_disconnect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisConnection*>(ac->data);
  self->ac_ = nullptr;
  self->lost(status == REDIS_OK ? "connection closed" : ac->errstr);
}

void RedisConnection::handshake() {
  auto ready = [this] {
    up_ = true;
    backoff_ = std::chrono::milliseconds(100);
    last_error_.clear();
    log::info("redis_connected",
              {{"role", role_}, {"host", url_.host}, {"port", url_.port}, {"db", url_.db}});
    if (hooks_.up) hooks_.up();
  };
  auto select = [this, ready] {
    if (url_.db == 0) return ready();
    handshake_step({"SELECT", std::to_string(url_.db)}, ready);
  };
  if (url_.password.empty()) return select();
  std::vector<std::string> auth{"AUTH"};
  if (!url_.user.empty()) auth.push_back(url_.user);
  auth.push_back(url_.password);
  handshake_step(std::move(auth), select);
}

void RedisConnection::handshake_step(std::vector<std::string> argv, std::function<void()> next) {
  std::string what = argv[0];
  send(
      argv,
      [this, what, next](const redisReply* r) {
        if (!r) return;  // lost meanwhile: on_disconnect retries
        if (r->type == REDIS_REPLY_ERROR) {
          last_error_ = what + " failed: " + r->str;
          if (ac_) redisAsyncDisconnect(ac_);  // and on_disconnect retries later
          return;
        }
        next();
      },
      true);
}

void RedisConnection::lost(std::string why) {
  bool was_up = up_;
  up_ = false;
  if (stopped_) return;
  if (last_error_.empty() || was_up) last_error_ = why;
  log::warn("redis_unavailable", {{"role", role_},
                                  {"error", last_error_},
                                  {"retry_in_ms", static_cast<std::int64_t>(backoff_.count())}});
  if (hooks_.down) hooks_.down();
  retry_later();
}

void RedisConnection::retry_later() {
  static thread_local std::minstd_rand rng{std::random_device{}()};
  auto jittered = backoff_ / 2 + std::chrono::milliseconds(rng() % (backoff_.count() / 2 + 1));
  backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(5000));
  retry_timer_.expires_after(jittered);
  retry_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) connect();
  });
}

bool RedisConnection::send(const std::vector<std::string>& argv, ReplyFn cb, bool before_up) {
  if (!ac_ || (!up_ && !before_up)) return false;
  std::vector<const char*> args;
  std::vector<std::size_t> lens;
  args.reserve(argv.size());
  lens.reserve(argv.size());
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* fn = new ReplyFn(std::move(cb));
  if (redisAsyncCommandArgv(ac_, &RedisConnection::on_reply, fn, static_cast<int>(args.size()),
                            args.data(), lens.data()) != REDIS_OK) {
    delete fn;
    return false;
  }
  return true;
}

bool RedisConnection::command(const std::vector<std::string>& argv, ReplyFn cb) {
  return send(argv, std::move(cb), false);
}

void RedisConnection::on_reply(redisAsyncContext*, void* reply, void* privdata) {
  std::unique_ptr<ReplyFn> fn(static_cast<ReplyFn*>(privdata));
  if (*fn) (*fn)(static_cast<const redisReply*>(reply));
}

bool RedisConnection::subscribe(const std::string& channel,
                                std::function<void(std::string_view)> on_message) {
  if (!ac_ || !up_) return false;
  on_message_ = std::move(on_message);
  const char* args[] = {"SUBSCRIBE", channel.data()};
  std::size_t lens[] = {9, channel.size()};
  return redisAsyncCommandArgv(ac_, &RedisConnection::on_message, this, 2, args, lens) == REDIS_OK;
}

void RedisConnection::on_message(redisAsyncContext*, void* reply, void* privdata) {
  auto* self = static_cast<RedisConnection*>(privdata);
  const auto* r = static_cast<const redisReply*>(reply);
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3) return;
  const redisReply* kind = r->element[0];
  const redisReply* payload = r->element[2];
  if (kind->type != REDIS_REPLY_STRING || std::string_view(kind->str, kind->len) != "message") {
    return;  // the subscribe confirmation
  }
  if (payload->type == REDIS_REPLY_STRING && self->on_message_) {
    self->on_message_(std::string_view(payload->str, payload->len));
  }
}

}  // namespace parley::cluster
