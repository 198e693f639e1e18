"""`parley preflight`: each check against a real machine state, and the exit
code an operator's deploy script relies on (1 when anything fails)."""

import json
import os
import resource
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
import unittest

from harness import BIN, Server

POSTGRES_URL = os.environ.get("PARLEY_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("PARLEY_TEST_REDIS_URL", "")
SECRET = "s" * 48


class PreflightTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="parley-preflight-")
        self.data = os.path.join(self.tmp, "data")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def preflight(self, *sets, port=0, data=None, preexec=None):
        args = [BIN, "preflight", "--json", "--port", str(port), "--data-dir", data or self.data]
        for s in sets:
            args += ["--set", s]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
        r = subprocess.run(args, capture_output=True, text=True, timeout=30, env=env, preexec_fn=preexec)
        out = json.loads(r.stdout)
        checks = {}
        for c in out["checks"]:
            checks.setdefault(c["name"], c)  # "config" may repeat: the first is enough here
        return r.returncode, checks, out

    def test_a_fresh_development_node_passes_with_warnings_and_creates_nothing_but_its_directory(self):
        rc, checks, out = self.preflight()
        self.assertEqual(rc, 0, out)
        self.assertEqual(out["failed"], 0)
        self.assertEqual(set(checks), {"mode", "config", "database", "redis", "listen", "open_files", "disk",
                                       "backups", "exposure"})
        self.assertEqual(checks["mode"]["status"], "warn")
        self.assertIn("will be created", checks["database"]["detail"])
        self.assertEqual(checks["backups"]["status"], "warn")
        self.assertFalse(os.path.exists(os.path.join(self.data, "parley.db")))
        # The table form ends with a summary line.
        r = subprocess.run([BIN, "preflight", "--port", "0", "--data-dir", self.data], capture_output=True,
                           text=True, timeout=30)
        self.assertRegex(r.stdout.splitlines()[-1], r"^preflight: 0 failed, \d warning\(s\), 9 checks$")

    def test_a_port_in_use_fails(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen()
        try:
            rc, checks, _ = self.preflight(port=s.getsockname()[1])
        finally:
            s.close()
        self.assertEqual(rc, 1)
        self.assertEqual(checks["listen"]["status"], "fail")
        self.assertIn("Address already in use", checks["listen"]["detail"])

    def test_a_running_server_is_named_and_a_newer_schema_fails(self):
        os.makedirs(self.data)
        server = Server(data_dir=self.data).start()
        try:
            rc, checks, _ = self.preflight()
            self.assertEqual(rc, 0)
            self.assertEqual(checks["database"]["status"], "warn")
            self.assertIn(f"pid {server.proc.pid}", checks["database"]["detail"])
            self.assertEqual(server.stop(), 0)
        finally:
            server.kill()
        rc, checks, _ = self.preflight()
        self.assertEqual((rc, checks["database"]["status"]), (0, "ok"))
        self.assertIn("current", checks["database"]["detail"])
        db = sqlite3.connect(os.path.join(self.data, "parley.db"))
        db.execute("INSERT INTO schema_migrations VALUES (999, 'from the future', 0)")
        db.commit()
        db.close()
        rc, checks, _ = self.preflight()
        self.assertEqual(rc, 1)
        self.assertEqual(checks["database"]["status"], "fail")
        self.assertIn("schema version 999, newer than this binary's", checks["database"]["detail"])

    def test_backups_open_files_and_exposure(self):
        backups = os.path.join(self.tmp, "backups")
        os.makedirs(backups)
        stale = os.path.join(backups, "parley-20260101T000000Z.db")
        open(stale, "w").close()
        os.utime(stale, (time.time() - 7200, time.time() - 7200))
        rc, checks, _ = self.preflight(f"backup.dir={backups}", "backup.interval_s=600")
        self.assertEqual((rc, checks["backups"]["status"]), (0, "warn"))
        self.assertRegex(checks["backups"]["detail"], r"newest is 7\d\d\d s old")
        os.utime(stale)
        rc, checks, _ = self.preflight(f"backup.dir={backups}", "backup.interval_s=600")
        self.assertEqual(checks["backups"]["status"], "ok", checks["backups"])

        blocker = os.path.join(self.tmp, "a-file")
        open(blocker, "w").close()
        rc, checks, _ = self.preflight(f"backup.dir={blocker}/backups")
        self.assertEqual((rc, checks["backups"]["status"]), (1, "fail"))

        def low_fd_limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

        rc, checks, _ = self.preflight("server.max_connections=10000", preexec=low_fd_limit)
        self.assertEqual((rc, checks["open_files"]["status"]), (0, "warn"))
        self.assertIn("hard limit 1024", checks["open_files"]["detail"])

        rc, checks, _ = self.preflight("server.host=0.0.0.0")
        self.assertEqual(checks["exposure"]["status"], "warn")
        self.assertIn("metrics.token unset", checks["exposure"]["detail"])
        rc, checks, _ = self.preflight("server.host=0.0.0.0", "metrics.token=t0k3n")
        self.assertIn("/metrics needs metrics.token", checks["exposure"]["detail"])
        rc, checks, _ = self.preflight("server.host=10.1.2.3")
        self.assertEqual(checks["exposure"]["status"], "ok")

    @unittest.skipUnless(POSTGRES_URL and REDIS_URL, "needs PARLEY_TEST_POSTGRES_URL and PARLEY_TEST_REDIS_URL")
    def test_a_production_cluster_node_against_real_postgres_and_redis(self):
        base = ["mode=production", f"auth.jwt_secret={SECRET}", f"database.url={POSTGRES_URL}"]
        rc, checks, out = self.preflight(*base, f"redis.url={REDIS_URL}")
        self.assertEqual(rc, 0, out)
        self.assertEqual(out["warnings"], 0, out)
        self.assertIn("schema version", checks["database"]["detail"])
        self.assertIn("***", checks["database"]["detail"])  # the password is not printed
        self.assertEqual(checks["redis"]["detail"].split(": ")[1], "answers PING")

        wrong = REDIS_URL.replace(":parley@", ":wrong@")
        self.assertNotEqual(wrong, REDIS_URL)
        rc, checks, _ = self.preflight(*base, f"redis.url={wrong}")
        self.assertEqual((rc, checks["redis"]["status"]), (1, "fail"))
        self.assertIn("WRONGPASS", checks["redis"]["detail"])

        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()  # nothing listens there now
        t0 = time.monotonic()
        rc, checks, _ = self.preflight("mode=production", f"auth.jwt_secret={SECRET}",
                                       f"database.url=postgres://parley:parley@127.0.0.1:{port}/parley",
                                       f"redis.url=redis://:parley@127.0.0.1:{port}/0")
        self.assertEqual(rc, 1)
        self.assertEqual(checks["database"]["status"], "fail")
        self.assertIn("Connection refused", checks["database"]["detail"])
        self.assertEqual(checks["redis"]["status"], "fail")
        self.assertLess(time.monotonic() - t0, 10)


if __name__ == "__main__":
    unittest.main()
