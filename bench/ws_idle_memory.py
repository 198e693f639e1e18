#!/usr/bin/env python3
"""Server memory per idle WebSocket connection.

Starts parley (PARLEY_BIN, default build/release/parley), opens a warm-up
batch of authenticated, subscribed connections, reads the server's RSS from
/proc, opens N more, reads it again, and prints one JSON line with the bytes
per connection. Loopback only; the connections close when it exits.

  bench/ws_idle_memory.py [N]        (N defaults to 5000; the fd limit caps it)
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
import harness  # noqa: E402


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def open_many(server, token, conv, n):
    conns = []
    for _ in range(n):
        c = harness.WsClient(server.port)
        assert c.status == 101, c.handshake
        assert c.request("auth", token=token)["ok"]
        assert c.request("subscribe", conversations=[{"conv": conv}])["ok"]
        conns.append(c)
    return conns


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    if "PARLEY_BIN" not in os.environ:
        harness.BIN = os.path.join(os.path.dirname(__file__), "..", "build", "release", "parley")
    server = harness.Server({"ws.max_connections_per_user": str(n + 1000),
                             "ws.max_connections_per_ip": str(n + 1000),
                             "server.max_connections": str(n + 2000),
                             "log.access_log": "false"}).start()
    try:
        reg = server.register("idle_bench")
        _, _, conv = server.request("POST", "/api/conversations", {"kind": "group", "title": "idle"},
                                    token=reg["access_token"])
        warm = open_many(server, reg["access_token"], conv["id"], 200)
        time.sleep(0.5)
        before = rss_bytes(server.proc.pid)
        conns = open_many(server, reg["access_token"], conv["id"], n)
        time.sleep(0.5)
        after = rss_bytes(server.proc.pid)
        print(json.dumps({"scenario": "idle", "connections": n, "rss_before": before, "rss_after": after,
                          "bytes_per_connection": round((after - before) / n),
                          "binary": os.path.basename(harness.BIN)}))
        for c in warm + conns:
            c.sock.close()
    finally:
        server.stop()
        server.cleanup()


if __name__ == "__main__":
    main()
