"""Hostile and malformed HTTP: every case gets a clear status and the server stays up."""

import re
import socket
import time
import unittest

from harness import ServerTest


class BadInputTest(ServerTest):
    SETTINGS = {
        "http.max_body_bytes": "4096",
        "http.max_header_bytes": "2048",
        "http.header_timeout_ms": "700",
        "http.body_timeout_ms": "700",
    }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.token = cls.server.register("mallory_b")["access_token"]

    def tearDown(self):
        # Whatever the test sent, the server must still answer.
        self.assertEqual(self.server.request("GET", "/api/live")[0], 200)

    def post_raw(self, raw, ctype="application/json"):
        return self.server.request("POST", "/api/conversations", raw=raw, token=self.token,
                                   headers={"Content-Type": ctype})

    def test_invalid_json(self):
        self.assertProblem(self.post_raw("{not json"), 400, "invalid JSON")
        self.assertProblem(self.post_raw("[1,2,3]"), 400, "JSON object")
        self.assertProblem(self.post_raw('"just a string"'), 400, "JSON object")
        self.assertProblem(self.post_raw(""), 400)

    def test_wrong_content_type(self):
        self.assertProblem(self.post_raw('{"kind":"group","title":"t"}', "text/plain"), 415)

    def test_deep_nesting(self):
        self.assertProblem(self.post_raw('{"a":' + "[" * 1000 + "]" * 1000 + "}"), 400, "nesting")

    def test_body_too_large(self):
        self.assertProblem(self.post_raw('{"kind":"' + "x" * 10000 + '"}'), 413)

    def test_declared_body_too_large_is_refused_before_it_is_sent(self):
        reply = self.server.raw(b"POST /api/conversations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                b"Content-Length: 100000000\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply[:100])
        self.assertIn(b"application/problem+json", reply)

    def test_chunked_body_too_large(self):
        chunk = b"x" * 3000
        data = (b"POST /api/conversations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n" + (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 3 + b"0\r\n\r\n")
        reply = self.server.raw(data)
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply[:100])

    def test_headers_too_large(self):
        reply = self.server.raw(b"GET /api/live HTTP/1.1\r\nHost: x\r\n" +
                                b"".join(b"X-Filler-%d: %s\r\n" % (i, b"y" * 50) for i in range(200)) + b"\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 431"), reply[:100])
        self.assertIn(b"X-Frame-Options: DENY", reply)

    def test_malformed_request_line(self):
        reply = self.server.raw(b"GARBAGE\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 400"), reply[:100])
        reply = self.server.raw(b"GET /api/live HTTP/9.9\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 400"), reply[:100])

    def test_slowloris_head_is_cut_off(self):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
        try:
            s.sendall(b"GET /api/live HTTP/1.1\r\nHost: x\r\n")
            started = time.time()
            for _ in range(20):
                try:
                    s.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    break
                time.sleep(0.1)
                s.settimeout(0.01)
                try:
                    if s.recv(1) == b"":
                        break
                except socket.timeout:
                    pass
                except OSError:
                    break
            # Closed well before the 2 s the client would have taken.
            self.assertLess(time.time() - started, 1.9)
        finally:
            s.close()

    def test_slow_body_is_cut_off(self):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
        try:
            s.sendall(b"POST /api/conversations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 100\r\n\r\n{")
            started = time.time()
            self.assertEqual(s.recv(4096), b"")  # closed by the server, body never completed
            self.assertLess(time.time() - started, 3)
        finally:
            s.close()
        # The socket is closed before the session's coroutine counts the
        # timeout (a CI run under ASan read /metrics in between): wait for it.
        deadline = time.time() + 5
        while True:
            _, _, text = self.server.request("GET", "/metrics")
            if re.search(r'parley_http_transport_errors_total\{kind="timeout"\} [1-9]', text) or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertRegex(text, r'parley_http_transport_errors_total\{kind="timeout"\} [1-9]')

    def test_unknown_method_and_paths(self):
        self.assertProblem(self.server.request("PUT", "/api/auth/me", token=self.token), 405)
        self.assertProblem(self.server.request("BREW", "/api/live"), 405)
        self.assertProblem(self.server.request("GET", "/api/../etc/passwd"), 404)
        self.assertProblem(self.server.request("GET", "/api/conversations/%00", token=self.token), 404)
        reply = self.server.raw(b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n", read_until_close=False)
        self.assertTrue(reply.startswith(b"HTTP/1.1 4"), reply[:100])

    def test_error_problem_never_leaks_internals(self):
        status, _, body = self.post_raw('{"kind":"group","title":"t","members":["9223372036854775807"]}')
        self.assertEqual(status, 400)
        self.assertNotIn("sqlite", str(body).lower())


class ConnectionCapTest(ServerTest):
    SETTINGS = {"server.max_connections": "3"}

    def test_connections_past_the_cap_get_503(self):
        held = [socket.create_connection(("127.0.0.1", self.server.port), timeout=5) for _ in range(3)]
        try:
            time.sleep(0.2)
            reply = self.server.raw(b"GET /api/live HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertTrue(reply.startswith(b"HTTP/1.1 503"), reply[:100])
        finally:
            for s in held:
                s.close()
        time.sleep(0.2)
        self.assertEqual(self.server.request("GET", "/api/live")[0], 200)


if __name__ == "__main__":
    unittest.main()
