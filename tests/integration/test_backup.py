"""Backups of the embedded SQLite database: scheduled (backup.dir,
backup.interval_s, backup.keep) and on demand (`parley backup --to`), taken
while messages are being written. A backup is the database as of one commit:
restored, it holds a gapless prefix of every conversation, including every
message acknowledged before the backup began, and the server carries on from it."""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

from harness import BIN, Server, ws_connect


def metric(server, pattern):
    _, _, text = server.request("GET", "/metrics")
    m = re.search("^" + pattern + r" (\S+)", text, re.M)
    return float(m.group(1)) if m else None


class BackupTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="parley-backup-")
        self.backups = os.path.join(self.tmp, "backups")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def parley(self, *args):
        return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60)

    def test_backups_under_load_restore_to_a_consistent_prefix(self):
        server = Server({"backup.dir": self.backups, "backup.interval_s": "1", "backup.keep": "2"}).start()
        restored = None
        try:
            token = server.register("bk_ann")["access_token"]
            _, _, conv = server.request("POST", "/api/conversations", {"kind": "group", "title": "bk"},
                                        token=token)
            path = f"/api/conversations/{conv['id']}/messages"
            acked, stop = [], threading.Event()

            def write():
                i = 0
                while not stop.is_set():
                    status, _, m = server.request("POST", path, {"client_id": f"w{i}", "body": f"m{i}"}, token=token)
                    if status == 201:
                        acked.append(m["seq"])
                    i += 1

            writer = threading.Thread(target=write)
            writer.start()
            time.sleep(0.5)
            before = len(acked)  # acknowledged before the backup began
            copy = os.path.join(self.tmp, "manual.db")
            r = self.parley("backup", "--data-dir", server.data_dir, "--to", copy)
            time.sleep(2.5)  # scheduled backups keep running alongside
            stop.set()
            writer.join()
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn('"integrity":"ok"', r.stdout)
            self.assertGreater(before, 0)

            # Scheduled: at least three taken, the newest two kept, all counted.
            # A scheduled backup may be in progress as we look (written under
            # a .tmp name, renamed when verified): those are not kept ones.
            kept = sorted(k for k in os.listdir(self.backups) if ".tmp" not in k)
            self.assertEqual(len(kept), 2, kept)
            self.assertTrue(all(re.fullmatch(r"parley-\d{8}T\d{6}Z\.db", k) for k in kept), kept)
            self.assertGreaterEqual(metric(server, r'parley_backups_total\{outcome="ok"\}'), 3)
            self.assertEqual(metric(server, r'parley_backups_total\{outcome="failed"\}'), 0)
            self.assertGreater(metric(server, "parley_backup_last_success_timestamp_seconds"), time.time() - 60)
            self.assertEqual(self.parley("backup", "--verify", os.path.join(self.backups, kept[-1])).returncode, 0)
            self.assertEqual(server.stop(), 0)

            # Restore the manual copy into a fresh data directory and serve from it.
            data = os.path.join(self.tmp, "restored")
            os.makedirs(data)
            shutil.copy(copy, os.path.join(data, "parley.db"))
            restored = Server(data_dir=data).start()
            token = restored.login("bk_ann")[2]["access_token"]
            seqs = []
            while True:
                status, _, page = restored.request("GET", f"{path}?after={seqs[-1] if seqs else 0}&limit=200",
                                                   token=token)
                self.assertEqual(status, 200, page)
                if not page["messages"]:
                    break
                seqs += [m["seq"] for m in page["messages"]]
            self.assertEqual(seqs, list(range(1, len(seqs) + 1)), "not a gapless prefix")
            self.assertGreaterEqual(len(seqs), before)
            self.assertLessEqual(len(seqs), len(acked))
            status, _, m = restored.request("POST", path, {"client_id": "after-restore", "body": "x"}, token=token)
            self.assertEqual((status, m["seq"]), (201, len(seqs) + 1))
            print(f"\nbackup: {before} acked before it began, {len(seqs)} in the copy, {len(acked)} acked in all; "
                  f"scheduled kept {kept}")
        finally:
            server.kill()
            server.cleanup()
            if restored:
                restored.kill()
                restored.cleanup()

    def test_restore_replaces_the_database_keeps_the_old_one_and_never_runs_under_a_server(self):
        data = os.path.join(self.tmp, "data")
        os.makedirs(data)
        server = Server(data_dir=data).start()
        restored = None
        try:
            token = server.register("rs_ann")["access_token"]
            _, _, conv = server.request("POST", "/api/conversations", {"kind": "group", "title": "rs"},
                                        token=token)
            path = f"/api/conversations/{conv['id']}/messages"

            def post(n, prefix):
                for i in range(n):
                    status, _, m = server.request("POST", path, {"client_id": f"{prefix}{i}", "body": "x"},
                                                  token=token)
                    self.assertEqual(status, 201, m)

            post(5, "a")
            copy = os.path.join(self.tmp, "five.db")
            self.assertEqual(self.parley("backup", "--data-dir", data, "--to", copy).returncode, 0)
            post(5, "b")

            # One process per database: a restore or a second server is refused while one runs.
            pid = f"pid {server.proc.pid}"
            r = self.parley("restore", "--data-dir", data, "--from", copy)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn("in use by another parley process", r.stderr)
            self.assertIn(pid, r.stderr)
            r = subprocess.run([BIN, "serve", "--data-dir", data, "--port", "0"], capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(r.returncode, 1)
            self.assertIn(pid, r.stderr)
            r = self.parley("migrate", "--data-dir", data)
            self.assertEqual(r.returncode, 1)
            self.assertIn(pid, r.stderr)
            status, _, page = server.request("GET", f"{path}?after=0&limit=100", token=token)
            self.assertEqual([m["seq"] for m in page["messages"]], list(range(1, 11)))
            self.assertEqual(server.stop(), 0)

            # A copy that does not verify is refused and nothing is touched.
            junk = os.path.join(self.tmp, "junk.db")
            with open(junk, "wb") as f:
                f.write(b"SQLite format 3\0" + b"\xff" * 4096)
            before = sorted(os.listdir(data))
            r = self.parley("restore", "--data-dir", data, "--from", junk)
            self.assertEqual(r.returncode, 1)
            self.assertIn("restore failed", r.stderr)
            self.assertEqual(sorted(os.listdir(data)), before)
            r = self.parley("restore", "--data-dir", data, "--from", os.path.join(self.tmp, "missing.db"))
            self.assertEqual(r.returncode, 1)
            self.assertIn("no backup file", r.stderr)

            r = self.parley("restore", "--data-dir", data, "--from", copy)
            self.assertEqual(r.returncode, 0, r.stderr)
            report = json.loads(r.stdout)
            self.assertEqual((report["messages"], report["integrity"]), (5, "ok"))
            self.assertTrue(report["previous"].startswith(os.path.join(data, "parley.db.before-restore-")))

            # The replaced database is kept whole: all ten messages are in it.
            old = sqlite3.connect(f"file:{report['previous']}?mode=ro", uri=True)
            self.assertEqual(old.execute("SELECT count(*) FROM messages").fetchone()[0], 10)
            old.close()

            restored = Server(data_dir=data).start()
            token = restored.login("rs_ann")[2]["access_token"]
            status, _, page = restored.request("GET", f"{path}?after=0&limit=100", token=token)
            self.assertEqual([m["seq"] for m in page["messages"]], [1, 2, 3, 4, 5])
            # A client that saw seq 10 before the restore is told it is ahead, then gets the new 6 live.
            ws = ws_connect(restored, token)
            reply = ws.request("subscribe", conversations=[{"conv": conv["id"], "since": 10}])
            sub = reply["result"]["subscribed"][0]
            self.assertEqual((sub["last_seq"], sub["rewound"], sub["replayed"]), (5, True, 0), reply)
            status, _, m = restored.request("POST", path, {"client_id": "after", "body": "x"}, token=token)
            self.assertEqual((status, m["seq"]), (201, 6))
            self.assertEqual(ws.event("message.new")["message"]["seq"], 6)
            ws.close()
            r = self.parley("restore", "--set", "database.url=postgres://u:p@127.0.0.1:1/db", "--from", copy)
            self.assertEqual(r.returncode, 2)
            self.assertIn("pg_restore", r.stderr)
        finally:
            server.kill()
            if restored:
                restored.kill()

    def test_a_failing_backup_is_counted_and_the_server_carries_on(self):
        blocker = os.path.join(self.tmp, "not-a-directory")
        open(blocker, "w").close()
        server = Server({"backup.dir": blocker, "backup.interval_s": "1"}).start()
        try:
            deadline = time.time() + 10
            while (metric(server, r'parley_backups_total\{outcome="failed"\}') or 0) < 1 and time.time() < deadline:
                time.sleep(0.1)
            self.assertGreaterEqual(metric(server, r'parley_backups_total\{outcome="failed"\}'), 1)
            self.assertEqual(metric(server, "parley_backup_last_success_timestamp_seconds"), 0)
            self.assertEqual(server.request("GET", "/api/ready")[0], 200)
            self.assertEqual(server.stop(), 0)
        finally:
            server.kill()
            server.cleanup()

    def test_bad_requests_are_refused_clearly(self):
        data = os.path.join(self.tmp, "data")
        self.assertEqual(self.parley("migrate", "--data-dir", data).returncode, 0)
        first = os.path.join(self.tmp, "one.db")
        self.assertEqual(self.parley("backup", "--data-dir", data, "--to", first).returncode, 0)
        r = self.parley("backup", "--data-dir", data, "--to", first)
        self.assertEqual(r.returncode, 1)
        self.assertIn("already exists", r.stderr)
        junk = os.path.join(self.tmp, "junk.db")
        with open(junk, "w") as f:
            f.write("not a database")
        r = self.parley("backup", "--verify", junk)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not a database", r.stderr)
        r = self.parley("backup", "--set", "database.url=postgres://u:p@127.0.0.1:1/db", "--to", first + "2")
        self.assertEqual(r.returncode, 2)
        self.assertIn("pg_dump", r.stderr)
        r = self.parley("config", "check", "--set", "database.url=postgres://u:p@127.0.0.1:1/db",
                        "--set", f"backup.dir={self.backups}")
        self.assertEqual(r.returncode, 2)
        self.assertIn("'backup.dir'", r.stderr)


if __name__ == "__main__":
    unittest.main()
