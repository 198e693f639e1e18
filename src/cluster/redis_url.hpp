// Where Redis is: parsed from the redis.url setting.
#pragma once

#include <string>
#include <string_view>

namespace parley::cluster {

struct RedisUrl {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string user;      // empty: AUTH <password> (the default user)
  std::string password;  // empty: no AUTH
  int db = 0;
};

// redis://[[user]:password@]host[:port][/db]; percent-escapes in the user and
// password are decoded. Throws std::invalid_argument saying what is wrong.
RedisUrl parse_redis_url(std::string_view url);

}  // namespace parley::cluster
