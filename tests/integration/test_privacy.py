"""Personal data: a user exports everything the server holds about them,
deletes their account (erasure), and old message bodies are erased after
messages.retention_days. Conversations stay gapless through all of it: a
message erased keeps its seq as a tombstone."""

import os
import time
import unittest

from harness import Server, ServerTest, WsClosed, ws_connect


def history(server, token, conv):
    status, _, page = server.request("GET", f"/api/conversations/{conv}/messages?after=0&limit=200", token=token)
    assert status == 200, page
    return page["messages"]


class PrivacyTest(ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = cls.server.register("pv_root")  # first account: admin

    def conversation(self, owner, *members):
        status, _, conv = self.server.request(
            "POST", "/api/conversations",
            {"kind": "group", "title": "pv", "members": [m["user"]["id"] for m in members]},
            token=owner["access_token"])
        self.assertEqual(status, 201, conv)
        return conv["id"]

    def send(self, who, conv, n, tag):
        for i in range(n):
            status, _, m = self.server.request("POST", f"/api/conversations/{conv}/messages",
                                               {"client_id": f"{tag}{i}", "body": f"{tag} secret {i}"},
                                               token=who["access_token"])
            self.assertEqual(status, 201, m)

    def test_export_holds_the_account_every_conversation_and_every_message_sent_in_pages(self):
        ann, bob = self.server.register("pv_ann"), self.server.register("pv_bob")
        c1, c2 = self.conversation(ann, bob), self.conversation(bob, ann)
        self.send(ann, c1, 3, "a1-")
        self.send(bob, c1, 2, "b1-")
        self.send(ann, c2, 2, "a2-")
        for conv, seq, r in ((c1, 4, "👍"), (c1, 4, ":tada:"), (c2, 1, "❤️")):
            self.assertEqual(self.server.request("POST", f"/api/conversations/{conv}/messages/{seq}/reactions",
                                                 {"reaction": r}, token=ann["access_token"])[0], 201)
        self.server.request("POST", f"/api/conversations/{c1}/messages/4/reactions", {"reaction": "👀"},
                            token=bob["access_token"])
        status, _, first = self.server.request("GET", "/api/users/me/export?limit=3", token=ann["access_token"])
        self.assertEqual(status, 200, first)
        self.assertEqual(first["user"]["username"], "pv_ann")
        self.assertNotIn("password_hash", str(first))
        self.assertEqual(sorted(c["id"] for c in first["conversations"]), sorted([c1, c2]))
        self.assertEqual(len(first["messages"]), 3)
        # Her own reactions, not bob's.
        self.assertEqual(sorted((r["conversation_id"], r["seq"], r["reaction"]) for r in first["reactions"]),
                         sorted([(c1, 4, "👍"), (c1, 4, ":tada:"), (c2, 1, "❤️")]))
        status, _, rest = self.server.request("GET", f"/api/users/me/export?limit=3&after={first['next_after']}",
                                              token=ann["access_token"])
        self.assertEqual(status, 200, rest)
        self.assertNotIn("conversations", rest)
        self.assertIsNone(rest["next_after"])
        bodies = [m["body"] for m in first["messages"] + rest["messages"]]
        self.assertEqual(bodies, ["a1- secret 0", "a1- secret 1", "a1- secret 2", "a2- secret 0", "a2- secret 1"])
        self.assertEqual(self.server.request("GET", "/api/users/me/export")[0], 401)
        self.assertEqual(self.server.request("GET", "/api/users/me/export?after=x", token=ann["access_token"])[0], 400)

    def test_deleting_an_account_erases_it_and_its_messages_and_keeps_conversations_gapless(self):
        cat, dan = self.server.register("pv_cat"), self.server.register("pv_dan")
        conv = self.conversation(dan, cat)
        self.send(dan, conv, 2, "d-")
        self.send(cat, conv, 3, "c-")
        self.send(dan, conv, 1, "d2-")
        # Cat's reaction on dan's message goes with the account; dan's stays.
        for who, r in ((cat, "👍"), (dan, "👀")):
            self.server.request("POST", f"/api/conversations/{conv}/messages/1/reactions", {"reaction": r},
                                token=who["access_token"])
        ws = ws_connect(self.server, cat["access_token"])
        watcher = ws_connect(self.server, dan["access_token"])
        self.assertTrue(watcher.request("subscribe", conversations=[{"conv": conv}])["ok"])

        self.assertProblem(self.server.request("DELETE", "/api/users/me", {}, token=cat["access_token"]), 400)
        self.assertProblem(self.server.request("DELETE", "/api/users/me", {"password": "not the password"},
                                               token=cat["access_token"]), 403)
        status, _, out = self.server.request("DELETE", "/api/users/me", {"password": "correct horse battery"},
                                             token=cat["access_token"])
        self.assertEqual((status, out), (200, {"deleted": True, "messages_erased": 3}))

        # Access is gone at once, the socket closes, the name is free again.
        self.assertEqual(self.server.request("GET", "/api/auth/me", token=cat["access_token"])[0], 401)
        self.assertEqual(self.server.login("pv_cat")[0], 401)
        self.assertEqual(self.server.request("POST", "/api/auth/refresh", {"refresh_token": cat["refresh_token"]})[0],
                         401)
        t0 = time.time()
        with self.assertRaises(WsClosed):
            while time.time() - t0 < 5:
                ws.recv()
        self.assertLess(time.time() - t0, 5)
        self.assertEqual(self.server.request("GET", f"/api/users/{cat['user']['id']}", token=dan["access_token"])[0],
                         404)
        status, _, page = self.server.request("GET", f"/api/admin/users?after={int(cat['user']['id']) - 1}&limit=1",
                                              token=self.root["access_token"])
        user = page["users"][0]
        self.assertEqual((user["id"], user["username"], user["display_name"], user["disabled"]),
                         (cat["user"]["id"], f"~deleted-{cat['user']['id']}", "Deleted user", True))
        again = self.server.register("pv_cat")
        self.assertNotEqual(again["user"]["id"], cat["user"]["id"])

        # Members online are told: message.deleted for each of cat's messages.
        gone = sorted(watcher.event("message.deleted")["seq"] for _ in range(3))
        self.assertEqual(gone, [3, 4, 5])
        watcher.close()

        # The conversation keeps every seq; cat's are tombstones, dan's untouched.
        msgs = history(self.server, dan["access_token"], conv)
        self.assertEqual([m["seq"] for m in msgs], [1, 2, 3, 4, 5, 6])
        self.assertEqual([m["body"] for m in msgs], ["d- secret 0", "d- secret 1", "", "", "", "d2- secret 0"])
        self.assertEqual([m["deleted"] for m in msgs], [False, False, True, True, True, False])
        self.assertEqual(msgs[0]["reactions"], [{"reaction": "👀", "count": 1, "me": True}])

        status, _, page = self.server.request("GET", f"/api/admin/audit?user={cat['user']['id']}&limit=1",
                                              token=self.root["access_token"])
        self.assertEqual(page["events"][0]["action"], "user.deleted")
        self.assertEqual(page["events"][0]["detail"], {"by": "self"})

    def test_admins_delete_other_accounts_but_not_their_own(self):
        eve, fay = self.server.register("pv_eve"), self.server.register("pv_fay")
        self.assertProblem(self.server.request("DELETE", f"/api/admin/users/{eve['user']['id']}",
                                               token=fay["access_token"]), 403)
        status, _, out = self.server.request("DELETE", f"/api/admin/users/{eve['user']['id']}",
                                             token=self.root["access_token"])
        self.assertEqual((status, out["deleted"]), (200, True))
        self.assertEqual(self.server.login("pv_eve")[0], 401)
        # Again: idempotent.
        self.assertEqual(self.server.request("DELETE", f"/api/admin/users/{eve['user']['id']}",
                                             token=self.root["access_token"])[0], 200)
        self.assertProblem(self.server.request("DELETE", f"/api/admin/users/{self.root['user']['id']}",
                                               token=self.root["access_token"]), 400, "cannot delete their own")
        self.assertProblem(self.server.request("DELETE", "/api/users/me", {"password": "correct horse battery"},
                                               token=self.root["access_token"]), 400)
        self.assertProblem(self.server.request("DELETE", "/api/admin/users/123456789",
                                               token=self.root["access_token"]), 404)


class MessageRetentionTest(unittest.TestCase):
    """messages.retention_days: the server restarted two days later (libfaketime)
    erases the bodies of messages older than one day, keeps their seqs, and
    leaves newer ones alone."""

    LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"

    def test_old_message_bodies_are_erased_and_seqs_stay(self):
        if not os.path.exists(self.LIB):
            self.skipTest("libfaketime is not installed (scripts/install-deps.sh installs faketime)")
        if "ASAN_OPTIONS" in os.environ:
            self.skipTest("libfaketime's preload cannot come before the ASan runtime")
        server = Server({"messages.retention_days": "1"}).start()
        data = server.data_dir
        later = None
        try:
            ann = server.register("rt_ann")
            _, _, conv = server.request("POST", "/api/conversations", {"kind": "group", "title": "rt"},
                                        token=ann["access_token"])
            for i in range(3):
                server.request("POST", f"/api/conversations/{conv['id']}/messages",
                               {"client_id": f"old{i}", "body": f"old {i}"}, token=ann["access_token"])
            self.assertEqual(server.stop(), 0)
            later = Server({"messages.retention_days": "1"}, data_dir=data,
                           env={"LD_PRELOAD": self.LIB, "FAKETIME": "+2d"}).start()
            token = later.login("rt_ann")[2]["access_token"]
            status, _, m = later.request("POST", f"/api/conversations/{conv['id']}/messages",
                                         {"client_id": "new", "body": "new"}, token=token)
            self.assertEqual((status, m["seq"]), (201, 4))
            deadline = time.time() + 10
            while time.time() < deadline:
                msgs = history(later, token, conv["id"])
                if msgs[0]["deleted"]:
                    break
                time.sleep(0.1)
            self.assertEqual([(m["seq"], m["body"], m["deleted"]) for m in msgs],
                             [(1, "", True), (2, "", True), (3, "", True), (4, "new", False)])
            _, _, text = later.request("GET", "/metrics")
            self.assertIn("parley_messages_erased_by_retention_total 3", text)
        finally:
            server.kill()
            if later:
                later.kill()
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
