#!/usr/bin/env python3
"""Poll vote-to-update latency, and 500 voters at once.

Starts parley (PARLEY_BIN, default build/release/parley). Quiet votes: one
member votes every 300 ms (alternating options, so each vote changes the
result) and a subscriber on another connection times the PUT's start to the
`poll` event that shows it. Then VOTERS members vote at once (32 threads):
the time from the first vote to the event holding the final counts, and how
many events carried the burst. One JSON line. Loopback only.

  bench/poll_latency.py [QUIET_VOTES]   (default 100)
"""

import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
import harness  # noqa: E402

VOTERS = 500


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def main():
    quiet = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    binary = os.environ.get("PARLEY_BIN", os.path.join(os.path.dirname(__file__), "..", "build", "release", "parley"))
    os.environ["PARLEY_BIN"] = binary
    server = harness.Server({"auth.login_ip_max_attempts": "100000", "log.access_log": "false"}).start()
    try:
        ann = server.register("ann_bench")
        ben = server.register("ben_bench")
        _, _, conv = server.request("POST", "/api/conversations",
                                    {"kind": "group", "title": "poll", "members": [ben["user"]["id"]]},
                                    token=ann["access_token"])
        _, _, m = server.request("POST", f"/api/conversations/{conv['id']}/messages",
                                 {"client_id": "poll", "body": "Which?", "poll": {"options": ["A", "B", "C"]}},
                                 token=ann["access_token"])
        watcher = harness.ws_connect(server, ann["access_token"])
        watcher.request("subscribe", conversations=[{"conv": conv["id"]}])
        path = f"/api/conversations/{conv['id']}/messages/{m['seq']}/poll/votes"
        latencies = []
        for i in range(quiet):
            option = i % 2 + 1
            t0 = time.perf_counter()
            server.request("PUT", path, {"option_ids": [option]}, token=ben["access_token"])
            while True:
                ev = watcher.event("poll")
                if ev["poll"]["options"][option - 1]["votes"] == 1:
                    break
            latencies.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.3)

        with ThreadPoolExecutor(16) as pool:
            users = list(pool.map(lambda i: server.register(f"voter{i}_bench"), range(VOTERS)))
        for u in users:
            server.request("POST", f"/api/conversations/{conv['id']}/members", {"user_id": u["user"]["id"]},
                           token=ann["access_token"])
        time.sleep(1)
        watcher.request("ping")
        watcher.events.clear()
        start = threading.Barrier(32)

        def vote(i):
            if i < 32:
                start.wait()
            server.request("PUT", path, {"option_ids": [i % 3 + 1]}, token=users[i]["access_token"])

        t0 = time.perf_counter()
        with ThreadPoolExecutor(32) as pool:
            list(pool.map(vote, range(VOTERS)))
        votes_done = time.perf_counter()
        events = 0
        while True:
            ev = watcher.event("poll")
            events += 1
            if ev["poll"]["voters"] == VOTERS + 1:
                break
        final = time.perf_counter()
        print(json.dumps({
            "quiet_votes": quiet,
            "vote_to_event_p50_ms": round(pct(latencies, 0.5), 2),
            "vote_to_event_p99_ms": round(pct(latencies, 0.99), 2),
            "burst_voters": VOTERS,
            "burst_votes_per_s": round(VOTERS / (votes_done - t0)),
            "burst_last_vote_to_final_event_ms": round((final - votes_done) * 1000, 1),
            "burst_events": events,
        }))
    finally:
        server.stop()
        server.cleanup()


if __name__ == "__main__":
    main()
