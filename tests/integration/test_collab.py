"""Collaboration rooms against the real binary with the real npm y-websocket
clients (tests/interop/collab_driver.mjs): sync alone, convergence, late
joiners, awareness on an abrupt disconnect, persistence across SIGKILL,
isolation, a 1 MB document, edits made while the server was down, a client
idle for 60 s, conversation access, refused clients that stop, and limits."""

import json
import os
import pathlib
import re
import subprocess
import time
import unittest

import struct

import socket
import sqlite3

from harness import DATABASE, Server, ServerTest, WsClient, WsClosed

ROOT = pathlib.Path(__file__).resolve().parents[2]
DRIVER = ROOT / "tests/interop/collab_driver.mjs"
HAVE_CLIENTS = (ROOT / "node_modules/y-websocket/package.json").exists()
VECTORS = json.loads((ROOT / "tests/vectors/yjs_v1.json").read_text())


def metric(server, name, labels=""):
    _, _, text = server.request("GET", "/metrics")
    m = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def get_bytes(server, path, token):
    """GET returning (status, content type, body bytes)."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type"), resp.read()
    finally:
        conn.close()


def raw(server, path):
    """A y-websocket connection made by hand (no subprotocol)."""
    ws = WsClient(server.port, path=path, protocol=None)
    assert ws.status == 101, ws.handshake
    return ws


def recv_binary(ws):
    """The next binary message; raises WsClosed with the server's code."""
    while True:
        opcode, _, payload = ws.recv_frame()
        if opcode == 0x9:
            ws.send_frame(0xA, payload)
        elif opcode == 0x8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            raise WsClosed(code, payload[2:].decode(errors="replace"))
        elif opcode == 0x2:
            return payload


def closed_with(test, ws):
    """Reads until the server closes; returns the close code."""
    with test.assertRaises(WsClosed) as closed:
        for _ in range(20):
            recv_binary(ws)
    return closed.exception.code


