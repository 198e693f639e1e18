"""Cross-site WebSocket hijacking from a real browser (issue 6): a page served
on another port, opened in headless Chromium, tries to open a WebSocket to
Parley. The browser sets Origin itself, so this is what an attacker's page can
do: refused (403) unless cors.allowed_origins lists the page's origin, in which
case the same page connects (the control that shows the page works).

Needs Chromium (scripts/install-deps.sh installs the Debian package); skipped
without it."""

import http.server
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import unittest
import urllib.parse

from harness import Server, die_with_parent

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

PAGE = """<!doctype html><title>not parley</title><script>
// Reports the first outcome only: after "open", our own close() must not race it.
let reported = false;
function report(r) { if (!reported) { reported = true; fetch("/report?r=" + encodeURIComponent(r)); } }
const ws = new WebSocket("ws://127.0.0.1:%d/ws", "parley.v1");
ws.onopen = () => { report("open"); ws.close(); };
ws.onclose = (e) => report("closed " + e.code);
</script>"""


class PageServer:
    """Serves PAGE on 127.0.0.1 and collects what the page reports."""

    def __init__(self):
        self.target_port = 0
        self.reports = []
        self.reported = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.startswith("/report"):
                    query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                    outer.reports.append(query.get("r", [""])[0])
                    outer.reported.set()
                    body = b"ok"
                    kind = "text/plain"
                else:
                    body = (PAGE % outer.target_port).encode()
                    kind = "text/html"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@unittest.skipUnless(CHROMIUM, "Chromium is not installed (scripts/install-deps.sh installs it)")
class BrowserOriginTest(unittest.TestCase):
    def visit(self, settings):
        page = PageServer()
        server = Server({**settings(page.origin), "log.access_log": "true"}).start()
        profile = tempfile.mkdtemp(prefix="parley-chromium-")
        browser = None
        try:
            page.target_port = server.port
            browser = subprocess.Popen(
                [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                 f"--user-data-dir={profile}", f"{page.origin}/"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=die_with_parent)
            self.assertTrue(page.reported.wait(60), "the page never reported")
            _, _, metrics = server.request("GET", "/metrics")
            m = re.search(r"^parley_ws_handshakes_refused_total (\S+)", metrics, re.M)
            return page.reports[0], float(m.group(1)) if m else 0
        finally:
            if browser is not None:
                try:
                    os.killpg(browser.pid, signal.SIGKILL)  # the browser and its helpers
                except ProcessLookupError:
                    pass
                browser.wait()
            shutil.rmtree(profile, ignore_errors=True)
            page.close()
            server.stop()
            server.cleanup()

    def test_a_page_on_another_port_cannot_open_a_websocket(self):
        report, refused = self.visit(lambda origin: {"cors.allowed_origins": "https://app.example.com"})
        self.assertEqual(report, "closed 1006")  # the browser's view of a refused handshake
        self.assertGreaterEqual(refused, 1)

    def test_the_same_page_connects_when_its_origin_is_allowed(self):
        report, refused = self.visit(lambda origin: {"cors.allowed_origins": origin})
        self.assertEqual(report, "open")
        self.assertEqual(refused, 0)


if __name__ == "__main__":
    unittest.main()
