"""database.startup_wait_ms: `parley serve` started before its PostgreSQL (a
compose stack whose nodes come up first) waits for it instead of exiting; it
gives up after the configured time, and stops at once on SIGTERM meanwhile."""

import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
from urllib.parse import urlsplit, urlunsplit

from harness import (BIN, POSTGRES_URL, Server, create_postgres_database, die_with_parent,
                     drop_postgres_database, postgres_url_for)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_port(url, port):
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    netloc = f"{netloc[0]}@{host}" if len(netloc) == 2 else host
    return urlunsplit(parts._replace(netloc=netloc))


class Forwarder:
    """Listens on `port` (once started) and forwards each connection to `target`."""

    def __init__(self, port, target):
        self.port, self.target = port, target
        self.listener = None
        self.stopping = False

    def start(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self):
        self.stopping = True
        if self.listener:
            self.listener.close()


def serve(data_dir, url, wait_ms):
    return subprocess.Popen(
        [BIN, "serve", "--port", "0", "--data-dir", data_dir, "--set", f"database.url={url}",
         "--set", f"database.startup_wait_ms={wait_ms}", "--set", "database.connect_timeout_ms=500"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=die_with_parent,
        env={k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")})


@unittest.skipUnless(POSTGRES_URL, "no PostgreSQL (PARLEY_TEST_POSTGRES_URL)")
class StartupWaitTest(unittest.TestCase):
    def setUp(self):
        self.database = create_postgres_database()
        self.port = free_port()
        self.url = with_port(postgres_url_for(self.database), self.port)
        self.dir = tempfile.mkdtemp(prefix="parley-startup-")

    def tearDown(self):
        drop_postgres_database(self.database)

    def test_waits_for_a_database_that_comes_up_later(self):
        target = urlsplit(POSTGRES_URL)
        forwarder = Forwarder(self.port, (target.hostname, target.port or 5432))
        server = Server({"database.url": self.url, "database.startup_wait_ms": "30000",
                         "database.connect_timeout_ms": "500"})
        threading.Timer(2.0, forwarder.start).start()
        try:
            started = time.monotonic()
            server.start(timeout=30)
            self.assertGreater(time.monotonic() - started, 1.5)
            waits = server.log_events("store_waiting")
            self.assertGreaterEqual(len(waits), 1, "no store_waiting logged")
            self.assertIn("error", waits[0])
            self.assertIn("access_token", server.register("late"))
        finally:
            server.stop()
            server.cleanup()
            forwarder.stop()

    def test_gives_up_after_the_wait(self):
        started = time.monotonic()
        proc = serve(self.dir, self.url, 1500)
        out, _ = proc.communicate(timeout=30)
        self.assertNotEqual(proc.returncode, 0, out)
        self.assertIn("database is unavailable", out)
        self.assertIn('"event":"store_waiting"', out)
        self.assertLess(time.monotonic() - started, 15)

    def test_no_wait_exits_at_once(self):
        proc = serve(self.dir, self.url, 0)
        out, _ = proc.communicate(timeout=30)
        self.assertNotEqual(proc.returncode, 0, out)
        self.assertNotIn('"event":"store_waiting"', out)

    def test_sigterm_while_waiting_stops_cleanly(self):
        proc = serve(self.dir, self.url, 60000)
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if '"event":"store_waiting"' in line:
                break
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
        self.assertEqual(proc.returncode, 0, "".join(lines) + out)
        self.assertLess(time.monotonic() - started, 3)
        self.assertIn("shutdown_before_start", out)


if __name__ == "__main__":
    unittest.main()
