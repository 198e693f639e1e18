"""The web app served by the binary: embedded files, caching, compression,
ETags, the CSP, history-mode fallback, and no way out of the asset table."""

import gzip
import http.client
import os
import re
import shutil
import tempfile
import unittest

from harness import Server, ServerTest


def get(port, path, method="GET", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


class EmbeddedAppTest(ServerTest):
    def get(self, path, **kw):
        return get(self.server.port, path, **kw)

    def index(self):
        status, headers, body = self.get("/")
        self.assertEqual(status, 200)
        return headers, body.decode()

    def asset_paths(self):
        _, html = self.index()
        return re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)

    def test_index_is_the_app_with_no_cache_an_etag_and_a_strict_csp(self):
        headers, html = self.index()
        self.assertIn('<div id="app">', html)
        self.assertTrue(headers["content-type"].startswith("text/html"))
        self.assertEqual(headers["cache-control"], "no-cache")
        self.assertRegex(headers["etag"], r'^"[0-9a-f]{20}"$')
        csp = headers["content-security-policy"]
        for part in ("default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'",
                     f"ws://127.0.0.1:{self.server.port}"):
            self.assertIn(part, csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertNotRegex(html, r"<script(?![^>]*\bsrc=)", "no inline scripts")
        self.assertEqual(headers["x-content-type-options"], "nosniff")

    def test_hashed_assets_are_immutable_for_a_year(self):
        paths = self.asset_paths()
        self.assertTrue(any(p.endswith(".js") for p in paths), paths)
        for p in paths:
            status, headers, _ = self.get(p)
            self.assertEqual(status, 200, p)
            self.assertEqual(headers["cache-control"], "public, max-age=31536000, immutable")
            self.assertEqual(headers["content-security-policy"], "default-src 'none'; frame-ancestors 'none'")

    def test_compression_follows_accept_encoding(self):
        js = next(p for p in self.asset_paths() if p.endswith(".js"))
        _, plain_h, plain = self.get(js)
        self.assertNotIn("content-encoding", plain_h)
        _, gz_h, gz = self.get(js, headers={"Accept-Encoding": "gzip"})
        self.assertEqual(gz_h["content-encoding"], "gzip")
        self.assertEqual(gzip.decompress(gz), plain)
        self.assertLess(len(gz), len(plain) / 2)
        _, br_h, br = self.get(js, headers={"Accept-Encoding": "gzip, deflate, br"})
        self.assertEqual(br_h["content-encoding"], "br")
        self.assertLess(len(br), len(gz))
        self.assertIn("Accept-Encoding", br_h["vary"])
        _, q0_h, _ = self.get(js, headers={"Accept-Encoding": "br;q=0, gzip"})
        self.assertEqual(q0_h["content-encoding"], "gzip")
        self.assertEqual(len({plain_h["etag"], gz_h["etag"], br_h["etag"]}), 3, "one ETag per encoding")

    def test_etag_revalidation_answers_304(self):
        headers, _ = self.index()
        status, h304, body = self.get("/", headers={"If-None-Match": headers["etag"]})
        self.assertEqual((status, body), (304, b""))
        self.assertEqual(h304["etag"], headers["etag"])
        status, _, _ = self.get("/", headers={"If-None-Match": 'W/' + headers["etag"]})
        self.assertEqual(status, 304)
        status, _, _ = self.get("/", headers={"If-None-Match": '"something-else"'})
        self.assertEqual(status, 200)

    def test_app_routes_fall_back_to_index_html(self):
        _, html = self.index()
        for path in ("/c/123456", "/account", "/admin"):
            status, headers, body = self.get(path)
            self.assertEqual(status, 200, path)
            self.assertEqual(body.decode(), html)

    def test_head_has_the_headers_and_length_without_a_body(self):
        _, get_h, html = self.get("/")
        status, headers, body = self.get("/", method="HEAD")
        self.assertEqual((status, body), (200, b""))
        self.assertEqual(headers["etag"], get_h["etag"])
        self.assertEqual(int(headers["content-length"]), len(html))

    def test_missing_and_traversal_paths_are_404(self):
        for path in ("/assets/missing-0000.js", "/nope.js", "/..%2f..%2fetc%2fpasswd", "/%2e%2e/%2e%2e/etc/passwd",
                     "/..%252f..%252fetc%252fpasswd", "/assets/..%2findex.html", "/.env", "/index.html%00.js",
                     "/assets/../../etc/passwd"):
            status, headers, body = self.get(path)
            self.assertEqual(status, 404, path)
            self.assertNotIn(b"root:", body)
            self.assertTrue(headers["content-type"].startswith("application/problem+json"), path)

    def test_the_api_keeps_its_own_headers(self):
        status, headers, _ = self.get("/api/health")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-security-policy"], "default-src 'none'; frame-ancestors 'none'")
        self.assertEqual(headers["cache-control"], "no-store")
        status, headers, _ = self.get("/api/no-such-route")
        self.assertEqual(status, 404)
        self.assertTrue(headers["content-type"].startswith("application/problem+json"))

    def test_service_worker_and_manifest_are_served(self):
        status, headers, body = self.get("/sw.js")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/javascript"))
        self.assertEqual(headers["cache-control"], "no-cache")
        # A worker runs under its own script's policy: the app's, so it may fetch the shell.
        self.assertIn("connect-src 'self'", headers["content-security-policy"])
        status, headers, _ = self.get("/manifest.webmanifest")
        self.assertEqual((status, headers["content-type"]), (200, "application/manifest+json"))


class WebSettingsTest(unittest.TestCase):
    def test_web_enabled_false_serves_no_app(self):
        server = Server({"web.enabled": "false"}).start()
        try:
            self.assertEqual(get(server.port, "/")[0], 404)
            self.assertEqual(get(server.port, "/api/live")[0], 200)
        finally:
            server.stop()
            server.cleanup()

    def test_web_dir_serves_a_custom_build(self):
        root = tempfile.mkdtemp(prefix="parley-webdir-")
        try:
            os.makedirs(os.path.join(root, "assets"))
            with open(os.path.join(root, "index.html"), "w") as f:
                f.write("<!doctype html><title>custom</title>" + "x" * 1000)
            with open(os.path.join(root, "assets", "app-1234.js"), "w") as f:
                f.write("console.log(1);" * 100)
            server = Server({"web.dir": root}).start()
            try:
                status, headers, body = get(server.port, "/", headers={"Accept-Encoding": "gzip"})
                self.assertEqual(status, 200)
                self.assertIn(b"custom", gzip.decompress(body))
                status, headers, _ = get(server.port, "/assets/app-1234.js")
                self.assertEqual(headers["cache-control"], "public, max-age=31536000, immutable")
                # Files added after start are not served: the directory is read once.
                with open(os.path.join(root, "late.txt"), "w") as f:
                    f.write("late")
                self.assertEqual(get(server.port, "/late.txt")[0], 404)
            finally:
                server.stop()
                server.cleanup()
        finally:
            shutil.rmtree(root)

    def test_a_web_dir_without_index_html_is_refused_at_start(self):
        root = tempfile.mkdtemp(prefix="parley-webdir-")
        try:
            server = Server({"web.dir": root})
            with self.assertRaises(RuntimeError) as ctx:
                server.start(timeout=10)
            self.assertIn("web.dir", str(ctx.exception))
            server.cleanup()
        finally:
            shutil.rmtree(root)


if __name__ == "__main__":
    unittest.main()
