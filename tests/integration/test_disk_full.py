"""Disk full (issue 6): the SQLite database on a 4 MiB tmpfs that a filler
file then nearly fills, and a PostgreSQL database whose tablespace is such a
tmpfs. Sends must fail with a clear error instead of an acknowledgement, the
process must stay up, and once space is freed writes succeed again and the
database passes its integrity check (PRAGMA integrity_check; amcheck's heap
and B-tree checks). Needs root (to mount); skipped otherwise. The PostgreSQL
case uses the server of PARLEY_TEST_POSTGRES_URL (scripts/test.sh starts one)."""

import os
import pwd
import sqlite3
import subprocess
import tempfile
import unittest
import urllib.parse
import uuid

from harness import Server


class DiskFullTest(unittest.TestCase):
    SIZE = "4m"

    def setUp(self):
        self.mnt = tempfile.mkdtemp(prefix="parley-full-")
        if os.geteuid() != 0:
            self.skipTest("mounting a small tmpfs needs root")
        out = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.SIZE}", "tmpfs", self.mnt],
                             capture_output=True, text=True)
        if out.returncode != 0:
            self.skipTest("cannot mount a tmpfs here: " + out.stderr.strip())

    def tearDown(self):
        subprocess.run(["umount", self.mnt], capture_output=True)
        os.rmdir(self.mnt)

    def fill(self, leave_bytes):
        """Writes a filler file until about leave_bytes are free."""
        path = os.path.join(self.mnt, "filler")
        st = os.statvfs(self.mnt)
        free = st.f_bavail * st.f_frsize
        with open(path, "ab") as f:
            f.write(b"\0" * max(0, free - leave_bytes))
        return path

    def fill_and_send(self, server):
        """Fills the disk under a running server; returns (filler path, acked)
        after checking that sends were refused clearly and nothing else broke."""
        ann = server.register("full_ann")
        token = ann["access_token"]
        _, _, conv = server.request("POST", "/api/conversations", {"kind": "group", "title": "f"},
                                    token=token)
        self.assertEqual(server.request("POST", f"/api/conversations/{conv['id']}/messages",
                                        {"client_id": "before", "body": "x"}, token=token)[0], 201)
        filler = self.fill(0)
        acked, refused, errors = [], 0, set()
        for i in range(200):
            status, _, body = server.request("POST", f"/api/conversations/{conv['id']}/messages",
                                             {"client_id": f"f{i}", "body": "y" * 2000}, token=token)
            if status == 201:
                acked.append(f"f{i}")
            else:
                refused += 1
                errors.add((status, body.get("detail")))
        print(f"\ndisk full: {len(acked)} acknowledged after filling, {refused} refused with {sorted(errors)}",
              flush=True)
        self.assertGreater(refused, 0, "the disk never filled up")
        self.assertEqual(errors, {(503, "database disk is full")})
        self.assertIsNone(server.proc.poll(), "the server died")
        self.assertEqual(server.request("GET", "/api/live")[0], 200)
        # Space back: writes work again, and everything acknowledged is there.
        os.remove(filler)
        status, _, m = server.request("POST", f"/api/conversations/{conv['id']}/messages",
                                      {"client_id": "after", "body": "z"}, token=token)
        self.assertEqual(status, 201, m)
        status, _, page = server.request(
            "GET", f"/api/conversations/{conv['id']}/messages?after=0&limit=200", token=token)
        stored = [x["client_id"] for x in page["messages"]]
        self.assertEqual(stored, ["before"] + acked + ["after"])
        self.assertEqual([x["seq"] for x in page["messages"]], list(range(1, len(stored) + 1)))

    def test_sends_fail_clearly_while_full_and_work_again_after(self):
        data = os.path.join(self.mnt, "data")
        server = Server({"database.url": f"sqlite://{data}/parley.db"}).start()
        try:
            self.fill_and_send(server)
            self.assertEqual(server.stop(), 0)
            db = sqlite3.connect(os.path.join(data, "parley.db"))
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            db.close()
        finally:
            server.kill()
            server.cleanup()


def psql(url, sql):
    out = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError(f"psql: {out.stderr.strip()}")
    return out.stdout.strip()


class PostgresDiskFullTest(DiskFullTest):
    """The conversation tables live in a tablespace on a 24 MiB tmpfs (the
    write-ahead log stays on the main disk, as on a server whose data volume
    fills first: a full WAL volume stops PostgreSQL itself)."""

    SIZE = "24m"

    def setUp(self):
        self.admin_url = os.environ.get("PARLEY_TEST_POSTGRES_URL")
        if not self.admin_url:
            self.skipTest("PARLEY_TEST_POSTGRES_URL is not set (scripts/test.sh starts PostgreSQL)")
        super().setUp()
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            self.skipTest("no postgres user owns the server's files")
        os.chown(self.mnt, owner.pw_uid, owner.pw_gid)
        tag = uuid.uuid4().hex[:12]
        self.space, self.db = f"full_{tag}", f"full_{tag}"
        psql(self.admin_url, f"CREATE TABLESPACE {self.space} LOCATION '{self.mnt}'")
        psql(self.admin_url, f"CREATE DATABASE {self.db} TABLESPACE {self.space}")
        parts = urllib.parse.urlsplit(self.admin_url)
        self.url = urllib.parse.urlunsplit(parts._replace(path="/" + self.db))

    def tearDown(self):
        if getattr(self, "db", None):
            psql(self.admin_url, f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)")
            psql(self.admin_url, f"DROP TABLESPACE IF EXISTS {self.space}")
        super().tearDown()

    def test_sends_fail_clearly_while_full_and_work_again_after(self):
        server = Server({"database.url": self.url}).start()
        try:
            self.fill_and_send(server)
            self.assertEqual(server.stop(), 0)
            # amcheck: every heap page and B-tree index of ours is sound.
            psql(self.url, "CREATE EXTENSION IF NOT EXISTS amcheck")
            corrupt = psql(self.url, "SELECT count(*) FROM pg_class c, verify_heapam(c.oid) "
                                     "WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace")
            self.assertEqual(corrupt, "0")
            checked = psql(self.url, "SELECT count(bt_index_check(c.oid, true)) FROM pg_class c "
                                     "JOIN pg_am a ON a.oid = c.relam WHERE c.relkind = 'i' AND a.amname = 'btree' "
                                     "AND c.relnamespace = 'public'::regnamespace")
            self.assertGreater(int(checked), 0)
        finally:
            server.kill()
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
