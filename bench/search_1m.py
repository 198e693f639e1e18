#!/usr/bin/env python3
"""Search over a million messages on SQLite: p50/p95/p99 of GET
/api/search/messages for a member of 100 of 200 conversations.

Registers the users through the server, stops it, loads MESSAGES rows
straight into its SQLite file (words from a mixed English, Cyrillic and CJK
vocabulary; the insert trigger queues each for indexing as the send path
does), starts the server again, waits until the indexer has drained the
queue (timing it), then runs a mix of queries (a common word, a rare word, a
substring, a two-word phrase, CJK, Cyrillic, from:, a filter alone) and
prints one JSON line. Loopback only.

  bench/search_1m.py [MESSAGES]      (default 1,000,000)
"""

import json
import os
import random
import sqlite3
import sys
import time
from urllib.parse import quote

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
import harness  # noqa: E402

WORDS = ("the of and to in is you that it he was for on are as with his they at be this have from or one had by "
         "word but not what all were we when your can said there use an each which she do how their if will up "
         "other about out many then them these so some her would make like him into time has look two more write "
         "go see number no way could people my than first water been call who oil its now find long down day did "
         "get come made may part release deploy server client message thread poll search index launch meeting "
         "привет мир релиз завтра сервер сообщение 我们 明天 发布 新版本 会議 東京 検索 서버 검색 메시지").split()
RARE = "xylophone"
CONVERSATIONS = 200


def pct(values, p):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * p))], 2)


def main():
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    binary = os.environ.get("PARLEY_BIN", os.path.join(os.path.dirname(__file__), "..", "build", "release", "parley"))
    os.environ["PARLEY_BIN"] = binary
    settings = {"log.access_log": "false", "auth.login_ip_max_attempts": "100000"}
    server = harness.Server(settings).start()
    me = server.register("reader_bench")
    other = server.register("writer_bench")
    convs = []
    for i in range(CONVERSATIONS):
        members = [other["user"]["id"]]
        owner = me if i % 2 == 0 else other  # the reader is in half of them
        if owner is other:
            members = []
        _, _, c = server.request("POST", "/api/conversations", {"kind": "group", "title": f"c{i}", "members": members},
                                 token=owner["access_token"])
        convs.append(int(c["id"]))
    data_dir = server.data_dir
    server.stop()
    first = server

    db = sqlite3.connect(os.path.join(data_dir, "parley.db"), isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    rnd = random.Random(7)
    sender = int(other["user"]["id"])
    t0 = time.time()
    next_id = 10**15
    db.execute("BEGIN")
    seqs = {c: 0 for c in convs}
    for n in range(total):
        conv = convs[n % CONVERSATIONS]
        seqs[conv] += 1
        words = [rnd.choice(WORDS) for _ in range(rnd.randint(4, 20))]
        if n % 50_000 == 16:  # in one of the reader's conversations
            words.append(RARE)
        if n % 100 == 4:
            words.append(f"https://example.com/{n}")
        db.execute("INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, body, created_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (next_id + n, conv, seqs[conv], sender, f"load-{n}", " ".join(words), 1_700_000_000_000 + n))
        db.execute("INSERT INTO search_queue (id) VALUES (?)", (next_id + n,))  # as the send path does
        if n % 100_000 == 99_999:
            db.execute("COMMIT")
            db.execute("BEGIN")
    for conv, seq in seqs.items():
        db.execute("UPDATE conversations SET last_seq = ? WHERE id = ?", (seq, conv))
    db.execute("COMMIT")
    load_s = time.time() - t0
    db.close()

    server = harness.Server(settings, data_dir=data_dir).start()
    t0 = time.time()
    while True:
        probe = sqlite3.connect(f"file:{os.path.join(data_dir, 'parley.db')}?mode=ro", uri=True)
        left = probe.execute("SELECT COUNT(*) FROM search_queue").fetchone()[0]
        probe.close()
        if left == 0:
            break
        time.sleep(1)
    index_s = time.time() - t0

    queries = ["server", RARE, "elea", '"release deploy"', "发布", "сервер", "from:writer_bench launch",
               "has:link", "meeting -time", "東京"]
    latencies = {q: [] for q in queries}
    hits = {}
    for _ in range(20):
        for q in queries:
            t = time.perf_counter()
            status, _, body = server.request("GET", f"/api/search/messages?q={quote(q)}", token=me["access_token"])
            latencies[q].append((time.perf_counter() - t) * 1000)
            assert status == 200, body
            hits[q] = len(body["messages"])
    every = [v for vs in latencies.values() for v in vs]
    print(json.dumps({
        "messages": total,
        "load_s": round(load_s, 1),
        "index_s": round(index_s, 1),
        "index_per_s": round(total / index_s) if index_s else None,
        "p50_ms": pct(every, 0.5), "p95_ms": pct(every, 0.95), "p99_ms": pct(every, 0.99),
        "per_query_p95_ms": {q: pct(v, 0.95) for q, v in latencies.items()},
        "hits": hits,
    }, ensure_ascii=False))
    server.stop()
    first.cleanup()


if __name__ == "__main__":
    main()
