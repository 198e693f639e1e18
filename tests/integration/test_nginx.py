"""deploy/nginx/parley.conf, run by a real nginx in front of a real parley.

The shipped file is used as is, with only its addresses rewritten: the
listeners move to free loopback ports, the upstream list to the test server,
the certificate to a throwaway self-signed one. Checks: `nginx -t` accepts it,
plain HTTP redirects to HTTPS, REST and WebSocket work through TLS, and
parley believes X-Forwarded-For from the trusted proxy only.
"""

import http.client
import ssl
import time
import unittest

from harness import ServerTest, WsClient
from nginx_proxy import NginxProxy


class NginxTest(ServerTest):
    SETTINGS = {"server.trusted_proxies": "127.0.0.1"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.proxy = NginxProxy([cls.server.port]).start()
        cls.nginx = cls.proxy.proc
        cls.http_port, cls.https_port = cls.proxy.http_port, cls.proxy.https_port

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        super().tearDownClass()

    def https(self, method, path, body=None, headers=None, source=None):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", self.https_port, context=ctx, timeout=10,
                                           source_address=(source, 0) if source else None)
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data

    def test_nginx_accepts_the_shipped_config(self):
        self.assertIsNone(self.nginx.poll(), "nginx exited")

    def test_metrics_are_not_served_to_the_public(self):
        status, _, _ = self.https("GET", "/metrics")
        self.assertEqual(status, 404)
        status, _, _ = self.https("GET", "/metrics?x=1")
        self.assertEqual(status, 404)
        self.assertEqual(self.server.request("GET", "/metrics")[0], 200)  # the node itself still answers

    def test_plain_http_redirects_to_https(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10)
        conn.request("GET", "/api/health")
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 308)
        self.assertTrue(r.getheader("Location").startswith("https://"))

    def test_rest_through_tls_gets_parleys_security_headers(self):
        status, headers, body = self.https("GET", "/api/health")
        self.assertEqual(status, 200, body)
        self.assertIn("x-content-type-options", headers)
        self.assertIn("max-age", headers.get("strict-transport-security", ""))
        self.assertNotIn("nginx/", headers.get("server", ""))

    def test_the_client_address_is_the_one_nginx_saw_not_a_spoofed_one(self):
        # The client connects from 127.0.0.2 (not a trusted proxy) and claims
        # to be 203.0.113.9; nginx appends what it saw, parley (trusting only
        # 127.0.0.1, nginx's upstream side) walks back to the first untrusted
        # hop: 127.0.0.2. /api/live is used by this test only.
        status, _, _ = self.https("GET", "/api/live", headers={"X-Forwarded-For": "203.0.113.9"},
                                  source="127.0.0.2")
        self.assertEqual(status, 200)
        deadline = time.time() + 5
        entries = []
        while time.time() < deadline and not entries:
            entries = [e for e in self.server.log_events("http_request") if e.get("path") == "/api/live"]
            time.sleep(0.05)
        self.assertTrue(entries, "no access-log line for /api/live")
        self.assertEqual(entries[-1]["client"], "127.0.0.2")

    def test_websocket_through_tls(self):
        user = self.server.register("nginx_ws")
        c = WsClient(self.https_port, tls=True)
        self.assertEqual(c.status, 101, c.handshake)
        reply = c.request("auth", token=user["access_token"])
        self.assertTrue(reply["ok"], reply)
        self.assertTrue(c.request("ping")["ok"])
        c.close()


if __name__ == "__main__":
    unittest.main()
