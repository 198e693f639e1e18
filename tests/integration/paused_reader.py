"""A reader in a process of its own, so that a test can SIGSTOP it.

    python3 paused_reader.py PORT TOKEN CONV

Subscribes to CONV from seq 0 with a small receive buffer, prints "ready",
reads message.new events until the server closes the connection, then prints
{"closed": code, "last": seq}. It then reads the total from stdin, subscribes
again with since = the last seq it saw (reading what the replay left out
over REST), reads up to the total and prints
{"seqs": n, "last": seq, "errors": [(expected, got), ...], "replayed": n}."""

import http.client
import json
import sys

from harness import WsClient, WsClosed

port, token, conv = int(sys.argv[1]), sys.argv[2], sys.argv[3]
seqs, errors = [], []


def note(event):
    if event.get("type") != "message.new":
        return
    expected = seqs[-1] + 1 if seqs else 1
    if event["seq"] != expected:
        errors.append((expected, event["seq"]))
    if not seqs or event["seq"] > seqs[-1]:
        seqs.append(event["seq"])


def get(path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    body = json.loads(response.read())
    assert response.status == 200, body
    conn.close()
    return body


def subscribe(since):
    """Subscribes with since; when the replay was truncated (more missed than
    fit), reads the older ones over REST first, as docs/protocol.md says."""
    c = WsClient(port, rcvbuf=4096, timeout=30)
    assert c.request("auth", token=token)["ok"]
    reply = c.request("subscribe", conversations=[{"conv": conv, "since": since}])
    assert reply["ok"] and not reply["result"]["errors"], reply
    result = reply["result"]["subscribed"][0]
    if result["truncated"]:
        first_replayed = result["last_seq"] - result["replayed"] + 1
        while (seqs[-1] if seqs else 0) + 1 < first_replayed:
            after = seqs[-1] if seqs else 0
            limit = min(100, first_replayed - 1 - after)
            for m in get(f"/api/conversations/{conv}/messages?after={after}&limit={limit}")["messages"]:
                note({"type": "message.new", "seq": m["seq"]})
    for e in c.events:
        note(e)
    c.events = []
    return c, result["replayed"]


c, _ = subscribe(0)
print("ready", flush=True)
closed = None
try:
    while True:
        note(c.recv())
except WsClosed as e:
    closed = e.code
print(json.dumps({"closed": closed, "last": seqs[-1] if seqs else 0}), flush=True)

total = int(sys.stdin.readline())
c, replayed = subscribe(seqs[-1] if seqs else 0)
while not seqs or seqs[-1] < total:
    note(c.recv())
print(json.dumps({"seqs": len(seqs), "last": seqs[-1], "errors": errors, "replayed": replayed}), flush=True)
