"""Durability across kill -9, migrations, and the command line."""

import os
import sqlite3
import subprocess
import unittest

from harness import BIN, DATABASE, Server


class DurabilityTest(unittest.TestCase):
    def test_acknowledged_messages_survive_kill_9(self):
        server = Server().start()
        data_dir = server.data_dir
        try:
            ann = server.register("ann_d")
            _, _, conv = server.request("POST", "/api/conversations", {"kind": "group", "title": "d"},
                                        token=ann["access_token"])
            acked = []
            for i in range(50):
                status, _, m = server.request("POST", f"/api/conversations/{conv['id']}/messages",
                                              {"client_id": f"k{i}", "body": f"durable {i}"},
                                              token=ann["access_token"])
                self.assertEqual(status, 201)
                acked.append(m["id"])
            server.kill()  # SIGKILL: no shutdown path runs
            restarted = Server(data_dir=data_dir).start()
            try:
                status, _, page = restarted.request(
                    "GET", f"/api/conversations/{conv['id']}/messages?after=0&limit=200",
                    token=restarted.login("ann_d")[2]["access_token"])
                self.assertEqual(status, 200)
                self.assertEqual([m["id"] for m in page["messages"]], acked)
                self.assertEqual([m["seq"] for m in page["messages"]], list(range(1, 51)))
                # A retry after the crash is still recognised.
                status, _, again = restarted.request(
                    "POST", f"/api/conversations/{conv['id']}/messages",
                    {"client_id": "k7", "body": "durable 7"}, token=restarted.login("ann_d")[2]["access_token"])
                self.assertEqual((status, again["id"]), (200, acked[7]))
                self.assertEqual(restarted.stop(), 0)
            finally:
                restarted.kill()
            if DATABASE == "sqlite":
                db = sqlite3.connect(os.path.join(data_dir, "parley.db"))
                self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
                self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "wal")
                db.close()
        finally:
            server.cleanup()


class CommandLineTest(unittest.TestCase):
    def run_parley(self, *args, env=None, cwd=None):
        e = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
        e.update(env or {})
        return subprocess.run([BIN, *args], capture_output=True, text=True, env=e, cwd=cwd, timeout=60)

    def test_version_and_help(self):
        r = self.run_parley("version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^parley \d+\.\d+\.\d+")
        r = self.run_parley("--help")
        self.assertEqual(r.returncode, 0)
        for cmd in ["serve", "migrate", "version", "config"]:
            self.assertIn(cmd, r.stdout)

    def test_migrate_creates_the_schema_and_is_idempotent(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            r = self.run_parley("migrate", "--data-dir", d)
            self.assertEqual(r.returncode, 0, r.stderr)
            shipped = len([f for f in os.listdir(os.path.join(os.path.dirname(__file__), "..", "..", "src", "store",
                                                              "migrations", "sqlite")) if f.endswith(".sql")])
            self.assertGreaterEqual(shipped, 2)
            self.assertIn(f"{shipped} migration(s) applied, schema version {shipped}", r.stdout)
            r = self.run_parley("migrate", "--data-dir", d)
            self.assertIn("0 migration(s) applied", r.stdout)
            db = sqlite3.connect(os.path.join(d, "parley.db"))
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            db.close()
            self.assertTrue({"users", "conversations", "members", "messages", "refresh_tokens",
                             "schema_migrations", "audit_events"} <= tables)

    def test_config_check_reports_bad_values_by_key(self):
        r = self.run_parley("config", "check", env={"PARLEY_SERVER_PORT": "http"})
        self.assertEqual(r.returncode, 2)
        self.assertIn("'server.port'", r.stderr)
        r = self.run_parley("config", "check", "--set", "http.max_body_bytes=1")
        self.assertEqual(r.returncode, 2)
        self.assertIn("'http.max_body_bytes'", r.stderr)
        r = self.run_parley("config", "check")
        self.assertEqual(r.returncode, 0)
        self.assertIn("auth.jwt_secret = <redacted>", r.stdout)
        self.assertIn("development default", r.stderr)

    def test_production_refuses_insecure_settings(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            r = self.run_parley("serve", "--port", "0", "--data-dir", d, env={"PARLEY_MODE": "production"})
            self.assertEqual(r.returncode, 2)
            self.assertIn("'auth.jwt_secret'", r.stderr)
            r = self.run_parley("serve", "--port", "0", "--data-dir", d,
                                env={"PARLEY_MODE": "production", "PARLEY_AUTH_JWT_SECRET": "short"})
            self.assertEqual(r.returncode, 2)
            self.assertIn("32 bytes", r.stderr)
            r = self.run_parley("serve", "--port", "0", "--data-dir", d,
                                env={"PARLEY_MODE": "production", "PARLEY_AUTH_JWT_SECRET": "k" * 48,
                                     "PARLEY_CORS_ALLOWED_ORIGINS": "*"})
            self.assertEqual(r.returncode, 2)
            self.assertIn("'cors.allowed_origins'", r.stderr)

    def test_config_file_is_read(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "parley.toml"), "w") as f:
                f.write('[server]\nport = 9123\n')
            r = self.run_parley("config", "check", cwd=d)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("server.port = 9123", r.stdout)
            with open(os.path.join(d, "parley.toml"), "w") as f:
                f.write('[server]\nprot = 9123\n')
            r = self.run_parley("config", "check", cwd=d)
            self.assertEqual(r.returncode, 2)
            self.assertIn("unknown config key 'server.prot'", r.stderr)


if __name__ == "__main__":
    unittest.main()
