"""Faults (issue 6): the server process paused with SIGSTOP for 20 s under
load (clients time out, reconnect and resume; nothing acknowledged is lost,
nothing is stored twice, the reader sees every message once, in order), and
the server's clock skewed against its clients' (libfaketime), and a reader
process SIGSTOPped while its conversation carries heavy traffic."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

from harness import ResilientClient, Server, WsClient, claims, die_with_parent, forge_jwt, ws_connect

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


def proc_status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


class PausedReaderTest(unittest.TestCase):
    """A reader process stopped (SIGSTOP) while 40 MB flow through its
    conversation: the server's memory stays bounded (the queue to it is capped
    at ws.max_outbound_bytes), it is closed with 4009, a reader that keeps up
    sees no change in latency, and the stopped one, resumed, catches up from
    the store with no gap."""

    SENDERS, BODY = 4, 8000

    def flood(self, server, token, conv, per_sender, tag):
        def send(k):
            c = ws_connect(server, token)
            for i in range(per_sender):
                body = f"{time.time():.6f}:" + "x" * self.BODY
                reply = c.request("send", conv=conv, client_id=f"{tag}-{k}-{i}", body=body)
                assert reply["ok"], reply
            c.close()

        threads = [threading.Thread(target=send, args=(k,)) for k in range(self.SENDERS)]
        for t in threads:
            t.start()
        return threads

    def observe(self, observer, count, latencies):
        for _ in range(count):
            e = observer.event("message.new")
            latencies.append(time.time() - float(e["message"]["body"].split(":")[0]))

    def slow_closes(self, server):
        _, _, text = server.request("GET", "/metrics")
        m = re.search(r"^parley_ws_slow_consumer_closes_total (\S+)", text, re.M)
        return float(m.group(1)) if m else 0

    def test_a_stopped_reader_is_cut_off_with_4009_others_unaffected_and_it_catches_up(self):
        server = Server({"ws.rate_per_s": "100000", "ws.rate_burst": "100000",
                         "ws.max_outbound_bytes": str(1 << 20), "log.access_log": "false"}).start()
        child = None
        try:
            ann, ben, cat = (server.register(f"stop_{n}") for n in ("ann", "ben", "cat"))
            status, _, conv = server.request("POST", "/api/conversations",
                                             {"kind": "group", "title": "flood",
                                              "members": [ben["user"]["id"], cat["user"]["id"]]},
                                             token=ann["access_token"])
            self.assertEqual(status, 201, conv)
            here = os.path.dirname(os.path.abspath(__file__))
            child = subprocess.Popen([sys.executable, os.path.join(here, "paused_reader.py"), str(server.port),
                                      ben["access_token"], conv["id"]], cwd=here, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, preexec_fn=die_with_parent)
            self.assertEqual(child.stdout.readline().strip(), "ready")
            observer = ws_connect(server, cat["access_token"])
            self.assertTrue(observer.request("subscribe", conversations=[{"conv": conv["id"]}])["ok"])

            # Before: everyone reads; the observer's latencies are the baseline.
            before = []
            threads = self.flood(server, ann["access_token"], conv["id"], 100, "a")
            self.observe(observer, 4 * 100, before)
            for t in threads:
                t.join()

            # The reader stops; 40 MB follow (4 x 1,250 x 8 KB).
            os.kill(child.pid, signal.SIGSTOP)
            rss_before = proc_status(server.proc.pid, "VmRSS")
            with open(f"/proc/{server.proc.pid}/clear_refs", "w") as f:
                f.write("5")  # VmHWM starts again from here
            during = []
            threads = self.flood(server, ann["access_token"], conv["id"], 1250, "b")
            watcher = threading.Thread(target=self.observe, args=(observer, 4 * 1250, during))
            watcher.start()
            deadline = time.time() + 120
            while self.slow_closes(server) < 1 and time.time() < deadline:
                time.sleep(0.05)
            # Resumed within the close's 3 s grace, it reads what the kernel held, then the close.
            os.kill(child.pid, signal.SIGCONT)
            self.assertGreaterEqual(self.slow_closes(server), 1, "the stopped reader was never cut off")
            first = json.loads(child.stdout.readline())
            for t in threads:
                t.join(120)
            watcher.join(120)
            self.assertFalse(watcher.is_alive(), "the observer missed messages")
            peak = proc_status(server.proc.pid, "VmHWM")
            total = 400 + 5000

            # The stopped reader resumes with since and gets every seq once, in order.
            child.stdin.write(f"{total}\n")
            child.stdin.flush()
            final = json.loads(child.stdout.readline())
            print(f"paused reader: closed {first['closed']} at seq {first['last']}, then {final['replayed']} "
                  f"replayed; server RSS {rss_before >> 20} MiB before, peak {peak >> 20} MiB; observer "
                  f"p50/p99 {percentile(before, 50) * 1000:.1f}/{percentile(before, 99) * 1000:.1f} ms before, "
                  f"{percentile(during, 50) * 1000:.1f}/{percentile(during, 99) * 1000:.1f} ms while stopped")
            self.assertEqual(first["closed"], 4009)
            self.assertLess(first["last"], total)
            self.assertEqual(final["errors"], [])
            self.assertEqual((final["seqs"], final["last"]), (total, total))
            # 40 MB went past a reader that read nothing; the server held at
            # most its 1 MiB queue plus working memory. (Not under sanitizers:
            # they replace malloc, and ASan's quarantine keeps freed frames.)
            _, _, text = server.request("GET", "/metrics")
            if re.search(r"^parley_process_heap_bytes [1-9]", text, re.M):
                self.assertLess(peak - rss_before, 24 << 20)
            # The observer, reading along, saw no stall: the stopped reader cost
            # it nothing beyond noise (a blocked writer would stall it for seconds).
            self.assertLess(percentile(during, 99), 5 * percentile(before, 99) + 0.5)
            self.assertEqual(server.stop(), 0)
        finally:
            if child is not None and child.poll() is None:
                os.kill(child.pid, signal.SIGCONT)
                child.kill()
                child.wait()
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
