"""Disk full (issue 6): the SQLite database on a 4 MiB tmpfs that a filler
file then nearly fills. Sends must fail with a clear error instead of an
acknowledgement, the process must stay up, and once space is freed writes
succeed again and the database passes its integrity check. Needs root (to
mount); skipped otherwise."""

import os
import sqlite3
import subprocess
import tempfile
import unittest

from harness import Server


class DiskFullTest(unittest.TestCase):
    def setUp(self):
        self.mnt = tempfile.mkdtemp(prefix="parley-full-")
        if os.geteuid() != 0:
            self.skipTest("mounting a small tmpfs needs root")
        out = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", self.mnt],
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

    def test_sends_fail_clearly_while_full_and_work_again_after(self):
        data = os.path.join(self.mnt, "data")
        server = Server({"database.url": f"sqlite://{data}/parley.db"}).start()
        try:
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
            self.assertEqual({s for s, _ in errors}, {503}, errors)
            self.assertTrue(any("full" in d or "unavailable" in d for _, d in errors), errors)
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
            self.assertEqual(server.stop(), 0)
            db = sqlite3.connect(os.path.join(data, "parley.db"))
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            db.close()
        finally:
            server.kill()
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
