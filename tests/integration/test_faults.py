"""Faults (issue 6): the server process paused with SIGSTOP for 20 s under
load (clients time out, reconnect and resume; nothing acknowledged is lost,
nothing is stored twice, the reader sees every message once, in order), and
the server's clock skewed against its clients' (libfaketime)."""

import os
import signal
import threading
import time
import unittest

from harness import ResilientClient, Server, WsClient, claims, forge_jwt

PAUSE_S = float(os.environ.get("FAULT_PAUSE_S", "20"))


class ServerPauseTest(unittest.TestCase):
    def test_sigstop_for_20_seconds_then_everyone_recovers(self):
        server = Server({"ws.rate_per_s": "100000", "ws.rate_burst": "100000"}).start()
        try:
            ann = server.register("pause_ann")
            ben = server.register("pause_ben")
            status, _, conv = server.request("POST", "/api/conversations",
                                             {"kind": "group", "title": "p", "members": [ben["user"]["id"]]},
                                             token=ann["access_token"])
            self.assertEqual(status, 201, conv)
            sender = ResilientClient(server.port, ann["access_token"], conv["id"])
            reader = ResilientClient(server.port, ben["access_token"], conv["id"])
            acks = {}

            def send_all():
                for i in range(60):
                    acks[f"m{i}"] = sender.send(f"m{i}", f"message {i}", attempts=1000)
                    time.sleep(0.05)

            t = threading.Thread(target=send_all)
            t.start()
            time.sleep(1.0)
            os.kill(server.proc.pid, signal.SIGSTOP)
            try:
                time.sleep(PAUSE_S)
            finally:
                os.kill(server.proc.pid, signal.SIGCONT)
            t.join(120)
            self.assertFalse(t.is_alive(), "the sender never finished")
            self.assertEqual(sorted(acks.values()), list(range(1, 61)))
            reader.drain(60, timeout=60)
            self.assertEqual(reader.errors, [], "a gap or a duplicate")
            self.assertEqual(reader.seqs, list(range(1, 61)))
            self.assertGreater(sender.reconnects + reader.reconnects, 0, "the pause went unnoticed")
            status, _, page = server.request("GET", f"/api/conversations/{conv['id']}/messages?after=0&limit=200",
                                             token=ann["access_token"])
            self.assertEqual({m["client_id"]: m["seq"] for m in page["messages"]}, acks)
            sender.close()
            reader.close()
            self.assertEqual(server.stop(), 0)
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()


class ClockSkewTest(unittest.TestCase):
    """The server's clock off from its clients' (libfaketime): tokens made on
    the clients' clock are honoured within auth.leeway_s (30 s) and refused
    beyond it, and the server's own tokens and tickets keep working."""

    LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"

    def setUp(self):
        if not os.path.exists(self.LIB):
            self.skipTest("libfaketime is not installed (scripts/install-deps.sh installs faketime)")
        if "ASAN_OPTIONS" in os.environ:
            self.skipTest("libfaketime's preload cannot come before the ASan runtime")

    def server_behind(self, seconds):
        # The library preloaded into parley itself (the faketime command would
        # sit between us and its signals).
        return Server({}, env={"LD_PRELOAD": self.LIB, "FAKETIME": f"-{seconds}s"}).start()

    def test_tokens_within_the_leeway_pass_and_beyond_it_fail(self):
        for skew, accepted in ((20, True), (90, False)):
            server = self.server_behind(skew)
            try:
                uid = server.register(f"skew{skew}")["user"]["id"]
                now = int(time.time())  # the clients' clock: ahead of the server's by `skew`
                token = forge_jwt({"alg": "HS256", "typ": "JWT", "kid": "k1"},
                                  claims(uid, iat=now, nbf=now, exp=now + 900))
                status = server.request("GET", "/api/auth/me", token=token)[0]
                self.assertEqual(status, 200 if accepted else 401, f"server {skew} s behind")
                # Its own access tokens and WebSocket tickets work whatever the skew.
                own = server.login(f"skew{skew}")[2]["access_token"]
                self.assertEqual(server.request("GET", "/api/auth/me", token=own)[0], 200)
                _, _, t = server.request("POST", "/api/ws/ticket", token=own)
                self.assertEqual(WsClient(server.port, path=t["url"]).status, 101)
                self.assertEqual(server.stop(), 0)
            finally:
                server.cleanup()
