"""User administration: the first account is admin; disabling cuts access at once."""

import os
import re
import sqlite3
import time
import unittest

from harness import DATABASE, Server, ServerTest


class AdminTest(ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = cls.server.register("root_a")    # first account: admin
        cls.bob = cls.server.register("bob_a")

    def test_first_account_is_admin_and_others_are_users(self):
        self.assertEqual(self.root["user"]["role"], "admin")
        self.assertEqual(self.bob["user"]["role"], "user")

    def test_only_admins_administer(self):
        self.assertProblem(self.server.request("GET", "/api/admin/users", token=self.bob["access_token"]), 403)
        self.assertProblem(self.server.request("PATCH", f"/api/admin/users/{self.root['user']['id']}",
                                               {"disabled": True}, token=self.bob["access_token"]), 403)
        status, _, page = self.server.request("GET", "/api/admin/users?limit=1", token=self.root["access_token"])
        self.assertEqual(status, 200)
        self.assertEqual(len(page["users"]), 1)
        _, _, rest = self.server.request("GET", f"/api/admin/users?after={page['next_after']}",
                                         token=self.root["access_token"])
        self.assertIn("bob_a", [u["username"] for u in rest["users"]])

    def test_stats_for_the_admin_charts(self):
        self.assertProblem(self.server.request("GET", "/api/admin/stats", token=self.bob["access_token"]), 403)
        status, _, before = self.server.request("GET", "/api/admin/stats", token=self.root["access_token"])
        self.assertEqual(status, 200)
        series = before["series"]
        for name in ("parley_ws_connections", "parley_messages_total", "parley_store_queue_depth"):
            self.assertIsInstance(series[name], (int, float), name)
        commit = series["parley_store_commit_seconds"]
        self.assertEqual(len(commit["buckets"]), len(commit["bounds"]) + 1)
        self.assertEqual(sum(commit["buckets"]), commit["count"])
        _, _, conv = self.server.request("POST", "/api/conversations", {"kind": "group", "title": "stats"},
                                         token=self.root["access_token"])
        for i in range(3):
            self.server.request("POST", f"/api/conversations/{conv['id']}/messages",
                                {"client_id": f"stats-{i}", "body": "x"}, token=self.root["access_token"])
        _, _, after = self.server.request("GET", "/api/admin/stats", token=self.root["access_token"])
        self.assertEqual(after["series"]["parley_messages_total"] - series["parley_messages_total"], 3)
        self.assertGreater(after["series"]["parley_store_commit_seconds"]["count"], commit["count"])
        self.assertGreaterEqual(after["ts"], before["ts"])

    def test_disabling_a_user_cuts_access_and_enabling_restores_it(self):
        carl = self.server.register("carl_a")
        uid = carl["user"]["id"]
        self.assertEqual(self.server.request("GET", "/api/auth/me", token=carl["access_token"])[0], 200)
        status, _, user = self.server.request("PATCH", f"/api/admin/users/{uid}", {"disabled": True},
                                              token=self.root["access_token"])
        self.assertEqual((status, user["disabled"]), (200, True))
        self.assertProblem(self.server.request("GET", "/api/auth/me", token=carl["access_token"]), 401, "disabled")
        self.assertProblem(self.server.request("GET", "/api/conversations", token=carl["access_token"]), 401)
        self.assertProblem(self.server.request("POST", "/api/auth/refresh",
                                               {"refresh_token": carl["refresh_token"]}), 401)
        self.assertProblem(self.server.login("carl_a"), 401)
        self.server.request("PATCH", f"/api/admin/users/{uid}", {"disabled": False}, token=self.root["access_token"])
        self.assertEqual(self.server.login("carl_a")[0], 200)

    def test_roles_change_and_admins_cannot_lock_themselves_out(self):
        dina = self.server.register("dina_a")
        status, _, user = self.server.request("PATCH", f"/api/admin/users/{dina['user']['id']}", {"role": "admin"},
                                              token=self.root["access_token"])
        self.assertEqual((status, user["role"]), (200, "admin"))
        # The role is read from the store, so dina's existing token works as admin at once.
        self.assertEqual(self.server.request("GET", "/api/admin/users", token=dina["access_token"])[0], 200)
        rid = self.root["user"]["id"]
        self.assertProblem(self.server.request("PATCH", f"/api/admin/users/{rid}", {"disabled": True},
                                               token=self.root["access_token"]), 400)
        self.assertProblem(self.server.request("PATCH", f"/api/admin/users/{rid}", {"role": "user"},
                                               token=self.root["access_token"]), 400)
        self.assertProblem(self.server.request("PATCH", f"/api/admin/users/{rid}", {"role": "god"},
                                               token=self.root["access_token"]), 400)
        self.assertProblem(self.server.request("PATCH", f"/api/admin/users/{rid}", {"disabled": "yes"},
                                               token=self.root["access_token"]), 400)
        self.assertProblem(self.server.request("PATCH", f"/api/admin/users/{rid}", {},
                                               token=self.root["access_token"]), 400)
        self.assertProblem(self.server.request("PATCH", "/api/admin/users/12345", {"role": "user"},
                                               token=self.root["access_token"]), 404)


    def audit(self, query=""):
        status, _, page = self.server.request("GET", f"/api/admin/audit{query}", token=self.root["access_token"])
        self.assertEqual(status, 200, page)
        return page

    def test_the_audit_trail_records_each_security_event_of_an_account(self):
        dora = self.server.register("dora_a")
        uid, rid = dora["user"]["id"], self.root["user"]["id"]
        status, _, session = self.server.login("dora_a")
        self.assertEqual(status, 200)
        self.assertEqual(self.server.login("dora_a", "wrong password!")[0], 401)
        first = dora["refresh_token"]
        self.assertEqual(self.server.request("POST", "/api/auth/refresh", {"refresh_token": first})[0], 200)
        self.assertEqual(self.server.request("POST", "/api/auth/refresh", {"refresh_token": first})[0], 401)  # reuse
        self.assertEqual(self.server.request("POST", "/api/auth/logout",
                                             {"refresh_token": session["refresh_token"]})[0], 204)
        for disabled in (True, False):
            self.assertEqual(self.server.request("PATCH", f"/api/admin/users/{uid}", {"disabled": disabled},
                                                 token=self.root["access_token"])[0], 200)

        events = self.audit(f"?user={uid}")["events"]
        self.assertEqual([e["action"] for e in events],
                         ["admin.user_updated", "admin.user_updated", "logout", "session.token_reused",
                          "login.failed", "login.succeeded", "user.registered"])
        self.assertEqual(events[0]["detail"], {"disabled": [True, False]})
        self.assertEqual(events[1]["detail"], {"disabled": [False, True]})
        self.assertEqual((events[1]["actor_id"], events[1]["target_id"]), (rid, uid))
        self.assertEqual(events[4]["detail"], {"username": "dora_a", "reason": "wrong_password"})
        self.assertEqual(events[6]["detail"], {"username": "dora_a", "role": "user"})
        self.assertTrue(all(e["ip"] == "127.0.0.1" for e in events), events)
        self.assertEqual(sorted(e["id"] for e in events)[::-1], [e["id"] for e in events])
        self.assertTrue(all(e["at"] > 1.7e12 for e in events))

        # A name that does not exist: recorded with no actor; the client heard the same 401.
        status, _, body = self.server.login("nobody_a", "whatever password")
        self.assertEqual(status, 401)
        failed = self.audit("?action=login.failed&limit=1")["events"]
        self.assertEqual(failed[0]["detail"], {"username": "nobody_a", "reason": "unknown_user"})
        self.assertIsNone(failed[0]["actor_id"])

        # Pages: next_before continues where the last page ended.
        page = self.audit(f"?user={uid}&limit=3")
        rest = self.audit(f"?user={uid}&before={page['next_before']}")
        self.assertEqual([e["id"] for e in page["events"] + rest["events"]], [e["id"] for e in events])
        self.assertIsNone(rest["next_before"])

        self.assertProblem(self.server.request("GET", "/api/admin/audit"), 401)
        self.assertProblem(self.server.request("GET", "/api/admin/audit", token=self.bob["access_token"]), 403)
        self.assertProblem(self.server.request("GET", "/api/admin/audit?before=x",
                                               token=self.root["access_token"]), 400)
        self.assertProblem(self.server.request("GET", "/api/admin/audit?action=" + "a" * 65,
                                               token=self.root["access_token"]), 400)
        _, _, text = self.server.request("GET", "/metrics")
        self.assertRegex(text, r"(?m)^parley_audit_events_total [1-9]")


@unittest.skipIf(DATABASE == "postgres", "edits the SQLite file directly (the store tests cover the deletes on both)")
class HousekeepingTest(unittest.TestCase):
    def test_old_audit_events_and_long_expired_refresh_tokens_are_deleted_at_start(self):
        server = Server().start()
        data = server.data_dir
        try:
            ann = server.register("hk_ann")
            self.assertEqual(server.login("hk_ann")[0], 200)
            self.assertEqual(server.stop(), 0)
            now = int(time.time() * 1000)
            day = 24 * 3600 * 1000
            db = sqlite3.connect(os.path.join(data, "parley.db"))
            oldest = db.execute("SELECT min(id) FROM audit_events").fetchone()[0]
            db.execute("UPDATE audit_events SET at = ? WHERE id = ?", (now - 400 * day, oldest))
            uid = int(ann["user"]["id"])
            for tid, expired in ((1, now - 8 * day), (2, now - 1 * day)):
                db.execute("INSERT INTO refresh_tokens (id, token_hash, user_id, family_id, created_at, expires_at) "
                           "VALUES (?, ?, ?, 1, 0, ?)", (tid, f"old{tid}", uid, expired))
            db.commit()
            db.close()

            server = Server({"audit.retention_days": "365"}, data_dir=data).start()
            deadline = time.time() + 10
            while time.time() < deadline:
                _, _, text = server.request("GET", "/metrics")
                if re.search(r'(?m)^parley_purged_rows_total\{table="refresh_tokens"\} 1$', text):
                    break
                time.sleep(0.1)
            self.assertRegex(text, r'(?m)^parley_purged_rows_total\{table="audit_events"\} 1$')
            self.assertRegex(text, r'(?m)^parley_purged_rows_total\{table="refresh_tokens"\} 1$')
            token = server.login("hk_ann")[2]["access_token"]
            self.assertEqual(server.request("GET", "/api/admin/audit", token=token)[0], 200)
            self.assertEqual(server.stop(), 0)
            db = sqlite3.connect(os.path.join(data, "parley.db"))
            self.assertIsNone(db.execute("SELECT id FROM audit_events WHERE id = ?", (oldest,)).fetchone())
            # Left: the first login, and the login after the restart; the registration was the old one.
            self.assertEqual([r[0] for r in db.execute("SELECT action FROM audit_events ORDER BY id")],
                             ["login.succeeded", "login.succeeded"])
            self.assertEqual([r[0] for r in db.execute("SELECT id FROM refresh_tokens WHERE id < 3")], [2])
            db.close()
        finally:
            server.kill()
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