class Driver:
    """One run of a driver scenario; start() for the interactive ones."""

    def __init__(self, server, **args):
        self.args = {"url": f"ws://127.0.0.1:{server.port}/collab", **args}
        self.proc = None

    def run(self, timeout=90):
        r = subprocess.run(["node", str(DRIVER), json.dumps(self.args)], capture_output=True,
                           text=True, timeout=timeout, cwd=ROOT)
        return self._result(r.stdout, r.stderr)

    def start(self):
        self.proc = subprocess.Popen(["node", str(DRIVER), json.dumps(self.args)], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        return self

    def expect_step(self, step):
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("driver ended: " + self.proc.stderr.read()[-2000:])
        got = json.loads(line)
        if got.get("step") != step:
            raise AssertionError(f"wanted step {step}, got {got}")

    def tell(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def finish(self, timeout=60):
        out, err = self.proc.communicate(timeout=timeout)
        return self._result(out, err)

    @staticmethod
    def _result(out, err):
        lines = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
        last = lines[-1] if lines else {"error": "no output"}
        if "result" not in last:
            raise AssertionError(f"driver failed: {last.get('error')}\n{err[-2000:]}")
        return last["result"]


@unittest.skipUnless(HAVE_CLIENTS, "npm y-websocket not installed (npm ci)")
class CollabTest(ServerTest):
    # Compaction early and often, so every test runs across it.
    SETTINGS = {"collab.create_on_connect": "true", "collab.refused_per_minute": "6",
                "collab.compact_rows": "20"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ann = cls.server.register("ann_c")
        cls.bob = cls.server.register("bob_c")
        cls.eve = cls.server.register("eve_c")
        cls.tokens = [cls.ann["access_token"], cls.bob["access_token"]]
        # Documents of this conversation are open to both ann and bob.
        _, _, conv = cls.server.request("POST", "/api/conversations",
                                        {"kind": "group", "title": "shared",
                                         "members": [cls.bob["user"]["id"]]},
                                        token=cls.ann["access_token"])
        cls.shared = f"conversation.{conv['id']}"

    def drive(self, **args):
        args.setdefault("tokens", self.tokens[:1])
        return Driver(self.server, **args).run()

    def test_a_client_alone_syncs_and_a_late_joiner_gets_everything(self):
        self.assertEqual(self.drive(scenario="write", doc="alone", text="hello")["text"], "hello")
        self.assertEqual(self.drive(scenario="read", doc="alone")["text"], "hello")
        # Stored, not only relayed: one row in the log, numbered 1.
        self.assertGreaterEqual(metric(self.server, "parley_collab_updates_total", '{result="applied"}'), 1)

    def test_concurrent_edits_converge(self):
        r = self.drive(scenario="converge", doc=self.shared + ".converge", clients=4, edits=60, tokens=self.tokens)
        self.assertTrue(r["equal"])
        self.assertGreater(r["length"], 0)
        # A late joiner reads what they converged to, from a log compacted
        # on the way.
        self.assertGreater(metric(self.server, "parley_collab_compactions_total"), 0)
        self.assertEqual(self.drive(scenario="read", doc=self.shared + ".converge")["length"],
                         r["length"])

    def test_awareness_appears_and_disappears_on_an_abrupt_disconnect(self):
        r = self.drive(scenario="awareness", doc=self.shared + ".aware", tokens=self.tokens)
        self.assertTrue(r["late_joiner_saw"])
        # Removed by the server at once, not by the clients' 30 s timeout.
        self.assertLess(r["removed_ms"], 5000)

    def test_deleted_content_is_collected_and_the_text_is_unchanged(self):
        # Typed and mostly deleted, then typed and kept (runs of visible
        # characters joined into one item each, as a Y.Doc does).
        for name, deletes in (("typed", 1800), ("typed-kept", 0)):
            st, _, doc = self.server.request("POST", "/api/collab/documents", {"name": name},
                                             token=self.ann["access_token"])
            self.assertEqual(st, 201, doc)
            r = self.drive(scenario="typed", doc=name, chars=2000, deletes=deletes)
            # A late joiner from the compacted state read exactly what Yjs has.
            self.assertTrue(self.drive(scenario="read", doc=name, expect=r["text"])["equal"], name)
            _, _, meta = self.server.request("GET", f"/api/collab/documents/{doc['id']}",
                                             token=self.ann["access_token"])
            # Within twice a garbage-collecting Y.Doc's own encoding, counting
            # the rows written since the last compaction (at most
            # collab.compact_rows).
            print(f"\n{name}: stored {meta['stored_bytes']} bytes, Y.Doc {r['ydoc_bytes']} bytes")
            self.assertLess(meta["stored_bytes"], 2 * r["ydoc_bytes"] + 20 * 64, name)

    def test_collected_states_give_yjs_the_same_document_in_random_sessions(self):
        st, _, doc = self.server.request("POST", "/api/collab/documents", {"name": "gc-random"},
                                         token=self.ann["access_token"])
        self.assertEqual(st, 201, doc)
        compactions = metric(self.server, "parley_collab_compactions_total")
        for seed in (12345, 777, 4242):
            r = self.drive(scenario="gc_random", doc="gc-random", seed=seed, rounds=300)
            self.assertTrue(r["equal"])
        self.assertGreater(metric(self.server, "parley_collab_compactions_total"), compactions)

    def test_documents_are_isolated(self):
        r = self.drive(scenario="isolation", doc="iso-a", other="iso-b")
        self.assertEqual(r, {"a": "only in iso-a", "b": "only in iso-b"})

    def test_a_1_mb_document(self):
        r = self.drive(scenario="big", doc="big", bytes=1_000_000)
        self.assertGreaterEqual(r["length"], 1_000_000)
        self.assertEqual(self.drive(scenario="read", doc="big")["length"], r["length"])

    def test_a_conversation_document_is_for_its_members(self):
        _, _, conv = self.server.request("POST", "/api/conversations",
                                         {"kind": "group", "title": "notes",
                                          "members": [self.bob["user"]["id"]]},
                                         token=self.ann["access_token"])
        doc = f"conversation.{conv['id']}"
        self.assertEqual(self.drive(scenario="write", doc=doc, text="agenda", tokens=self.tokens)["text"],
                         "agenda")
        # Not a member: refused with 4403, and the client stops.
        r = self.drive(scenario="refused", doc=doc, tokens=[self.eve["access_token"]], watch_ms=1500)
        self.assertEqual(r["opened"], 1)
        self.assertEqual(r["closed"][0]["code"], 4403)

    def test_removal_from_the_conversation_closes_the_connection(self):
        _, _, conv = self.server.request("POST", "/api/conversations",
                                         {"kind": "group", "title": "rm",
                                          "members": [self.bob["user"]["id"]]},
                                         token=self.ann["access_token"])
        ws = raw(self.server, f"/collab/conversation.{conv['id']}?token={self.bob['access_token']}")
        first = recv_binary(ws)  # the server's sync step 1
        self.assertEqual(first[:2], b"\x00\x00")
        status, _, _ = self.server.request(
            "DELETE", f"/api/conversations/{conv['id']}/members/{self.bob['user']['id']}",
            token=self.ann["access_token"])
        self.assertEqual(status, 204)
        self.assertEqual(closed_with(self, ws), 4403)

    def test_a_refused_client_stops_reconnecting(self):
        # y-websocket 3.1 stops on a 44xx close.
        r = self.drive(scenario="refused", doc="nope", tokens=["not-a-token"], watch_ms=2500)
        self.assertEqual(r["opened"], 1)
        self.assertEqual(r["closed"][0]["code"], 4401)
        # 3.0 reconnects 100 ms after any close of an opened socket; after a
        # few refusals it gets 429 without a WebSocket and backs off.
        before = metric(self.server, "parley_collab_throttled_total")
        r = self.drive(scenario="refused", doc="nope", tokens=["another-bad-token"], version="3.0",
                       watch_ms=4000)
        self.assertEqual(r["closes"][0]["code"], 4401)
        self.assertLess(r["opened"], 20)  # unthrottled: about 35 in 4 s
        self.assertGreater(metric(self.server, "parley_collab_throttled_total"), before)

    def test_a_client_idle_for_60_s_stays_connected(self):
        r = self.drive(scenario="idle", doc="idle", idle_ms=60000)
        self.assertEqual(r, {"reconnects": 0, "connected": True})

    def test_rest_documents_roles_updates_versions_and_deletion(self):
        ann, bob, eve = (u["access_token"] for u in (self.ann, self.bob, self.eve))
        st, _, doc = self.server.request("POST", "/api/collab/documents",
                                         {"name": "rest-doc", "title": "Plan"}, token=ann)
        self.assertEqual(st, 201, doc)
        self.assertEqual((doc["path"], doc["role"], doc["conversation_id"]), ("/collab/rest-doc", "owner", None))
        base = f"/api/collab/documents/{doc['id']}"
        self.assertEqual(self.server.request("POST", "/api/collab/documents", {"name": "rest-doc"}, token=bob)[0], 409)
        self.assertEqual(self.server.request("POST", "/api/collab/documents", {"name": "bad/name"}, token=bob)[0], 400)
        self.assertEqual(self.server.request("GET", base, token=eve)[0], 404)  # existence does not leak
        for user, role in ((self.eve, "viewer"), (self.bob, "editor")):
            st, _, body = self.server.request("PUT", f"{base}/access/{user['user']['id']}", {"role": role}, token=ann)
            self.assertEqual(st, 200, body)
        self.assertEqual(self.server.request("PUT", f"{base}/access/{self.ann['user']['id']}",
                                             {"role": "viewer"}, token=bob)[0], 403)
        _, _, meta = self.server.request("GET", base, token=ann)
        self.assertEqual(sorted(a["role"] for a in meta["access"]), ["editor", "viewer"])
        self.assertEqual(self.server.request("GET", base, token=eve)[2]["role"], "viewer")
        # A viewer receives everything and its edits are dropped (and counted).
        before = metric(self.server, "parley_collab_updates_total", '{result="read_only"}')
        r = self.drive(scenario="readonly", doc="rest-doc", tokens=[ann, eve])
        self.assertEqual(r["editor"], "from editor!")
        self.assertEqual(r["viewer"], "from viewer from editor!")  # its own copy only
        self.assertGreater(metric(self.server, "parley_collab_updates_total", '{result="read_only"}'), before)
        # A server-side update reaches a connected client once committed.
        ws = raw(self.server, f"/collab/rest-doc?token={bob}")
        recv_binary(ws)  # step 1
        update = bytes.fromhex(VECTORS["cases"][0]["update"])
        st, _, body = self.server.request("POST", f"{base}/updates", raw=update, token=bob,
                                          headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(st, 200, body)
        self.assertGreater(body["applied_bytes"], 0)
        relayed = recv_binary(ws)
        self.assertEqual(relayed[:2], b"\x00\x02")  # sync update
        st, _, body = self.server.request("POST", f"{base}/updates", raw=update, token=bob,
                                          headers={"Content-Type": "application/octet-stream"})
        self.assertEqual((st, body["applied_bytes"]), (200, 0))  # nothing new: nothing stored
        st, _, body = self.server.request("POST", f"{base}/updates", raw=b"\x01\x01", token=bob,
                                          headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(st, 400, body)
        self.assertEqual(self.server.request("POST", f"{base}/updates", raw=update, token=eve,
                                             headers={"Content-Type": "application/octet-stream"})[0], 403)
        st, ctype, state = get_bytes(self.server, f"{base}/state", eve)
        self.assertEqual((st, ctype), (200, "application/octet-stream"))
        # Versions keep their state; a copy starts from it.
        st, _, v = self.server.request("POST", f"{base}/versions", {"name": "v1"}, token=bob)
        self.assertEqual(st, 201, v)
        self.assertEqual(v["bytes"], len(state))
        _, _, listed = self.server.request("GET", f"{base}/versions", token=eve)
        self.assertEqual([x["name"] for x in listed["versions"]], ["v1"])
        _, _, vstate = get_bytes(self.server, f"{base}/versions/{v['id']}", eve)
        self.assertEqual(vstate, state)
        st, _, copy = self.server.request("POST", f"{base}/versions/{v['id']}/copy", {"name": "rest-copy"}, token=eve)
        self.assertEqual((st, copy["role"]), (201, "owner"), copy)
        _, _, cstate = get_bytes(self.server, f"/api/collab/documents/{copy['id']}/state", eve)
        self.assertEqual(cstate, state)
        # Removing bob's role closes his connection for good; deleting the
        # document closes everyone's.
        st, _, _ = self.server.request("DELETE", f"{base}/access/{self.bob['user']['id']}", token=ann)
        self.assertEqual(st, 204)
        self.assertEqual(closed_with(self, ws), 4403)
        ws = raw(self.server, f"/collab/rest-doc?token={eve}")
        recv_binary(ws)
        self.assertEqual(self.server.request("DELETE", base, token=eve)[0], 403)
        self.assertEqual(self.server.request("DELETE", base, token=ann)[0], 204)
        self.assertEqual(closed_with(self, ws), 4404)
        self.assertEqual(self.server.request("GET", base, token=ann)[0], 404)
        _, _, mine = self.server.request("GET", "/api/collab/documents", token=eve)
        self.assertEqual([d["name"] for d in mine["documents"]], ["rest-copy"])
        # The data export lists them, with where to download each one's content.
        _, _, export = self.server.request("GET", "/api/users/me/export", token=eve)
        self.assertEqual([(d["name"], d["role"]) for d in export["collab_documents"]], [("rest-copy", "owner")])
        st, _, exported = get_bytes(self.server, export["collab_documents"][0]["state_path"], eve)
        self.assertEqual((st, exported), (200, state))

    def test_deleting_a_document_with_connections_unloads_it_without_touching_freed_memory(self):
        # The room was erased from its worker's map while still in use (ASan:
        # heap-use-after-free in drop); the same name works again afterwards.
        token = self.ann["access_token"]
        for round_ in range(3):
            st, _, doc = self.server.request("POST", "/api/collab/documents", {"name": "dropped"}, token=token)
            self.assertEqual(st, 201, doc)
            ws = raw(self.server, f"/collab/dropped?token={token}")
            recv_binary(ws)
            self.assertEqual(self.server.request("DELETE", f"/api/collab/documents/{doc['id']}", token=token)[0], 204)
            self.assertEqual(closed_with(self, ws), 4404)
        self.assertEqual(self.server.request("GET", "/api/health")[0], 200)

    def test_bad_frames_and_names_get_clear_closes(self):
        token = self.ann["access_token"]
        ws = raw(self.server, f"/collab/frames?token={token}")
        recv_binary(ws)
        ws.send_frame(0x1, "hello")
        self.assertEqual(closed_with(self, ws), 1003)
        ws = raw(self.server, f"/collab/frames?token={token}")
        recv_binary(ws)
        ws.send_frame(0x2, b"\x00\x02\xff\xff\xff")  # an update cut short
        self.assertEqual(closed_with(self, ws), 1007)
        ws = raw(self.server, f"/collab/bad%2Fname?token={token}")
        denied = recv_binary(ws)  # y-protocols auth message: permission denied
        self.assertEqual(denied[:2], b"\x02\x00")
        self.assertEqual(closed_with(self, ws), 4404)
        # Never logged: the query string with the token.
        self.assertFalse([l for l in self.server.lines if token in l])


class CollabLimitsTest(ServerTest):
    SETTINGS = {"collab.max_connections_per_document": "2", "collab.max_connections_per_user": "3",
                "collab.max_message_bytes": "2048"}

    def test_connection_and_message_limits_close_with_their_codes_and_are_counted(self):
        token = self.server.register("ann_l")["access_token"]
        first, second = (raw(self.server, f"/collab/limited?token={token}") for _ in range(2))
        recv_binary(first)
        recv_binary(second)
        third = raw(self.server, f"/collab/limited?token={token}")
        self.assertEqual(closed_with(self, third), 4429)
        self.assertEqual(metric(self.server, "parley_collab_limit_closes_total",
                                '{limit="max_connections_per_document"}'), 1)
        # The user's fourth connection (the third one's is gone): refused at accept.
        deadline = time.time() + 10
        while metric(self.server, "parley_collab_connections") != 2 and time.time() < deadline:
            time.sleep(0.05)
        fourth = raw(self.server, f"/collab/other?token={token}")
        recv_binary(fourth)
        fifth = raw(self.server, f"/collab/another?token={token}")
        self.assertEqual(recv_binary(fifth)[:2], b"\x02\x00")  # auth message: denied
        self.assertEqual(closed_with(self, fifth), 4429)
        # A message over collab.max_message_bytes: 1009.
        first.send_frame(0x2, b"\x00\x02" + b"\x00" * 4096)
        self.assertEqual(closed_with(self, first), 1009)


@unittest.skipUnless(HAVE_CLIENTS, "npm y-websocket not installed (npm ci)")
class CollabDeflateTest(ServerTest):
    SETTINGS = {"ws.permessage_deflate": "true"}

    def test_clients_that_offer_permessage_deflate_get_compressed_messages(self):
        token = self.server.register("ann_z")["access_token"]
        text = "compressible " * 1000
        # The npm ws client offers permessage-deflate: the whole path works with it.
        Driver(self.server, scenario="write", doc="zipped", text=text, tokens=[token]).run()
        ws = WsClient(self.server.port, path=f"/collab/zipped?token={token}", protocol=None, deflate=True)
        self.assertTrue(ws.deflate, ws.handshake)
        recv_binary(ws)  # the server's step 1 (small: sent as it is)
        ws.send_frame(0x2, b"\x00\x00\x01\x00")  # step 1 with an empty state vector
        payload = recv_binary(ws)
        self.assertTrue(ws.last_rsv & 4, "the step 2 was not compressed")
        import zlib
        update = zlib.decompressobj(wbits=-15).decompress(payload + b"\x00\x00\xff\xff")
        self.assertEqual(update[:2], b"\x00\x01")  # sync step 2
        self.assertIn(b"compressible compressible", update)
        self.assertLess(len(payload), len(update) // 10)


@unittest.skipUnless(HAVE_CLIENTS, "npm y-websocket not installed (npm ci)")
class CollabDropInListenerTest(ServerTest):
    """collab.listen: the same documents at ws://HOST:PORT/<name>, plus /health."""
    SETTINGS = {"collab.listen": "127.0.0.1:0"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ports = [e["port"] for e in cls.server.log_events("http_listening") if "routes" in e]
        assert len(ports) == 1, cls.server.lines[-20:]
        cls.drop_in = ports[0]

    def plain(self, method, path):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.drop_in, timeout=10)
        try:
            conn.request(method, path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def test_clients_on_the_drop_in_port_and_on_the_main_port_edit_one_document(self):
        token = self.server.register("ann_d")["access_token"]
        urls = [f"ws://127.0.0.1:{self.drop_in}", f"ws://127.0.0.1:{self.server.port}/collab"]
        got = Driver(self.server, scenario="converge", doc="dropin", clients=4, edits=40,
                     tokens=[token], urls=urls).run()
        self.assertTrue(got["equal"])
        self.assertGreater(got["length"], 0)
        # What they wrote is the document the REST API knows by that name.
        status, _, page = self.server.request("GET", "/api/collab/documents", token=token)
        self.assertEqual(status, 200, page)
        self.assertIn("dropin", [d["name"] for d in page["documents"]])

    def test_health_answers_and_nothing_else_is_served_there(self):
        self.assertEqual(self.plain("GET", "/health"), (200, b'{"status":"ok"}'))
        status, body = self.plain("GET", "/api/health")
        self.assertEqual(status, 404, body)
        self.assertEqual(self.plain("POST", "/health")[0], 405)
        self.assertEqual(self.plain("HEAD", "/health")[0], 200)

    def test_a_client_without_a_token_is_refused_there_too(self):
        ws = WsClient(self.drop_in, path="/nodoc", protocol=None)
        self.assertEqual(ws.status, 101, ws.handshake)
        self.assertEqual(recv_binary(ws)[:2], b"\x02\x00")  # auth message: denied
        self.assertEqual(closed_with(self, ws), 4401)


def next_update(ws, timeout):
    """The next sync update message within timeout seconds, or None."""
    ws.sock.settimeout(timeout)
    try:
        while True:
            m = recv_binary(ws)
            if m[:2] == b"\x00\x02":
                return m
    except (socket.timeout, TimeoutError):
        return None
    finally:
        ws.sock.settimeout(10)


def sync_update_message(update):
    n, size = len(update), b""
    while n > 0x7F:
        size += bytes([0x80 | (n & 0x7F)])
        n >>= 7
    return b"\x00\x02" + size + bytes([n]) + update


@unittest.skipUnless(DATABASE == "sqlite", "holds SQLite's write lock to stall the store")
class CollabRelayTest(unittest.TestCase):
    """While the store cannot commit, the others get an update at once and
    the sender's echo waits for the commit; with collab.relay_on_commit
    nobody gets it before the commit."""

    def stall_and_send(self, settings):
        server = Server({"database.busy_timeout_ms": "30000", **settings}).start()
        try:
            token = server.register("ann_r")["access_token"]
            a, b = (raw(server, f"/collab/relay?token={token}") for _ in range(2))
            for ws in (a, b):
                recv_binary(ws)  # the server's step 1
            lock = sqlite3.connect(os.path.join(server.data_dir, "parley.db"), isolation_level=None)
            lock.execute("BEGIN IMMEDIATE")  # the writer now waits for the lock
            try:
                a.send_frame(0x2, sync_update_message(bytes.fromhex(VECTORS["cases"][0]["update"])))
                other = next_update(b, 3)
                echo_while_stalled = next_update(a, 1)
            finally:
                lock.execute("ROLLBACK")
                lock.close()
            early = (other is not None, echo_while_stalled is not None)
            echo = echo_while_stalled or next_update(a, 10)
            other = other or next_update(b, 10)
            return early, echo, other
        finally:
            server.stop()

    def test_the_others_get_an_update_before_the_commit_and_the_sender_after_it(self):
        (other_early, echo_early), echo, other = self.stall_and_send({})
        self.assertTrue(other_early, "the other connection waited for the store")
        self.assertFalse(echo_early, "the sender heard its update back before it was stored")
        self.assertIsNotNone(echo, "no echo after the commit")
        self.assertEqual(echo, other)

    def test_relay_on_commit_holds_every_copy_until_the_commit(self):
        (other_early, echo_early), echo, other = self.stall_and_send(
            {"collab.relay_on_commit": "true"})
        self.assertFalse(other_early, "the other connection got an update not yet stored")
        self.assertFalse(echo_early)
        self.assertIsNotNone(echo)
        self.assertEqual(echo, other)


@unittest.skipUnless(HAVE_CLIENTS, "npm y-websocket not installed (npm ci)")
class CollabRestartTest(unittest.TestCase):
    def test_committed_edits_survive_sigkill(self):
        server = Server().start()
        try:
            token = server.register("ann_k")["access_token"]
            Driver(server, scenario="write", doc="durable", text="kept", tokens=[token]).run()
            server.kill()
            restarted = Server(data_dir=server.data_dir).start()
            try:
                token = restarted.login("ann_k")[2]["access_token"]
                r = Driver(restarted, scenario="read", doc="durable", tokens=[token]).run()
                self.assertEqual(r["text"], "kept")
                self.assertEqual(restarted.stop(), 0)
            finally:
                restarted.kill()
        finally:
            server.cleanup()

    def test_edits_made_while_the_server_was_down_arrive_after_it_returns(self):
        server = Server().start()
        try:
            token = server.register("ann_o")["access_token"]
            port = server.port
            d = Driver(server, scenario="offline", doc="offline", tokens=[token]).start()
            d.expect_step("ready")
            self.assertEqual(server.stop(), 0)
            d.tell()
            d.expect_step("edited")
            again = Server(data_dir=server.data_dir, port=port).start()
            try:
                d.tell()
                self.assertEqual(d.finish()["text"], "before offline")
                self.assertEqual(again.stop(), 0)
            finally:
                again.kill()
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
