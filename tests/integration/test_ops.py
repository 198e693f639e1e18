"""Operator endpoints, HTTP behaviour, middleware, graceful shutdown."""

import os
import re
import socket
import tempfile
import time
import unittest

from harness import SECURITY_HEADERS, Server, ServerTest


class OpsTest(ServerTest):
    SETTINGS = {"cors.allowed_origins": "https://app.example.com"}

    def test_health_reports_each_component_with_latency(self):
        status, headers, body = self.server.request("GET", "/api/health")
        self.assertEqual(status, 200)
        self.assertEqual(body["status"], "ok")
        store = body["components"]["store"]
        self.assertEqual(store["status"], "ok")
        self.assertEqual(store["read"]["status"], "ok")
        self.assertEqual(store["write"]["status"], "ok")
        self.assertIsInstance(store["read"]["latency_us"], int)
        self.assertEqual(store["schema_version"], store["schema_latest"])
        self.assertEqual(body["components"]["server"]["status"], "ok")

    def test_live_and_ready(self):
        self.assertEqual(self.server.request("GET", "/api/live")[0], 200)
        status, _, body = self.server.request("GET", "/api/ready")
        self.assertEqual(status, 200)
        self.assertEqual(body, {"ready": True, "reasons": []})

    def test_metrics_in_prometheus_format(self):
        self.server.request("GET", "/api/live")
        self.server.request("GET", "/no/such/route")
        status, headers, text = self.server.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/plain; version=0.0.4"))
        for family in ["parley_http_requests_total", "parley_http_request_duration_seconds",
                       "parley_http_requests_in_flight", "parley_store_queue_depth",
                       "parley_store_commit_seconds", "process_resident_memory_bytes",
                       "process_cpu_seconds_total", "process_open_fds", "parley_build_info",
                       "parley_http_connections_active"]:
            self.assertIn(f"# TYPE {family} ", text)
        self.assertRegex(text, r'parley_http_requests_total\{method="GET",route="/api/live",status="200"\} [1-9]')
        self.assertRegex(text, r'parley_http_requests_total\{method="GET",route="unmatched",status="404"\} [1-9]')
        rss = re.search(r"^process_resident_memory_bytes (\S+)$", text, re.M)
        self.assertGreater(float(rss.group(1)), 1e6)
        # Every sample line parses as name{labels} value.
        for line in text.splitlines():
            if line and not line.startswith("#"):
                self.assertRegex(line, r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? \S+$')

    def test_security_headers_and_request_id_on_success_and_errors(self):
        for path in ["/api/live", "/api/nope", "/api/health"]:
            status, headers, _ = self.server.request("GET", path)
            for k, v in SECURITY_HEADERS.items():
                self.assertEqual(headers.get(k), v, f"{k} on {path}")
            self.assertIn("default-src 'none'", headers["content-security-policy"])
            self.assertEqual(headers["cache-control"], "no-store")
            self.assertNotIn("strict-transport-security", headers)  # no TLS here
            self.assertTrue(headers["x-request-id"])
        _, headers, _ = self.server.request("GET", "/api/live", headers={"X-Request-Id": "trace-42"})
        self.assertEqual(headers["x-request-id"], "trace-42")
        _, headers, _ = self.server.request("GET", "/api/live", headers={"X-Request-Id": "bad id!"})
        self.assertNotEqual(headers["x-request-id"], "bad id!")

    def test_404_versus_405(self):
        self.assertProblem(self.server.request("GET", "/api/nothing"), 404)
        response = self.server.request("DELETE", "/api/health")
        self.assertProblem(response, 405)
        self.assertEqual(response[1]["allow"], "GET, HEAD")

    def test_head_has_no_body(self):
        status, headers, body = self.server.request("HEAD", "/api/live")
        self.assertEqual(status, 200)
        self.assertEqual(body, "")

    def test_cors_allowlist(self):
        allowed = {"Origin": "https://app.example.com"}
        _, headers, _ = self.server.request("GET", "/api/live", headers=allowed)
        self.assertEqual(headers["access-control-allow-origin"], "https://app.example.com")
        _, headers, _ = self.server.request("GET", "/api/live", headers={"Origin": "http://evil"})
        self.assertNotIn("access-control-allow-origin", headers)
        status, headers, _ = self.server.request(
            "OPTIONS", "/api/conversations",
            headers={**allowed, "Access-Control-Request-Method": "POST"})
        self.assertEqual(status, 204)
        self.assertIn("POST", headers["access-control-allow-methods"])
        self.assertIn("Authorization", headers["access-control-allow-headers"])
        status, _, _ = self.server.request(
            "OPTIONS", "/api/conversations",
            headers={"Origin": "http://evil", "Access-Control-Request-Method": "POST"})
        self.assertEqual(status, 403)

    def test_keep_alive_serves_several_requests_on_one_connection(self):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
        try:
            s.sendall(b"GET /api/live HTTP/1.1\r\nHost: x\r\n\r\n" * 3)
            data = b""
            deadline = time.time() + 5
            while data.count(b"HTTP/1.1 200") < 3 and time.time() < deadline:
                data += s.recv(65536)
            self.assertEqual(data.count(b"HTTP/1.1 200"), 3)
        finally:
            s.close()


class MetricsTokenTest(unittest.TestCase):
    """metrics.token, read from a file named by PARLEY_METRICS_TOKEN_FILE (as
    systemd's LoadCredential= or a Docker secret would hand it over)."""

    def test_metrics_need_the_bearer_token_when_one_is_set(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "metrics-token")
            with open(path, "w") as f:
                f.write("scrape-secret-42\n")
            server = Server(env={"PARLEY_METRICS_TOKEN_FILE": path}).start()
            try:
                for headers in [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "scrape-secret-42"},
                                {"Authorization": "Bearer scrape-secret-4"}]:
                    status, h, body = server.request("GET", "/metrics", headers=headers)
                    self.assertEqual(status, 401, headers)
                    self.assertEqual(h["www-authenticate"], "Bearer")
                    self.assertIn("metrics.token", body["detail"])
                    self.assertEqual(h["x-content-type-options"], "nosniff")
                status, _, text = server.request("GET", "/metrics",
                                                 headers={"Authorization": "Bearer scrape-secret-42"})
                self.assertEqual(status, 200)
                self.assertRegex(text, r"(?m)^parley_metrics_scrapes_refused_total 4$")
                self.assertEqual(server.request("GET", "/api/live")[0], 200)  # the rest stays open
            finally:
                server.kill()
                server.cleanup()


class ShutdownTest(unittest.TestCase):
    def test_sigterm_finishes_in_flight_request_closes_idle_and_exits_zero(self):
        server = Server().start()
        try:
            idle = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            busy = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            body = b'{"username":"nobody","password":"whatever-password"}'
            # The head arrives before SIGTERM; the body after it.
            busy.sendall(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
            time.sleep(0.3)
            server.proc.send_signal(15)
            time.sleep(0.3)
            # The idle keep-alive connection is closed by the drain.
            self.assertEqual(idle.recv(100), b"")
            busy.sendall(body)
            reply = b""
            while True:
                chunk = busy.recv(65536)
                if not chunk:
                    break
                reply += chunk
            self.assertTrue(reply.startswith(b"HTTP/1.1 401"), reply[:200])
            self.assertIn(b"Connection: close", reply)
            self.assertEqual(server.proc.wait(20), 0)
            self.assertTrue(server.log_events("shutdown_complete")[0]["clean"])
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", server.port), timeout=1).recv(1)
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
