#include "app/healthcheck.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace parley::app {

namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

bool wait_for(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  int rc;
  do {
    rc = ::poll(&p, 1, remaining_ms(deadline));
  } while (rc < 0 && errno == EINTR);
  return rc > 0;
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

int unhealthy(const char* what, const std::string& detail) {
  std::printf("unhealthy: %s%s%s\n", what, detail.empty() ? "" : ": ", detail.c_str());
  return 1;
}

}  // namespace

int run_healthcheck(const HealthcheckOptions& o) {
  auto deadline = Clock::now() + std::chrono::milliseconds(o.timeout_ms);
  std::string host = o.host;
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string port = std::to_string(o.port);
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return unhealthy("cannot resolve", host + " (" + gai_strerror(rc) + ")");
  }
  Fd sock;
  sock.fd = ::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol);
  if (sock.fd < 0) {
    ::freeaddrinfo(found);
    return unhealthy("socket", std::strerror(errno));
  }
  ::fcntl(sock.fd, F_SETFL, ::fcntl(sock.fd, F_GETFL) | O_NONBLOCK);
  int rc = ::connect(sock.fd, found->ai_addr, found->ai_addrlen);
  ::freeaddrinfo(found);
  if (rc < 0 && errno != EINPROGRESS) return unhealthy("connect", std::strerror(errno));
  if (rc < 0) {
    if (!wait_for(sock.fd, POLLOUT, deadline)) return unhealthy("connect", "timed out");
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(sock.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return unhealthy("connect", std::strerror(err));
  }

  std::string request = "GET " + o.path + " HTTP/1.1\r\nHost: " + host + ":" + port +
                        "\r\nUser-Agent: parley-healthcheck\r\nConnection: close\r\n\r\n";
  std::size_t sent = 0;
  while (sent < request.size()) {
    if (!wait_for(sock.fd, POLLOUT, deadline)) return unhealthy("send", "timed out");
    ssize_t n = ::send(sock.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) return unhealthy("send", std::strerror(errno));
    if (n > 0) sent += static_cast<std::size_t>(n);
  }

  // The status line is all we need; read until it is complete (bounded).
  std::string head;
  char buf[512];
  while (head.find("\r\n") == std::string::npos && head.size() < 4096) {
    if (!wait_for(sock.fd, POLLIN, deadline)) return unhealthy("no answer", "timed out");
    ssize_t n = ::recv(sock.fd, buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return unhealthy("read", std::strerror(errno));
    }
    head.append(buf, static_cast<std::size_t>(n));
  }
  auto eol = head.find("\r\n");
  std::string status_line = head.substr(0, eol == std::string::npos ? head.size() : eol);
  if (status_line.rfind("HTTP/1.1 200", 0) == 0 || status_line.rfind("HTTP/1.0 200", 0) == 0) {
    std::printf("healthy: %s %s\n", o.path.c_str(), status_line.c_str());
    return 0;
  }
  return unhealthy(o.path.c_str(), status_line.empty() ? "closed without an answer" : status_line);
}

}  // namespace parley::app
