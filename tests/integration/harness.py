"""Starts the real `parley` binary on port 0 in a temporary data directory and
talks to it over loopback HTTP. Standard library only.

PARLEY_BIN names the binary (CTest sets it). With PARLEY_TEST_DATABASE=postgres
each server gets a fresh database in the PostgreSQL server named by
PARLEY_TEST_POSTGRES_URL (scripts/services.sh) instead of a SQLite file."""

import base64
import hashlib
import hmac
import http.client
import json
import os
import shutil
import signal
import socket
import ssl as _ssl
import subprocess
import tempfile
import threading
import time
import unittest

BIN = os.environ.get("PARLEY_BIN", os.path.join(os.path.dirname(__file__), "../../build/dev/parley"))
DEV_SECRET = "parley-development-secret-change-me-0123456789"
PASSWORD = "correct horse battery"


def die_with_parent():
    """In a child before exec: SIGKILL it when the test process dies, so a test
    killed from outside (a timeout) leaves no server behind."""
    import ctypes
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


POSTGRES_URL = os.environ.get("PARLEY_TEST_POSTGRES_URL", "")
DATABASE = os.environ.get("PARLEY_TEST_DATABASE", "sqlite")


def psql(sql, url=None):
    """Runs one SQL command with psql; returns its unaligned output."""
    out = subprocess.run(["psql", url or POSTGRES_URL, "-v", "ON_ERROR_STOP=1", "-qtAc", sql],
                         check=True, capture_output=True, text=True, timeout=60)
    return out.stdout.strip()


def postgres_url_for(database):
    """PARLEY_TEST_POSTGRES_URL with its database name replaced."""
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + database


def create_postgres_database():
    name = "it_" + os.urandom(6).hex()
    psql(f"CREATE DATABASE {name}")
    return name


