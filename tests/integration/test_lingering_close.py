"""Lingering close: when the server answers and closes while the client is
still sending (a declared body past the limit, a head past the limit), the
client must get to read the answer, not a reset.

Regression: integration.test_auth's 1 MB token test failed in a fresh-clone
CI run with BrokenPipeError: the server answered 401 and closed with the rest
of the token unread, so the kernel reset the connection under the client."""

import re
import socket
import threading
import time
import unittest

from harness import ServerTest


def metric(text, name, labels=""):
    m = re.search(r"(?m)^" + re.escape(name + labels) + r" (\S+)$", text)
    return float(m.group(1)) if m else 0.0


class LingeringCloseTest(ServerTest):
    SETTINGS = {"http.max_body_bytes": "4096", "http.lingering_time_ms": "1500"}

    def metrics(self):
        return self.server.request("GET", "/metrics")[2]

    def lingering_closes(self, outcome, past, timeout=5):
        """The closes counted with outcome, once more than `past` (or after timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            now = metric(self.metrics(), "parley_http_lingering_closes_total", f'{{outcome="{outcome}"}}')
            if now > past or time.monotonic() > deadline:
                return now
            time.sleep(0.1)

    def send_while_answered(self, head, body_bytes):
        """Sends head then body_bytes of filler, as a client that does not read
        before it has sent everything would (http.client, curl without
        Expect); returns (send error or None, everything read)."""
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=20)
        try:
            error = None
            try:
                s.sendall(head)
                chunk = b"x" * (1 << 20)
                for _ in range(body_bytes >> 20):
                    s.sendall(chunk)
                s.shutdown(socket.SHUT_WR)
            except OSError as e:  # BrokenPipeError, ConnectionResetError
                error = e
            reply = b""
            try:
                while True:
                    data = s.recv(65536)
                    if not data:
                        break
                    reply += data
            except OSError as e:
                error = error or e
            return error, reply
        finally:
            s.close()

    def test_client_still_sending_a_body_reads_the_413(self):
        before = metric(self.metrics(), "parley_http_lingering_discarded_bytes_total")
        # 32 MiB is far more than the socket buffers hold between us and the server.
        head = (b"POST /api/conversations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 33554432\r\n\r\n")
        error, reply = self.send_while_answered(head, 32 << 20)
        self.assertIsNone(error, f"the client could not finish sending: {error!r}")
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply[:100])
        after = metric(self.metrics(), "parley_http_lingering_discarded_bytes_total")
        self.assertGreater(after - before, 16 << 20, "the server did not read what the client sent")

    def test_client_still_sending_a_huge_token_reads_the_401(self):
        head = b"GET /api/auth/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + b"a" * (4 << 20)
        error, reply = self.send_while_answered(head + b"\r\n\r\n", 0)
        self.assertIsNone(error, f"the client could not finish sending: {error!r}")
        self.assertTrue(reply.startswith(b"HTTP/1.1 401"), reply[:100])

    def test_client_that_never_closes_is_dropped_after_lingering_time(self):
        before = metric(self.metrics(), "parley_http_lingering_closes_total", '{outcome="timeout"}')
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        try:
            s.sendall(b"POST /api/conversations HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
            started = time.monotonic()
            reply = b""
            while b"\r\n\r\n" not in reply:
                reply += s.recv(65536)
            self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply[:100])
            # Keep sending a trickle, never closing. The server's FIN (its half
            # close) reads as b""; its full close makes our next sends fail.
            closed = None
            s.settimeout(0.2)
            while time.monotonic() - started < 8:
                try:
                    s.sendall(b"y" * 100)
                    s.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    closed = time.monotonic() - started
                    break
                time.sleep(0.05)
            self.assertIsNotNone(closed, "the server never closed a lingering connection")
            self.assertLess(closed, 5.0)
            self.assertGreater(closed, 1.0, "closed before http.lingering_time_ms")
        finally:
            s.close()
        self.assertEqual(self.lingering_closes("timeout", before) - before, 1)

    def test_client_that_closes_counts_as_drained(self):
        before = metric(self.metrics(), "parley_http_lingering_closes_total", '{outcome="drained"}')
        reply = self.server.raw(b"POST /api/conversations HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply[:100])
        self.assertGreaterEqual(self.lingering_closes("drained", before) - before, 1)


if __name__ == "__main__":
    unittest.main()
