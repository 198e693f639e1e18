"""Faults (issue 6): the server process paused with SIGSTOP for 20 s under
load. Clients time out, reconnect and resume; nothing acknowledged is lost,
nothing is stored twice, the reader sees every message once, in order."""

import os
import signal
import threading
import time
import unittest

from harness import ResilientClient, Server

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
