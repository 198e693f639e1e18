"""`parley healthcheck`: what a container's HEALTHCHECK runs (the image has no curl)."""

import os
import signal
import socket
import subprocess
import threading
import time
import unittest

from harness import BIN, Server


def healthcheck(*args, env=None):
    out = subprocess.run([BIN, "healthcheck", *args], capture_output=True, text=True, timeout=30,
                         env={**os.environ, **(env or {})})
    return out.returncode, out.stdout.strip()


class HealthcheckTest(unittest.TestCase):
    def test_healthy_server_answers_zero(self):
        server = Server().start()
        try:
            code, out = healthcheck("--port", str(server.port))
            self.assertEqual(code, 0, out)
            self.assertIn("healthy: /api/ready HTTP/1.1 200", out)
            # The port comes from the configuration too (as in a container's environment).
            code, _ = healthcheck(env={"PARLEY_SERVER_PORT": str(server.port)})
            self.assertEqual(code, 0)
            # Listening on every address: probed on loopback.
            code, _ = healthcheck("--host", "0.0.0.0", "--port", str(server.port))
            self.assertEqual(code, 0)
            # Another status is unhealthy, and says which.
            code, out = healthcheck("--port", str(server.port), "--path", "/api/nothing")
            self.assertEqual(code, 1)
            self.assertIn("404", out)
        finally:
            server.stop()
            server.cleanup()

    def test_nothing_listening_is_unhealthy(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        code, out = healthcheck("--port", str(port))
        self.assertEqual(code, 1)
        self.assertIn("refused", out)

    def test_a_server_that_never_answers_times_out(self):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts the connection, never answers
        try:
            started = time.monotonic()
            code, out = healthcheck("--port", str(listener.getsockname()[1]), "--timeout-ms", "500")
            elapsed = time.monotonic() - started
            self.assertEqual(code, 1)
            self.assertIn("timed out", out)
            self.assertLess(elapsed, 5)
        finally:
            listener.close()

    def test_a_draining_server_is_unhealthy(self):
        server = Server({"server.shutdown_timeout_ms": "3000"}).start()
        try:
            # Hold a request open so the drain takes a while, then ask.
            busy = socket.create_connection(("127.0.0.1", server.port))
            busy.sendall(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100\r\n\r\n")
            time.sleep(0.2)
            server.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            code, out = healthcheck("--port", str(server.port), "--timeout-ms", "1000")
            self.assertEqual(code, 1, out)
            busy.close()
        finally:
            server.stop()
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
