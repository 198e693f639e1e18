"""Soak (ctest -L soak): kill -9 the server every few seconds while four
publishers send SOAK_MESSAGES (default 100,000) messages, each retried with the
same client_id until acknowledged; restart it each time on the same port and
data. Afterwards the store holds each message exactly once, every
acknowledged one with the seq it was acknowledged with, each conversation's
seqs have no gap, and readers that resumed after every kill saw each message
once, in order. On SQLite, and on PostgreSQL with PARLEY_TEST_DATABASE=postgres.

Prints one line of figures: messages, kills, lost, duplicates."""

import os
import threading
import time
import unittest

from harness import ResilientClient, Server

MESSAGES = int(os.environ.get("SOAK_MESSAGES", "100000"))
KILL_EVERY_S = float(os.environ.get("SOAK_KILL_EVERY_S", "3"))
PUBLISHERS = 4
CONVERSATIONS = 2


class KillNineSoak(unittest.TestCase):
    def test_nothing_acknowledged_is_lost_across_kill_9_restarts(self):
        settings = {"ws.rate_per_s": "100000", "ws.rate_burst": "100000", "ws.replay_limit": "10000",
                    "ws.max_connections_per_user": "1000", "log.access_log": "false"}
        server = Server(settings).start()
        data_dir, port = server.data_dir, server.port
        retired = []
        try:
            users = [server.register(f"soak{i}") for i in range(PUBLISHERS)]
            convs = []
            for c in range(CONVERSATIONS):
                status, _, conv = server.request(
                    "POST", "/api/conversations",
                    {"kind": "group", "title": f"soak {c}", "members": [u["user"]["id"] for u in users[1:]]},
                    token=users[0]["access_token"])
                self.assertEqual(status, 201, conv)
                convs.append(conv["id"])
            publishers = [ResilientClient(port, users[i]["access_token"], convs[i % CONVERSATIONS])
                          for i in range(PUBLISHERS)]
            readers = [ResilientClient(port, users[0]["access_token"], conv) for conv in convs]
            acks = [{} for _ in convs]  # per conversation: client_id -> acknowledged seq
            lock = threading.Lock()
            per_publisher = MESSAGES // PUBLISHERS

            def publish(n):
                client = publishers[n]
                for i in range(per_publisher):
                    cid = f"p{n}-{i}"
                    seq = client.send(cid, f"soak {n} {i}", attempts=100000)
                    with lock:
                        acks[n % CONVERSATIONS][cid] = seq

            per_conversation = per_publisher * (PUBLISHERS // CONVERSATIONS)
            # Readers read all along (resuming after every kill), as a client would.
            reading = [threading.Thread(target=r.drain, args=(per_conversation, 3600)) for r in readers]
            for t in reading:
                t.start()
            threads = [threading.Thread(target=publish, args=(n,)) for n in range(PUBLISHERS)]
            t0 = time.time()
            for t in threads:
                t.start()
            kills = 0
            while any(t.is_alive() for t in threads):
                time.sleep(KILL_EVERY_S)
                if not any(t.is_alive() for t in threads):
                    break
                server.kill()  # SIGKILL: no shutdown path runs
                kills += 1
                retired.append(server)
                server = Server(settings, data_dir=data_dir, port=port).start()
            for t in threads:
                t.join()
            elapsed = time.time() - t0

            total = sum(len(a) for a in acks)
            self.assertEqual(total, per_publisher * PUBLISHERS)
            token = users[0]["access_token"]
            lost = duplicates = 0
            for conv, acked in zip(convs, acks):
                stored = {}
                after = 0
                while True:
                    status, _, page = server.request(
                        "GET", f"/api/conversations/{conv}/messages?after={after}&limit=200", token=token)
                    self.assertEqual(status, 200, page)
                    for m in page["messages"]:
                        if m["client_id"] in stored:
                            duplicates += 1
                        stored[m["client_id"]] = m["seq"]
                    if len(page["messages"]) < 200:
                        break
                    after = page["messages"][-1]["seq"]
                seqs = sorted(stored.values())
                self.assertEqual(seqs, list(range(1, len(seqs) + 1)), "a gap in the seqs")
                lost += sum(1 for cid, seq in acked.items() if stored.get(cid) != seq)
                self.assertEqual(len(stored), len(acked), "stored messages that were never acknowledged")
            for t in reading:
                t.join(300)
            for r, acked in zip(readers, acks):
                self.assertEqual(r.errors, [], "a reader saw a gap or a duplicate")
                self.assertEqual(r.seqs, list(range(1, len(acked) + 1)))
            print(f"\nsoak: {total} messages acknowledged in {elapsed:.0f} s, {kills} kill -9 restarts, "
                  f"lost {lost}, duplicates {duplicates}, reader reconnects "
                  f"{sum(r.reconnects for r in readers)}", flush=True)
            self.assertEqual(lost, 0)
            self.assertEqual(duplicates, 0)
            self.assertGreater(kills, 0)
            for c in publishers + readers:
                c.close()
        finally:
            server.kill()
            for s in retired:
                s.cleanup()
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
