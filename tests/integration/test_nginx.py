"""deploy/nginx/parley.conf, run by a real nginx in front of a real parley.

The shipped file is used as is, with only its addresses rewritten: the
listeners move to free loopback ports, the upstream list to the test server,
the certificate to a throwaway self-signed one. Checks: `nginx -t` accepts it,
plain HTTP redirects to HTTPS, REST and WebSocket work through TLS, and
parley believes X-Forwarded-For from the trusted proxy only.
"""

import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from harness import ServerTest, WsClient

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NginxTest(ServerTest):
    SETTINGS = {"server.trusted_proxies": "127.0.0.1"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dir = tempfile.mkdtemp(prefix="parley-nginx-")
        cls.http_port, cls.https_port = free_port(), free_port()
        cert, key = os.path.join(cls.dir, "cert.pem"), os.path.join(cls.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
        with open(os.path.join(ROOT, "deploy", "nginx", "parley.conf")) as f:
            site = f.read()
        site, n = re.subn(r"server 127\.0\.0\.1:808\d[^;]*;\n", "", site)
        assert n == 3, "the upstream list changed: update this test"
        site = site.replace("least_conn;", f"least_conn;\n    server 127.0.0.1:{cls.server.port};", 1)
        site = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", site)
        site = site.replace("listen 80;", f"listen 127.0.0.1:{cls.http_port};")
        site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{cls.https_port} ssl http2;")
        site = site.replace("/etc/ssl/parley/fullchain.pem", cert).replace("/etc/ssl/parley/privkey.pem", key)
        with open(os.path.join(cls.dir, "parley.conf"), "w") as f:
            f.write(site)
        with open(os.path.join(cls.dir, "nginx.conf"), "w") as f:
            f.write(f"""daemon off;
master_process off;
pid {cls.dir}/nginx.pid;
error_log {cls.dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {cls.dir}/body;
    proxy_temp_path {cls.dir}/proxy;
    fastcgi_temp_path {cls.dir}/fastcgi;
    uwsgi_temp_path {cls.dir}/uwsgi;
    scgi_temp_path {cls.dir}/scgi;
    include {cls.dir}/parley.conf;
}}
""")
        conf = os.path.join(cls.dir, "nginx.conf")
        check = subprocess.run([NGINX, "-p", cls.dir, "-c", conf, "-t"], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        cls.nginx = subprocess.Popen([NGINX, "-p", cls.dir, "-c", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", cls.https_port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        cls.nginx.terminate()
        try:
            cls.nginx.wait(10)
        except subprocess.TimeoutExpired:
            cls.nginx.kill()
            cls.nginx.wait()
        shutil.rmtree(cls.dir, ignore_errors=True)
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