def drop_postgres_database(name):
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Server:
    """One parley process. settings: dict of config key -> value (passed as --set)."""

    def __init__(self, settings=None, data_dir=None, port=0, env=None):
        self.settings = dict(settings or {})
        self.wanted_port = port  # 0: any free port
        self.extra_env = dict(env or {})  # e.g. libfaketime's LD_PRELOAD and FAKETIME
        self.host = "127.0.0.1"  # where the server is reached (a container's address elsewhere)
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="parley-it-")
        self.proc = None
        self.port = None
        self.lines = []
        self._lock = threading.Lock()
        self._listening = threading.Event()

    def _postgres_database(self):
        """The database this data directory uses (created on first start)."""
        marker = os.path.join(self.data_dir, "postgres-database")
        if not os.path.exists(marker):
            with open(marker, "w") as f:
                f.write(create_postgres_database())
        with open(marker) as f:
            return f.read().strip()

    def start(self, timeout=30):
        args = [BIN, "serve", "--port", str(self.wanted_port), "--data-dir", self.data_dir]
        defaults = {"log.level": "info", "server.shutdown_timeout_ms": "5000"}
        if DATABASE == "postgres" and "database.url" not in self.settings:
            if not POSTGRES_URL and not os.environ.get("PARLEY_REQUIRE_POSTGRES"):
                raise unittest.SkipTest("no PostgreSQL (PARLEY_TEST_POSTGRES_URL)")
            defaults["database.url"] = postgres_url_for(self._postgres_database())
        for k, v in {**defaults, **self.settings}.items():
            args += ["--set", f"{k}={v}"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_") or k == "PARLEY_BIN"}
        env.update(self.extra_env)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, cwd=self.data_dir, text=True, errors="replace",
                                     preexec_fn=die_with_parent)
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
            marker = os.path.join(self.data_dir, "postgres-database")
            if os.path.exists(marker):
                with open(marker) as f:
                    drop_postgres_database(f.read().strip())
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # HTTP ------------------------------------------------------------------

    def request(self, method, path, body=None, token=None, headers=None, raw=None, timeout=30):
        """Returns (status, headers dict with lower-case names, parsed JSON or text)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
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


def forged_tokens(uid):
    """Access tokens for user uid that must all be refused, by name."""
    good = forge_jwt({"alg": "HS256", "typ": "JWT", "kid": "k1"}, claims(uid))
    now = int(time.time())
    return {
        "alg none": b64url(json.dumps({"alg": "none", "kid": "k1"})) + "." + b64url(json.dumps(claims(uid))) + ".",
        "wrong key": forge_jwt({"alg": "HS256", "kid": "k1"}, claims(uid), key="x" * 40),
        "unknown kid": forge_jwt({"alg": "HS256", "kid": "k9"}, claims(uid)),
        "HS512": forge_jwt({"alg": "HS512", "kid": "k1"}, claims(uid), alg=hashlib.sha512),
        "expired": forge_jwt({"alg": "HS256", "kid": "k1"}, claims(uid, iat=now - 2000, nbf=now - 2000, exp=now - 1000)),
        "future nbf": forge_jwt({"alg": "HS256", "kid": "k1"}, claims(uid, nbf=now + 600)),
        "wrong aud": forge_jwt({"alg": "HS256", "kid": "k1"}, claims(uid, aud="other")),
        "wrong iss": forge_jwt({"alg": "HS256", "kid": "k1"}, claims(uid, iss="evil")),
        "empty signature": good.rsplit(".", 1)[0] + ".",
        "tampered": good.split(".")[0] + "." + b64url(json.dumps(claims(uid, role="admin"))) + "." + good.split(".")[2],
        "over the token size cap": "a" * 8000,
        "garbage": "not.a.jwt",
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


# WebSocket (RFC 6455 client side, just enough for tests) -------------------

import os as _os
import struct as _struct


class WsClosed(Exception):
    def __init__(self, code, reason):
        super().__init__(f"closed {code} {reason}")
        self.code = code
        self.reason = reason


class WsClient:
    """A blocking protocol v1 client. Raises WsClosed when the server closes."""

    def __init__(self, port, path="/ws", origin=None, protocol="parley.v1", timeout=10, headers=None,
                 rcvbuf=None, deflate=False, tls=False, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        if tls:  # through a TLS proxy (tests/integration/test_nginx.py); self-signed
            ctx = _ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = _ssl.CERT_NONE
            self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
        key = base64.b64encode(_os.urandom(16)).decode()
        fields = {"Host": f"{host}:{port}", "Upgrade": "websocket", "Connection": "Upgrade",
                  "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13"}
        if protocol:
            fields["Sec-WebSocket-Protocol"] = protocol
        if origin:
            fields["Origin"] = origin
        if deflate:
            fields["Sec-WebSocket-Extensions"] = "permessage-deflate; client_max_window_bits"
        fields.update(headers or {})
        lines = [f"GET {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in fields.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during handshake: " + head.decode(errors="replace"))
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        self.status = int(head.split(b" ")[1])
        self.handshake = head.decode(errors="replace")
        self.next_id = 0
        self.events = []
        self.deflate = "permessage-deflate" in head.decode(errors="replace").lower().split("sec-websocket-extensions:")[-1] \
            if b"Sec-WebSocket-Extensions" in head else False
        self.compressed_received = 0
        if self.status == 101:
            expected = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
            assert f"Sec-WebSocket-Accept: {expected}" in self.handshake, self.handshake

    def send_frame(self, opcode, payload, fin=True, mask=True, rsv=0):
        if isinstance(payload, str):
            payload = payload.encode()
        b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
        n = len(payload)
        if n < 126:
            header = _struct.pack("!BB", b0, (0x80 if mask else 0) | n)
        elif n < 65536:
            header = _struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
        else:
            header = _struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
        if mask:
            key = _os.urandom(4)
            mask_bytes = (key * (n // 4 + 1))[:n]  # XOR as big integers: fast for large payloads
            payload = (int.from_bytes(payload, "big") ^ int.from_bytes(mask_bytes, "big")).to_bytes(n, "big")
            header += key
        self.sock.sendall(header + payload)

    def _recv_exact(self, n):
        while len(self.buf) < n:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""  # a reset is an abnormal close (1006), as browsers report it
            if not chunk:
                raise WsClosed(1006, "connection dropped")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send_compressed(self, payload, rsv=4):
        """A permessage-deflate message (RSV1), as RFC 7692 frames it."""
        import zlib
        if isinstance(payload, str):
            payload = payload.encode()
        c = zlib.compressobj(wbits=-15)
        data = c.compress(payload) + c.flush(zlib.Z_SYNC_FLUSH)
        assert data.endswith(b"\x00\x00\xff\xff")
        self.send_frame(0x1, data[:-4], rsv=rsv)

    def recv_frame(self):
        b0, b1 = self._recv_exact(2)
        self.last_rsv = (b0 >> 4) & 7
        n = b1 & 0x7F
        if n == 126:
            n = _struct.unpack("!H", self._recv_exact(2))[0]
        elif n == 127:
            n = _struct.unpack("!Q", self._recv_exact(8))[0]
        assert not (b1 & 0x80), "server frames must not be masked"
        return b0 & 0x0F, b0 & 0x80, self._recv_exact(n)

    def recv(self):
        """The next JSON object from the server (answers pings, raises WsClosed on close)."""
        while True:
            opcode, fin, payload = self.recv_frame()
            if opcode == 0x9:
                self.send_frame(0xA, payload)
                continue
            if opcode == 0xA:
                continue
            if opcode == 0x8:
                code = _struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                try:
                    self.send_frame(0x8, payload[:2])
                except OSError:
                    pass
                raise WsClosed(code, payload[2:].decode(errors="replace"))
            if self.last_rsv & 4:
                import zlib
                assert self.deflate, "compressed frame without negotiation"
                payload = zlib.decompressobj(wbits=-15).decompress(payload + b"\x00\x00\xff\xff")
                self.compressed_received += 1
            return json.loads(payload)

    def request(self, op, **fields):
        """Sends op and returns its reply; events received meanwhile go to self.events."""
        self.next_id += 1
        rid = str(self.next_id)
        self.send_frame(0x1, json.dumps({"id": rid, "op": op, **fields}))
        while True:
            msg = self.recv()
            if msg.get("id") == rid:
                return msg
            self.events.append(msg)

    def event(self, type_=None):
        """The next event (of that type if given), from the backlog first."""
        while True:
            for i, e in enumerate(self.events):
                if "type" in e and (type_ is None or e["type"] == type_):
                    return self.events.pop(i)
            msg = self.recv()
            if "type" in msg:
                self.events.append(msg)

    def expect_close(self):
        try:
            while True:
                self.recv()
        except WsClosed as e:
            return e.code

    def __del__(self):
        try:
            self.sock.close()
        except Exception:
            pass

    def close(self):
        try:
            self.send_frame(0x8, _struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()


class ResilientClient:
    """One user's connection to one conversation that outlives its server (or,
    through nginx, its node): on a lost connection it reconnects,
    authenticates, resubscribes with since = the last seq it saw, and sends an
    unacknowledged message again with the same client_id. Records every
    message.new seq and any gap or duplicate."""

    RETRYABLE = (OSError, WsClosed, ConnectionError, ValueError, AssertionError)

    def __init__(self, port, token, conv, tls=False):
        self.port, self.token, self.conv, self.tls = port, token, conv, tls
        self.seqs, self.errors, self.reconnects = [], [], 0
        self.c = None
        self.connect()

    def connect(self, deadline_s=60):
        deadline = time.time() + deadline_s
        while True:
            try:
                c = WsClient(self.port, tls=self.tls, timeout=10)
                if c.status != 101:
                    raise ConnectionError(f"handshake {c.status}")
                if not c.request("auth", token=self.token)["ok"]:
                    raise ConnectionError("auth refused")
                since = self.seqs[-1] if self.seqs else 0
                reply = c.request("subscribe", conversations=[{"conv": self.conv, "since": since}])
                if not reply["ok"] or reply["result"]["errors"]:
                    raise ConnectionError(f"subscribe: {reply}")
                self.c = c
                self.take()
                return
            except self.RETRYABLE:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)

    def reconnect(self):
        self.reconnects += 1
        try:
            self.c.sock.close()
        except OSError:
            pass
        self.connect()

    def take(self):
        rest = []
        for e in self.c.events:
            if e.get("type") != "message.new":
                rest.append(e)
                continue
            expected = self.seqs[-1] + 1 if self.seqs else 1
            if e["seq"] != expected:
                self.errors.append((expected, e["seq"]))
            if not self.seqs or e["seq"] > self.seqs[-1]:
                self.seqs.append(e["seq"])
        self.c.events = rest

    def send(self, client_id, body, attempts=300):
        for _ in range(attempts):
            try:
                reply = self.c.request("send", conv=self.conv, client_id=client_id, body=body)
                self.take()
                if reply["ok"]:
                    return reply["result"]["seq"]
                time.sleep(0.1)  # store busy or down: the same client_id again
            except self.RETRYABLE:
                self.reconnect()
        raise AssertionError(f"{client_id} never acknowledged")

    def drain(self, total, timeout=30):
        deadline = time.time() + timeout
        while len(self.seqs) < total and time.time() < deadline:
            try:
                self.c.sock.settimeout(1)
                self.c.events.append(self.c.event("message.new"))
                self.take()
            except TimeoutError:
                pass
            except self.RETRYABLE:
                self.reconnect()

    def close(self):
        self.c.close()


def ws_connect(server, token=None, ticket=True, **kw):
    """Opens an authenticated connection: with a ticket (default) or an auth frame."""
    if ticket and token:
        status, _, t = server.request("POST", "/api/ws/ticket", token=token)
        assert status == 201, t
        c = WsClient(server.port, path=t["url"], host=server.host, **kw)
    else:
        c = WsClient(server.port, host=server.host, **kw)
        if token:
            reply = c.request("auth", token=token)
            assert reply["ok"], reply
    assert c.status == 101, c.handshake
    return c
