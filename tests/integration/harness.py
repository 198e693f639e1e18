"""Starts the real `parley` binary on port 0 in a temporary data directory and
talks to it over loopback HTTP. Standard library only.

PARLEY_BIN names the binary (CTest sets it)."""

import base64
import hashlib
import hmac
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

BIN = os.environ.get("PARLEY_BIN", os.path.join(os.path.dirname(__file__), "../../build/dev/parley"))
DEV_SECRET = "parley-development-secret-change-me-0123456789"
PASSWORD = "correct horse battery"


class Server:
    """One parley process. settings: dict of config key -> value (passed as --set)."""

    def __init__(self, settings=None, data_dir=None):
        self.settings = dict(settings or {})
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="parley-it-")
        self.proc = None
        self.port = None
        self.lines = []
        self._lock = threading.Lock()
        self._listening = threading.Event()

    def start(self, timeout=30):
        args = [BIN, "serve", "--port", "0", "--data-dir", self.data_dir]
        defaults = {"log.level": "info", "server.shutdown_timeout_ms": "5000"}
        for k, v in {**defaults, **self.settings}.items():
            args += ["--set", f"{k}={v}"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_") or k == "PARLEY_BIN"}
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, cwd=self.data_dir, text=True, errors="replace")
        threading.Thread(target=self._pump, args=(self.proc.stdout,), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr,), daemon=True).start()
        if not self._listening.wait(timeout):
            self.kill()
            raise RuntimeError("parley did not start:\n" + "\n".join(self.lines[-30:]))
        return self

    def _pump(self, stream):
        for line in stream:
            line = line.rstrip("\n")
            with self._lock:
                self.lines.append(line)
            if '"event":"listening"' in line:
                self.port = json.loads(line)["port"]
                self._listening.set()

    def log_events(self, event):
        with self._lock:
            out = []
            for line in self.lines:
                if line.startswith("{") and f'"event":"{event}"' in line:
                    out.append(json.loads(line))
            return out

    def stop(self, timeout=20):
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cleanup(self):
        self.kill()
        if self.own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # HTTP ------------------------------------------------------------------

    def request(self, method, path, body=None, token=None, headers=None, raw=None, timeout=30):
        """Returns (status, headers dict with lower-case names, parsed JSON or text)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            hdrs = dict(headers or {})
            data = None
            if raw is not None:
                data = raw if isinstance(raw, bytes) else raw.encode()
            elif body is not None:
                data = json.dumps(body).encode()
                hdrs.setdefault("Content-Type", "application/json")
            if token:
                hdrs["Authorization"] = "Bearer " + token
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            payload = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, decode(resp, payload)
        finally:
            conn.close()

    def raw(self, data, timeout=5, read_until_close=True):
        """Sends raw bytes on a fresh socket; returns everything read until close/timeout."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        try:
            s.sendall(data)
            chunks = []
            while True:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
                if not read_until_close:
                    break
            return b"".join(chunks)
        finally:
            s.close()

    # Accounts ----------------------------------------------------------------

    def register(self, username, password=PASSWORD, **extra):
        status, _, body = self.request("POST", "/api/auth/register",
                                       {"username": username, "password": password, **extra})
        if status != 201:
            raise AssertionError(f"register {username}: {status} {body}")
        return body

    def login(self, username, password=PASSWORD):
        return self.request("POST", "/api/auth/login", {"username": username, "password": password})


def decode(resp, payload):
    ctype = resp.getheader("Content-Type", "")
    if "json" in ctype and payload:
        return json.loads(payload)
    return payload.decode(errors="replace")


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge_jwt(header, payload, key=DEV_SECRET, alg=hashlib.sha256):
    signing_input = b64url(json.dumps(header)) + "." + b64url(json.dumps(payload))
    sig = hmac.new(key.encode(), signing_input.encode(), alg).digest()
    return signing_input + "." + b64url(sig)


def claims(sub, **over):
    now = int(time.time())
    base = {"iss": "parley", "aud": "parley-api", "sub": str(sub), "role": "user",
            "iat": now, "nbf": now, "exp": now + 900, "jti": "forged"}
    base.update(over)
    return base


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


class ServerTest(unittest.TestCase):
    """A server per test class; settings in the class attribute SETTINGS."""

    SETTINGS = {}

    @classmethod
    def setUpClass(cls):
        cls.server = Server(cls.SETTINGS).start()

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        cls.server.cleanup()
        if code != 0:
            raise AssertionError(f"parley exited with {code} after SIGTERM")

    def assertProblem(self, response, status, detail_contains=None):
        code, headers, body = response
        self.assertEqual(code, status, body)
        self.assertTrue(headers.get("content-type", "").startswith("application/problem+json"), headers)
        self.assertEqual(body["status"], status)
        self.assertTrue(body["type"].startswith("urn:parley:problem:"))
        self.assertEqual(body["request_id"], headers["x-request-id"])
        for k, v in SECURITY_HEADERS.items():
            self.assertEqual(headers.get(k), v, f"{k} missing on a {status}")
        if detail_contains:
            self.assertIn(detail_contains, body["detail"])
        return body
